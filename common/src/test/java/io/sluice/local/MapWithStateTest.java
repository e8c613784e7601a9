package io.sluice.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.api.Duration;
import io.sluice.api.MapWithStateDStream;
import io.sluice.api.Pair;
import io.sluice.api.Settings;
import io.sluice.api.SluiceException;
import io.sluice.api.StateSpec;
import io.sluice.api.StreamingApp;
import io.sluice.graph.GraphBuilder;
import io.sluice.source.WordGenerator;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * mapWithState against a plain computation: a running count per word, called once per record,
 * where words come and go (each word's bucket is present two batches in six) so that idle keys
 * time out after 2 s of batch time.
 */
class MapWithStateTest {
  private static final long LINES = 40;
  private static final long VOCABULARY = 30;
  private static final long TIMEOUT_BATCHES = 2;

  @TempDir Path tmp;
  private final Map<Long, List<String>> mappedByBatch = new ConcurrentHashMap<>();
  private final Map<Long, Map<String, Long>> stateByBatch = new ConcurrentHashMap<>();

  /** Whether word {@code w} is in batch {@code b}: its bucket's turn comes two batches in six. */
  private static boolean present(String w, long b) {
    return Long.parseLong(w.substring(1)) % 3 == (b / 2) % 3;
  }

  private StreamingApp app(int partitions) {
    return ctx -> {
      MapWithStateDStream<String, Long, Long, String> mapped = ctx.generatedLines(LINES, VOCABULARY, 2)
          .transform((batch, lines) -> {
            List<String> words = new ArrayList<>();
            for (String l : lines) {
              Arrays.stream(l.split(" ")).filter(w -> present(w, batch.index())).forEach(words::add);
            }
            return words;
          })
          .mapToPair(w -> Pair.of(w, 1L))
          .mapWithState(StateSpec.<String, Long, Long, String>function((word, one, state) -> {
            if (state.isTimingOut()) {
              return "timeout " + word + "=" + state.get();
            }
            long next = (state.exists() ? state.get() : 0) + one.orElseThrow();
            state.update(next);
            return word + "=" + next;
          }).timeout(Duration.ofSeconds(TIMEOUT_BATCHES)).partitions(partitions))
          .uid("running");
      mapped.checkpoint(Duration.ofSeconds(3));
      mapped.foreachBatch((batch, records) -> {
        List<String> sorted = new ArrayList<>(records);
        sorted.sort(null);
        mappedByBatch.put(batch.index(), sorted);
      });
      mapped.stateSnapshots().foreachBatch((batch, records) -> {
        Map<String, Long> m = new TreeMap<>();
        records.forEach(p -> m.put(p.key(), p.value()));
        stateByBatch.put(batch.index(), m);
      });
    };
  }

  /** What the operator must emit in batch {@code last}, and the state after it, computed plainly. */
  private static Pair<List<String>, Map<String, Long>> reference(long last) {
    Map<String, Long> state = new TreeMap<>();
    Map<String, Long> lastSeen = new HashMap<>();
    List<String> mapped = new ArrayList<>();
    for (long b = 0; b <= last; b++) {
      mapped = new ArrayList<>();
      for (long j = 0; j < LINES; j++) {
        for (String w : WordGenerator.line(b, j, VOCABULARY).split(" ")) {
          if (present(w, b)) {
            long next = state.getOrDefault(w, 0L) + 1;
            state.put(w, next);
            lastSeen.put(w, b);
            mapped.add(w + "=" + next);
          }
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
