package io.sluice.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.api.Duration;
import io.sluice.api.Functions.ReduceFunction;
import io.sluice.api.MapWithStateDStream;
import io.sluice.api.Pair;
import io.sluice.api.PairDStream;
import io.sluice.api.Reducers;
import io.sluice.api.Settings;
import io.sluice.api.SluiceException;
import io.sluice.api.StateSpec;
import io.sluice.api.StreamingApp;
import io.sluice.graph.GraphBuilder;
import io.sluice.source.WordGenerator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * mapWithState against a plain computation: a running count per word, called once per record,
 * where words come and go (each word's bucket is present three batches in nine) so that idle keys
 * time out after 2 s of batch time.
 */
class MapWithStateTest {
  private static final long LINES = 40;
  private static final long VOCABULARY = 30;
  private static final long TIMEOUT_BATCHES = 2;

  @TempDir Path tmp;
  private final Map<Long, List<String>> mappedByBatch = new ConcurrentHashMap<>();
  private final Map<Long, Map<String, Long>> stateByBatch = new ConcurrentHashMap<>();
  private final AtomicInteger timingOutCalls = new AtomicInteger();

  /** Whether word {@code w} is in batch {@code b}: its bucket's turn comes three batches in nine. */
  private static boolean present(String w, long b) {
    return Long.parseLong(w.substring(1)) % 3 == (b / 3) % 3;
  }

  private StreamingApp app(int partitions) {
    return app(partitions, 0, 0);
  }

  /**
   * The running count; with {@code removeEvery} above 0 the function removes a key's state where it
   * would update it to a multiple of that, and with {@code failingTimeout} above 0 the call for
   * that many-th key timing out throws, once, so that its batch is run again.
   */
  private StreamingApp app(int partitions, long removeEvery, int failingTimeout) {
    return ctx -> {
      MapWithStateDStream<String, Long, Long, String> mapped = ctx.generatedLines(LINES, VOCABULARY, 2)
          .transform((batch, lines) -> presentWords(batch.index(), lines))
          .mapToPair(w -> Pair.of(w, 1L))
          .mapWithState(runningCount(removeEvery, failingTimeout).partitions(partitions))
          .uid("running");
      mapped.checkpoint(Duration.ofSeconds(3));
      record(mapped);
    };
  }

  /** The words of batch {@code b}'s {@code lines} that are {@link #present} in it, in order. */
  private static List<String> presentWords(long b, Iterable<String> lines) {
    List<String> words = new ArrayList<>();
    for (String l : lines) {
      Arrays.stream(l.split(" ")).filter(w -> present(w, b)).forEach(words::add);
    }
    return words;
  }

  /** Batch {@code b}'s lines, as the generator gives them. */
  private static List<String> lines(long b) {
    List<String> lines = new ArrayList<>();
    for (long j = 0; j < LINES; j++) {
      lines.add(WordGenerator.line(b, j, VOCABULARY));
    }
    return lines;
  }

  /** The running count that {@link #app(int, long, int)} describes, adding each call's value. */
  private StateSpec<String, Long, Long, String> runningCount(long removeEvery, int failingTimeout) {
    return StateSpec.<String, Long, Long, String>function((word, value, state) -> {
      if (state.isTimingOut()) {
        if (timingOutCalls.incrementAndGet() == failingTimeout) {
          throw new IllegalStateException("a failure in the call for " + word + " timing out");
        }
        return "timeout " + word + "=" + state.get();
      }
      long next = (state.exists() ? state.get() : 0) + value.orElseThrow();
      if (removeEvery > 0 && next % removeEvery == 0) {
        state.remove();
        return "removed " + word;
      }
      state.update(next);
      return word + "=" + next;
    }).timeout(Duration.ofSeconds(TIMEOUT_BATCHES));
  }

  /** What the operator must emit in batch {@code last}, and the state after it, computed plainly. */
  private static Pair<List<String>, Map<String, Long>> reference(long last) {
    return reference(last, 0, false);
  }

  /**
   * As {@link #reference(long)}, for {@link #runningCount} with {@code removeEvery}; {@code
   * combined}: called once per word and batch with the word's count, else once per word.
   */
  private static Pair<List<String>, Map<String, Long>> reference(long last, long removeEvery, boolean combined) {
    Map<String, Long> state = new TreeMap<>();
    Map<String, Long> lastSeen = new HashMap<>();
    List<String> mapped = new ArrayList<>();
    for (long b = 0; b <= last; b++) {
      mapped = new ArrayList<>();
      List<Pair<String, Long>> calls = new ArrayList<>();
      List<String> words = presentWords(b, lines(b));
      if (combined) {
        Map<String, Long> counts = new TreeMap<>();
        words.forEach(w -> counts.merge(w, 1L, Long::sum));
        counts.forEach((w, c) -> calls.add(Pair.of(w, c)));
      } else {
        words.forEach(w -> calls.add(Pair.of(w, 1L)));
      }
      for (Pair<String, Long> call : calls) {
        String w = call.key();
        long next = state.getOrDefault(w, 0L) + call.value();
        lastSeen.put(w, b);
        if (removeEvery > 0 && next % removeEvery == 0) {
          state.remove(w);
          mapped.add("removed " + w);
        } else {
          state.put(w, next);
          mapped.add(w + "=" + next);
        }
      }
      for (String w : new ArrayList<>(state.keySet())) {
        if (b - lastSeen.get(w) >= TIMEOUT_BATCHES) {
          mapped.add("timeout " + w + "=" + state.remove(w));
        }
      }
      mapped.sort(null);
    }
    return Pair.of(mapped, state);
  }

  /** Records each batch's mapped records, sorted, and the state after it. */
  private void record(MapWithStateDStream<String, Long, Long, String> mapped) {
    mapped.foreachBatch((batch, records) -> {
      List<String> sorted = new ArrayList<>(records);
      sorted.sort(null);
      mappedByBatch.put(batch.index(), sorted);
    });
    recordState(mapped.stateSnapshots());
  }

  private void recordState(PairDStream<String, Long> state) {
    state.foreachBatch((batch, records) -> {
      Map<String, Long> m = new TreeMap<>();
      records.forEach(p -> m.put(p.key(), p.value()));
      stateByBatch.put(batch.index(), m);
    });
  }

  private Map<String, String> settings() {
    return Map.of("sluice.checkpoint.dir", tmp.resolve("cp").toString());
  }

  @Test
  void mappedRecordsTimeoutsAndStateAgreeWithAPlainComputation() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(2), settings())) {
      job.runBatches(12);
    }
    for (long b = 0; b < 12; b++) {
      assertThat(mappedByBatch.get(b)).as("mapped records of batch " + b).isEqualTo(reference(b).key());
      assertThat(stateByBatch.get(b)).as("state after batch " + b).isEqualTo(reference(b).value());
    }
    assertThat(mappedByBatch.values().stream().flatMap(List::stream)).anyMatch(r -> r.startsWith("timeout "));
  }

  @Test
  void stateAndIdleTimesSurviveARestartFromSnapshotsAndReplay() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(3), settings())) {
      job.runBatches(5);
    }
    try (LocalRunner job = LocalRunner.start(app(3), settings())) {
      job.runBatches(5);
    }
    for (long b = 0; b < 10; b++) {
      assertThat(mappedByBatch.get(b)).as("mapped records of batch " + b).isEqualTo(reference(b).key());
      assertThat(stateByBatch.get(b)).as("state after batch " + b).isEqualTo(reference(b).value());
    }
  }

  /**
   * Idle keys are found by when they may time out, not by a scan: keys the function removes and
   * that come back are listed twice, and a batch that fails in a timeout's call is run again on a
   * state that was rolled back or restored, whose list is built anew. Every batch's records and
   * state still agree with a plain computation.
   */
  @Test
  void idleKeysTimeOutExactlyWhenTheFunctionRemovesKeysAndABatchFailsWhileTimingThemOut() throws Exception {
    long removeEvery = 7;
    try (LocalRunner job = LocalRunner.start(app(2, removeEvery, 25), settings())) {
      job.runBatches(15);
    }
    for (long b = 0; b < 15; b++) {
      assertThat(mappedByBatch.get(b)).as("mapped records of batch " + b).isEqualTo(reference(b, removeEvery, false).key());
      assertThat(stateByBatch.get(b)).as("state after batch " + b).isEqualTo(reference(b, removeEvery, false).value());
    }
    List<String> all = mappedByBatch.values().stream().flatMap(List::stream).toList();
    assertThat(all).anyMatch(r -> r.startsWith("removed "));
    long timedOut = all.stream().filter(r -> r.startsWith("timeout ")).count();
    assertThat(timedOut).isGreaterThan(5);
    assertThat(timingOutCalls.get()).as("calls for keys timing out, the failed run's among them").isGreaterThan((int) timedOut);
  }

  /**
   * The same with the batch's counts per word read by another operator too, so that mapWithState
   * runs on the grouped values of its parent's reduce task rather than on its records: one call per
   * key and batch, with the key's count.
   */
  @Test
  void idleKeysTimeOutExactlyWhenTheParentShuffleHasAnotherReader() throws Exception {
    long removeEvery = 5;
    Map<Long, Long> totalsByBatch = new ConcurrentHashMap<>();
    StreamingApp app = ctx -> {
      PairDStream<String, Long> counts = ctx.generatedLines(LINES, VOCABULARY, 2)
          .transform((batch, lines) -> presentWords(batch.index(), lines))
          .mapToPair(w -> Pair.of(w, 1L))
          .reduceByKey(Reducers.longSum());
      counts.foreachBatch((batch, records) ->
          totalsByBatch.put(batch.index(), records.stream().mapToLong(Pair::value).sum()));
      MapWithStateDStream<String, Long, Long, String> mapped = counts.mapWithState(runningCount(removeEvery, 0))
          .uid("running");
      mapped.checkpoint(Duration.ofSeconds(3));
      record(mapped);
    };
    try (LocalRunner job = LocalRunner.start(app, settings())) {
      job.runBatches(15);
    }
    for (long b = 0; b < 15; b++) {
      assertThat(totalsByBatch.get(b)).as("the other reader, batch " + b)
          .isEqualTo((long) presentWords(b, lines(b)).size());
      assertThat(mappedByBatch.get(b)).as("mapped records of batch " + b)
          .isEqualTo(reference(b, removeEvery, true).key());
      assertThat(stateByBatch.get(b)).as("state after batch " + b).isEqualTo(reference(b, removeEvery, true).value());
    }
    assertThat(mappedByBatch.values().stream().flatMap(List::stream)).anyMatch(r -> r.startsWith("timeout "))
        .anyMatch(r -> r.startsWith("removed "));
  }

  /**
   * Batches of 300,000 words over 200,000 keys, most of them new to the state, reach mapWithState
   * three ways: counted per batch with {@code Reducers.longSum()} (records come by region of the
   * state's table), with a reducer the engine does not know (records in no order), and one record
   * per word through mapWithState's own shuffle. Keys are added to the table as they come and after
   * it grew for them; a key whose count passes the limit is removed, and starts again from nothing.
   */
  @Test
  void batchesOfManyNewKeysAgreeWithAPlainComputationHoweverTheirRecordsCome() throws Exception {
    long lines = 30_000;
    long vocabulary = 200_000;
    long limit = 2;
    List<ReduceFunction<Long>> reducers = Arrays.asList(Reducers.longSum(), (a, b) -> a + b, null);
    for (ReduceFunction<Long> reducer : reducers) {
      mappedByBatch.clear();
      stateByBatch.clear();
      StreamingApp app = ctx -> {
        PairDStream<String, Long> words = ctx.generatedLines(lines, vocabulary, 2)
            .flatMap(line -> Arrays.asList(line.split(" ")))
            .mapToPair(w -> Pair.of(w, 1L));
        MapWithStateDStream<String, Long, Long, String> mapped = (reducer == null ? words : words.reduceByKey(reducer))
            .mapWithState(StateSpec.<String, Long, Long, String>function((word, count, state) -> {
              long next = (state.exists() ? state.get() : 0) + count.orElseThrow();
              if (next > limit) {
                state.remove();
              } else {
                state.update(next);
              }
              return word + "=" + next;
            }))
            .uid("counts");
        record(mapped);
      };
      Path dir = Files.createTempDirectory(tmp, "cp");
      try (LocalRunner job = LocalRunner.start(app, Map.of("sluice.checkpoint.dir", dir.toString()))) {
        job.runBatches(3);
      }
      Map<String, Long> state = new TreeMap<>();
      for (long b = 0; b < 3; b++) {
        List<String> expectedMapped = new ArrayList<>();
        Map<String, Long> counts = new TreeMap<>();
        for (long j = 0; j < lines; j++) {
          for (String w : WordGenerator.line(b, j, vocabulary).split(" ")) {
            counts.merge(w, 1L, Long::sum);
          }
        }
        // Combined per batch, a word's count comes in one call; through the own shuffle, one call per word.
        counts.forEach((w, c) -> {
          for (long call = 0; call < (reducer == null ? c : 1); call++) {
            long next = state.getOrDefault(w, 0L) + (reducer == null ? 1 : c);
            if (next > limit) {
              state.remove(w);
            } else {
              state.put(w, next);
            }
            expectedMapped.add(w + "=" + next);
          }
        });
        expectedMapped.sort(null);
        String how = (reducer == null ? "own shuffle" : reducer == Reducers.<Long>longSum() ? "longSum" : "lambda")
            + ", batch " + b;
        assertThat(mappedByBatch.get(b)).as("mapped records, " + how).isEqualTo(expectedMapped);
        assertThat(stateByBatch.get(b)).as("state, " + how).isEqualTo(state);
      }
    }
  }

  /**
   * Counts without an idle timeout (long states, written to snapshots as longs), then resumed from
   * its checkpoint with one (states paired with their last update), then without again: each
   * restart restores the other form's snapshots and replays onto them, and the counts go on exactly.
   * The timeout is longer than the test, so that no key times out.
   */
  @Test
  void countsGoOnExactlyWhenARestartAddsOrDropsTheIdleTimeout() throws Exception {
    java.util.function.Function<Boolean, StreamingApp> app = timed -> ctx -> {
      StateSpec<String, Long, Long, Long> spec = StateSpec.function((word, count, total) -> {
        long next = (total.exists() ? total.get() : 0) + count.orElseThrow();
        total.update(next);
        return next;
      });
      MapWithStateDStream<String, Long, Long, Long> counts = ctx.generatedLines(LINES, VOCABULARY, 2)
          .flatMap(line -> Arrays.asList(line.split(" ")))
          .mapToPair(w -> Pair.of(w, 1L))
          .reduceByKey(Reducers.longSum())
          .mapWithState(timed ? spec.timeout(Duration.ofSeconds(100)) : spec)
          .uid("counts");
      counts.checkpoint(Duration.ofSeconds(3));
      recordState(counts.stateSnapshots());
    };
    for (boolean timed : List.of(false, true, false)) {
      try (LocalRunner job = LocalRunner.start(app.apply(timed), settings())) {
        job.runBatches(4);
      }
    }
    Map<String, Long> expected = new TreeMap<>();
    for (long b = 0; b < 12; b++) {
      for (long j = 0; j < LINES; j++) {
        for (String w : WordGenerator.line(b, j, VOCABULARY).split(" ")) {
          expected.merge(w, 1L, Long::sum);
        }
      }
      assertThat(stateByBatch.get(b)).as("counts after batch " + b).isEqualTo(expected);
    }
  }

  @Test
  void aTimeoutThatIsNoMultipleOfTheBatchIntervalIsRefusedAtStart() {
    StreamingApp bad = ctx -> {
      ctx.checkpoint(tmp.toString());
      ctx.generatedLines(1, 1, 1).mapToPair(w -> Pair.of(w, 1L))
          .mapWithState(StateSpec.<String, Long, Long, Long>function((k, v, s) -> null)
              .timeout(Duration.ofMillis(1500)))
          .foreachBatch((b, r) -> {});
    };
    assertThatThrownBy(() -> GraphBuilder.build(bad, new Settings(Map.of())))
        .isInstanceOf(SluiceException.class).hasMessageContaining("idle timeout 1500ms")
        .hasMessageContaining("not a positive multiple of the batch interval");
  }
}
