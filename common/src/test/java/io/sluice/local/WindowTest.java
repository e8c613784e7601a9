package io.sluice.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.api.DStream;
import io.sluice.api.Duration;
import io.sluice.api.Pair;
import io.sluice.api.PairDStream;
import io.sluice.api.Reducers;
import io.sluice.api.SluiceException;
import io.sluice.api.StreamingApp;
import io.sluice.source.WordGenerator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The windowed operators against a plain computation over the same words: a 4 s window sliding
 * every 2 s over 1 s batches, where each word is present two batches in six, so that keys leave
 * windows entirely and come back.
 */
class WindowTest {
  private static final long LINES = 20;
  private static final long VOCABULARY = 30;
  private static final int LENGTH_BATCHES = 4;
  private static final int SLIDE_BATCHES = 2;
  private static final Duration LENGTH = Duration.ofSeconds(LENGTH_BATCHES);
  private static final Duration SLIDE = Duration.ofSeconds(SLIDE_BATCHES);

  @TempDir Path tmp;
  /** Output name to batch index to what the output received, in a comparable form. */
  private final Map<String, Map<Long, Object>> seen = new ConcurrentHashMap<>();

  private static boolean present(String w, long b) {
    return Long.parseLong(w.substring(1)) % 3 == (b / 2) % 3;
  }

  private static List<String> words(long b) {
    List<String> words = new ArrayList<>();
    for (long j = 0; j < LINES; j++) {
      Arrays.stream(WordGenerator.line(b, j, VOCABULARY).split(" ")).filter(w -> present(w, b)).forEach(words::add);
    }
    return words;
  }

  private StreamingApp app() {
    return ctx -> {
      DStream<String> words = ctx.generatedLines(LINES, VOCABULARY, 2).transform((batch, lines) -> {
        List<String> out = new ArrayList<>();
        for (String l : lines) {
          Arrays.stream(l.split(" ")).filter(w -> present(w, batch.index())).forEach(out::add);
        }
        return out;
      });
      PairDStream<String, Long> ones = words.mapToPair(w -> Pair.of(w, 1L));
      record("window", words.window(LENGTH, SLIDE).uid("window"), WindowTest::sorted);
      record("reduceByWindow", words.map(w -> (long) w.length()).reduceByWindow(Long::sum, LENGTH, SLIDE)
          .uid("lengths"), r -> r);
      record("reduceByWindowInverse", words.map(w -> (long) w.length())
          .reduceByWindow(Long::sum, (a, b) -> a - b, LENGTH, SLIDE).uid("lengths-inv"), r -> r);
      record("reduceByKeyAndWindow", ones.reduceByKeyAndWindow(Long::sum, LENGTH, SLIDE, 3).uid("counts"),
          WindowTest::asMap);
      record("reduceByKeyAndWindowInverse", ones.reduceByKeyAndWindow(Long::sum, (a, b) -> a - b, LENGTH, SLIDE)
          .checkpoint(Duration.ofSeconds(4)).uid("counts-inv"), WindowTest::asMap);
      record("countByValueAndWindow", words.countByValueAndWindow(LENGTH, SLIDE).uid("by-value"), WindowTest::asMap);
      words.window(LENGTH, SLIDE).saveAsTextFiles(tmp.resolve("out/window").toString());
    };
  }

  private <T> void record(String name, DStream<T> stream, java.util.function.Function<List<T>, Object> form) {
    stream.foreachBatch((batch, records) ->
        seen.computeIfAbsent(name, k -> new ConcurrentHashMap<>()).put(batch.index(), form.apply(records)));
  }

  private static Object sorted(List<String> records) {
    List<String> s = new ArrayList<>(records);
    s.sort(null);
    return s;
  }

  private static Object asMap(List<Pair<String, Long>> records) {
    Map<String, Long> m = new TreeMap<>();
    records.forEach(p -> assertThat(m.put(p.key(), p.value())).as("key " + p.key() + " once").isNull());
    return m;
  }

  /** The words of the window that ends with batch {@code b}. */
  private static List<String> windowWords(long b) {
    List<String> all = new ArrayList<>();
    for (long i = Math.max(0, b - LENGTH_BATCHES + 1); i <= b; i++) {
      all.addAll(words(i));
    }
    return all;
  }

  private static boolean isSlide(long b) {
    return (b + 1) % SLIDE_BATCHES == 0;
  }

  private void assertAgreesWithReference(long batches) {
    for (long b = 0; b < batches; b++) {
      if (!isSlide(b)) {
        for (String output : seen.keySet()) {
          assertThat(seen.get(output)).as(output + " between slides, batch " + b).doesNotContainKey(b);
        }
        continue;
      }
      List<String> window = windowWords(b);
      Map<String, Long> counts = new TreeMap<>();
      window.forEach(w -> counts.merge(w, 1L, Long::sum));
      long lengths = window.stream().mapToLong(String::length).sum();
      assertThat(window).as("the test's input has words in every window").isNotEmpty();
      assertThat(seen.get("window").get(b)).as("window, batch " + b).isEqualTo(sorted(window));
      assertThat(seen.get("reduceByWindow").get(b)).as("reduceByWindow, batch " + b).isEqualTo(List.of(lengths));
      assertThat(seen.get("reduceByWindowInverse").get(b)).as("reduceByWindow with inverse, batch " + b)
          .isEqualTo(List.of(lengths));
      for (String output : List.of("reduceByKeyAndWindow", "reduceByKeyAndWindowInverse", "countByValueAndWindow")) {
        assertThat(seen.get(output).get(b)).as(output + ", batch " + b).isEqualTo(counts);
      }
    }
  }

