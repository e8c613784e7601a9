package io.sluice.local;

import static io.sluice.local.JobFiles.committedLines;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.api.BatchInfo;
import io.sluice.api.DStream;
import io.sluice.api.Pair;
import io.sluice.api.Reducers;
import io.sluice.api.SluiceException;
import io.sluice.api.StreamingApp;
import io.sluice.source.WordGenerator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalRunnerTest {
  @TempDir Path tmp;

  /** Per-batch word counts of the files dropped into input.dir, saved under output.dir. */
  public static final class FileWordCount implements StreamingApp {
    @Override
    public void build(io.sluice.api.StreamingContext ctx) {
      ctx.textFileStream(ctx.config().require("input.dir"))
          .flatMap(line -> Arrays.asList(line.split(" ")))
          .filter(w -> !w.isEmpty())
          .mapToPair(w -> Pair.of(w, 1L))
          .reduceByKey(Long::sum)
          .saveAsTextFiles(ctx.config().require("output.dir") + "/counts");
    }
  }

  private Map<String, String> settings() {
    return Map.of("input.dir", tmp.resolve("in").toString(), "output.dir", tmp.resolve("out").toString(),
        "sluice.checkpoint.dir", tmp.resolve("cp").toString());
  }

  @Test
  void countsWordsOfNewFilesPerBatchAndCommitsEachBatchOnce() throws Exception {
    Files.createDirectories(tmp.resolve("in"));
    Files.writeString(tmp.resolve("in/a.txt"), "to be or not to be\n");
    Files.writeString(tmp.resolve("in/_hidden"), "ignored\n");
    try (LocalRunner job = LocalRunner.start(new FileWordCount(), settings())) {
      job.runBatches(1);
      Files.writeString(tmp.resolve("in/b.txt"), "be quick\nquick\n");
      job.runBatches(2);
      long t1 = job.startTimeMs() + 1000;
      assertThat(committedLines(tmp.resolve("out/counts-" + t1))).containsExactly("(be,2)", "(not,1)", "(or,1)", "(to,2)");
      assertThat(committedLines(tmp.resolve("out/counts-" + (t1 + 1000)))).containsExactly("(be,1)", "(quick,2)");
      assertThat(committedLines(tmp.resolve("out/counts-" + (t1 + 2000)))).isEmpty();
      try (Stream<Path> out = Files.list(tmp.resolve("out"))) {
        assertThat(out.map(p -> p.getFileName().toString())).hasSize(3).allMatch(n -> n.startsWith("counts-"));
      }
    }
  }

  @Test
  void shufflesBlocksOfManyChunksAndRecordsLargerThanAChunk() throws Exception {
    // 200k distinct words twice each: several MiB per block, so many chunks; and a word of 2 MiB,
    // more than the largest chunk, which gets an array of its own.
    String huge = "h".repeat(2 << 20);
    StringBuilder text = new StringBuilder();
    for (int round = 0; round < 2; round++) {
      for (int i = 0; i < 200_000; i++) {
        text.append('w').append(i).append(i % 10 == 9 ? '\n' : ' ');
      }
      text.append(huge).append('\n');
    }
    Files.createDirectories(tmp.resolve("in"));
    Files.writeString(tmp.resolve("in/a.txt"), text);
    try (LocalRunner job = LocalRunner.start(new FileWordCount(), settings())) {
      job.runBatches(1);
      List<String> counts = committedLines(tmp.resolve("out/counts-" + (job.startTimeMs() + 1000)));
      assertThat(counts).hasSize(200_001).allMatch(line -> line.endsWith(",2)")).contains("(" + huge + ",2)");
    }
  }

  @Test
  void resumesFromItsCheckpointWithAHigherEpochAndWithoutRepeatingBatches() throws Exception {
    Files.createDirectories(tmp.resolve("in"));
    Files.writeString(tmp.resolve("in/a.txt"), "a b\n");
    long start;
    try (LocalRunner job = LocalRunner.start(new FileWordCount(), settings())) {
      job.runBatches(2);
      start = job.startTimeMs();
      assertThat(job.epoch()).isEqualTo(1);
    }
    Files.writeString(tmp.resolve("in/c.txt"), "c\n");
    try (LocalRunner job = LocalRunner.start(new FileWordCount(), settings())) {
      assertThat(job.epoch()).isEqualTo(2);
      assertThat(job.startTimeMs()).isEqualTo(start);
      job.runBatches(1);
      assertThat(job.batchesCompleted()).isEqualTo(3);
    }
    assertThat(committedLines(tmp.resolve("out/counts-" + (start + 1000)))).containsExactly("(a,1)", "(b,1)");
    assertThat(committedLines(tmp.resolve("out/counts-" + (start + 3000)))).containsExactly("(c,1)");
  }

  @Test
  void resumesPastADamagedNewestMetadataFileWithoutOverwritingIt() throws Exception {
    Files.createDirectories(tmp.resolve("in"));
    Files.writeString(tmp.resolve("in/a.txt"), "a\n");
    long start;
    try (LocalRunner job = LocalRunner.start(new FileWordCount(), settings())) {
      job.runBatches(2);
      start = job.startTimeMs();
    }
    Path newest;
    try (Stream<Path> files = Files.list(tmp.resolve("cp"))) {
      newest = files.filter(p -> p.getFileName().toString().startsWith("metadata-")).max(Path::compareTo).orElseThrow();
    }
    Files.write(newest, Arrays.copyOf(Files.readAllBytes(newest), 10));
    Files.deleteIfExists(newest.resolveSibling("." + newest.getFileName() + ".crc"));
    try (LocalRunner job = LocalRunner.start(new FileWordCount(), settings())) {
      job.runBatches(1);
      assertThat(job.batchesCompleted()).isBetween(2L, 3L);
    }
    assertThat(Files.size(newest)).isEqualTo(10);
    assertThat(committedLines(tmp.resolve("out/counts-" + (start + 1000)))).containsExactly("(a,1)");
  }

  /** Running word counts of the input files, optionally with a filter added and another state partitioning. */
  private StreamingApp runningCounts(int statePartitions, boolean filterAdded) {
    return ctx -> {
      DStream<String> words = ctx.textFileStream(ctx.config().require("input.dir"));
      if (filterAdded) {
        words = words.filter(w -> !w.isBlank());
      }
      words.mapToPair(w -> Pair.of(w, 1L))
          .<Long>updateStateByKey((v, st) -> java.util.Optional.of(st.orElse(0L) + v.size()), statePartitions)
          .uid("counts").saveAsTextFiles(ctx.config().require("output.dir") + "/running");
    };
  }

  @Test
  void resumesChangedStatelessCodeButRefusesAChangedStateLayout() throws Exception {
    Files.createDirectories(tmp.resolve("in"));
    Files.writeString(tmp.resolve("in/a.txt"), "x\ny\n");
    try (LocalRunner job = LocalRunner.start(runningCounts(2, false), settings())) {
      job.runBatches(1);
    }
    assertThatThrownBy(() -> LocalRunner.start(runningCounts(3, false), settings())).isInstanceOf(SluiceException.class)
        .hasMessageContaining("cannot resume from checkpoint").hasMessageContaining("stateful operator counts differs")
        .hasMessageContaining("new checkpoint directory");
    Files.writeString(tmp.resolve("in/b.txt"), "x\n");
    try (LocalRunner job = LocalRunner.start(runningCounts(2, true), settings())) {
      job.runBatches(1);
      assertThat(committedLines(tmp.resolve("out/running-" + (job.startTimeMs() + 2000))))
          .containsExactly("(x,2)", "(y,1)");
    }
  }

  @Test
  void everyOperatorAgreesWithAPlainComputationOverTheGeneratedInput() throws Exception {
    Map<String, Object> seen = new ConcurrentHashMap<>();
    List<BatchInfo> batches = Collections.synchronizedList(new ArrayList<>());
    StreamingApp app = ctx -> {
      DStream<String> words = ctx.generatedLines(1000, 50, 3).flatMap(l -> Arrays.asList(l.split(" ")));
      words.countByValue().foreachBatch((b, r) -> seen.put("countByValue-" + b.index(), new TreeMap<>(toMap(r))));
      words.mapToPair(w -> Pair.of(w, 1L)).reduceByKey(Long::sum, 4)
          .foreachBatch((b, r) -> seen.put("reduceByKey-" + b.index(), new TreeMap<>(toMap(r))));
      words.mapToPair(w -> Pair.of(w.length(), w)).groupByKey(2).mapValues(List::size)
          .foreachBatch((b, r) -> seen.put("groupByKey-" + b.index(), new TreeMap<>(toMap(r))));
      words.count().foreachBatch((b, r) -> seen.put("count-" + b.index(), r));
      words.filter(w -> w.equals("w7")).union(words.filter(w -> w.equals("w8"))).count()
          .foreachBatch((b, r) -> seen.put("union-" + b.index(), r));
      words.map(String::length).reduce(Integer::sum)
          .transform((b, part) -> List.of("batch=" + b.index() + " chars=" + part.get(0)))
          .foreachBatch((b, r) -> {
            batches.add(b);
            seen.put("transform-" + b.index(), r);
          });
    };
    try (LocalRunner job = LocalRunner.start(app, Map.of())) {
      job.runBatches(2);
    }
    for (long b = 0; b < 2; b++) {
      Map<Object, Long> expected = new TreeMap<>();
      long chars = 0;
      Map<Object, Integer> byLength = new TreeMap<>();
      for (int j = 0; j < 1000; j++) {
        for (String w : WordGenerator.line(b, j, 50).split(" ")) {
          expected.merge(w, 1L, Long::sum);
          byLength.merge(w.length(), 1, Integer::sum);
          chars += w.length();
        }
      }
      assertThat(seen.get("countByValue-" + b)).isEqualTo(expected);
      assertThat(seen.get("reduceByKey-" + b)).isEqualTo(expected);
      assertThat(seen.get("groupByKey-" + b)).isEqualTo(byLength);
      assertThat(seen.get("count-" + b)).isEqualTo(List.of(10_000L));
      assertThat(seen.get("union-" + b)).isEqualTo(List.of(expected.getOrDefault("w7", 0L) + expected.getOrDefault("w8", 0L)));
      assertThat(seen.get("transform-" + b)).isEqualTo(List.of("batch=" + b + " chars=" + chars));
    }
    assertThat(batches).extracting(BatchInfo::epoch).containsOnly(1L);
    assertThat(batches).extracting(BatchInfo::index).containsExactly(0L, 1L);
  }

  @Test
  void aFailingFunctionFailsTheBatchNamingItsOperator() throws Exception {
    StreamingApp app = ctx -> ctx.generatedLines(10, 5, 1).map(l -> {
      throw new IllegalStateException("boom");
    }).uid("exploding").foreachBatch((b, r) -> {});
    try (LocalRunner job = LocalRunner.start(app, Map.of())) {
      assertThatThrownBy(() -> job.runBatches(1)).hasMessageContaining("operator exploding failed")
          .hasMessageContaining("boom");
    }
  }

  @Test
  void aFailureBelowTheFirstOperatorNamesTheOperatorThatFailed() throws Exception {
    StreamingApp failingPair = ctx -> ctx.generatedLines(10, 5, 1).uid("lines")
        .flatMap(l -> Arrays.asList(l.split(" "))).uid("words")
        .<String, Long>mapToPair(w -> {
          throw new IllegalStateException("no pair for " + w);
        }).uid("pairs")
        .reduceByKey(Reducers.longSum()).uid("counts").foreachBatch((b, r) -> {});
    try (LocalRunner job = LocalRunner.start(failingPair, Map.of())) {
      assertThatThrownBy(() -> job.runBatches(1)).hasMessageContaining("operator pairs failed")
          .hasMessageContaining("no pair for w");
    }
    StreamingApp failingCombiner = ctx -> ctx.generatedLines(10, 5, 1).uid("lines")
        .flatMap(l -> Arrays.asList(l.split(" "))).uid("words")
        .mapToPair(w -> Pair.of(w, 1L)).uid("pairs")
        .reduceByKey((a, b) -> {
          throw new ArithmeticException("cannot add " + a + " and " + b);
        }).uid("counts").foreachBatch((b, r) -> {});
    try (LocalRunner job = LocalRunner.start(failingCombiner, Map.of())) {
      assertThatThrownBy(() -> job.runBatches(1)).hasMessageContaining("operator counts failed")
          .hasMessageContaining("cannot add 1 and 1");
    }
  }

  private static Map<Object, Object> toMap(List<? extends Pair<?, ?>> pairs) {
    Map<Object, Object> m = new TreeMap<>();
    pairs.forEach(p -> m.put(p.key(), p.value()));
    return m;
  }
}