  private Map<String, String> settings() {
    return Map.of("sluice.checkpoint.dir", tmp.resolve("cp").toString());
  }

  @Test
  void everyWindowedOperatorAgreesWithAPlainComputationAndRunsOnlyEverySlide() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(), settings())) {
      job.runBatches(13);
    }
    assertAgreesWithReference(13);
    // Words leave windows entirely: the keyed windows must have dropped them, not kept zeros.
    assertThat(windowWords(5)).anyMatch(w -> !windowWords(7).contains(w));
    try (Stream<Path> dirs = Files.list(tmp.resolve("out"))) {
      assertThat(dirs.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith("_")).count())
          .as("one committed output directory per slide").isEqualTo(6);
    }
  }

  @Test
  void windowsAreExactAfterARestartFromSnapshotsAndReplay() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(), settings())) {
      job.runBatches(7);
    }
    try (LocalRunner job = LocalRunner.start(app(), settings())) {
      job.runBatches(8);
    }
    assertAgreesWithReference(15);
    assertThat(seen.get("window")).hasSize(7);
  }

  /**
   * Windows of two batches sliding every batch over 300,000 words from 200,000 keys: most keys are
   * new to the partition in each batch, and most leave the window the batch after; summed with
   * {@code Reducers.longSum()} (records come by region of the state's table) and with an inverse.
   */
  @Test
  void windowsOfManyNewKeysAgreeWithAPlainComputation() throws Exception {
    long lines = 30_000;
    long vocabulary = 200_000;
    Duration length = Duration.ofSeconds(2);
    Duration slide = Duration.ofSeconds(1);
    StreamingApp app = ctx -> {
      PairDStream<String, Long> ones = ctx.generatedLines(lines, vocabulary, 2)
          .flatMap(line -> Arrays.asList(line.split(" ")))
          .mapToPair(w -> Pair.of(w, 1L));
      record("sum", ones.reduceByKeyAndWindow(Reducers.longSum(), length, slide).uid("sum"), WindowTest::asMap);
      record("inverse", ones.reduceByKeyAndWindow(Long::sum, (a, b) -> a - b, length, slide).uid("inverse"),
          WindowTest::asMap);
    };
    try (LocalRunner job = LocalRunner.start(app, settings())) {
      job.runBatches(4);
    }
    for (long b = 0; b < 4; b++) {
      Map<String, Long> counts = new TreeMap<>();
      for (long i = Math.max(0, b - 1); i <= b; i++) {
        for (long j = 0; j < lines; j++) {
          for (String w : WordGenerator.line(i, j, vocabulary).split(" ")) {
            counts.merge(w, 1L, Long::sum);
          }
        }
      }
      assertThat(seen.get("sum").get(b)).as("sum, batch " + b).isEqualTo(counts);
      assertThat(seen.get("inverse").get(b)).as("with inverse, batch " + b).isEqualTo(counts);
    }
  }

  @Test
  void windowAndSlideThatAreNoMultiplesOfTheInputsSlideAreRefusedAtStart() {
    StreamingApp badLength = ctx -> ctx.generatedLines(1, 1, 1).window(Duration.ofMillis(1500), Duration.ofSeconds(1))
        .uid("w").foreachBatch((b, r) -> { });
    assertThatThrownBy(() -> LocalRunner.start(badLength, settings())).isInstanceOf(SluiceException.class)
        .hasMessage("the window length 1500ms of w is not a positive multiple of the batch interval 1s");
    StreamingApp badSlide = ctx -> ctx.generatedLines(1, 1, 1).window(Duration.ofSeconds(4), Duration.ofSeconds(2))
        .window(Duration.ofSeconds(6), Duration.ofSeconds(3)).uid("outer").foreachBatch((b, r) -> { });
    assertThatThrownBy(() -> LocalRunner.start(badSlide, settings())).isInstanceOf(SluiceException.class)
        .hasMessage("the slide 3s of outer is not a positive multiple of the slide 2s of its input");
    StreamingApp badCheckpoint = ctx -> ctx.generatedLines(1, 1, 1).countByValueAndWindow(LENGTH, SLIDE).uid("c")
        .checkpoint(Duration.ofSeconds(3)).foreachBatch((b, r) -> { });
    assertThatThrownBy(() -> LocalRunner.start(badCheckpoint, settings())).isInstanceOf(SluiceException.class)
        .hasMessage("checkpoint interval 3s of c is not a multiple of its slide interval 2s");
    StreamingApp mixedUnion = ctx -> {
      DStream<String> lines = ctx.generatedLines(1, 1, 1);
      lines.window(LENGTH, SLIDE).union(lines).uid("u").foreachBatch((b, r) -> { });
    };
    assertThatThrownBy(() -> LocalRunner.start(mixedUnion, settings())).isInstanceOf(SluiceException.class)
        .hasMessageStartingWith("u joins streams with different slide intervals");
  }

  @Test
  void aWindowWithoutACheckpointDirectoryIsRefusedAtStart() {
    StreamingApp app = ctx -> ctx.generatedLines(1, 1, 1).window(LENGTH, SLIDE).uid("w").foreachBatch((b, r) -> { });
    assertThatThrownBy(() -> LocalRunner.start(app, Map.of())).isInstanceOf(SluiceException.class)
        .hasMessageContaining("operator w keeps state, which needs a checkpoint directory");
  }
}
