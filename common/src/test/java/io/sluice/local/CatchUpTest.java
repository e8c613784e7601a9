package io.sluice.local;

import static io.sluice.local.JobFiles.committedLines;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.api.Pair;
import io.sluice.api.StreamingApp;
import io.sluice.proto.MetadataCheckpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A driver that finds many batch times due catches up in a bounded number of batches, losing no
 * input, and writes one metadata file per batch while it is behind.
 */
class CatchUpTest {
  private static final long LINES = 50;

  @TempDir Path tmp;
  private final Map<Long, Long> wordsByBatch = new TreeMap<>();
  private final Map<Long, Long> runningTotalByBatch = new TreeMap<>();

  private StreamingApp app() {
    return ctx -> {
      var words = ctx.generatedLines(LINES, 20, 2).flatMap(l -> Arrays.asList(l.split(" ")));
      words.count().foreachBatch((batch, counts) -> wordsByBatch.put(batch.index(), counts.get(0)));
      words.mapToPair(w -> Pair.of("all", 1L)).reduceByKey(Long::sum)
          .<Long>updateStateByKey((vs, s) -> Optional.of(s.orElse(0L) + vs.stream().mapToLong(Long::longValue).sum()))
          .foreachBatch((batch, totals) -> runningTotalByBatch.put(batch.index(), totals.get(0).value()));
    };
  }

  /** The running number of words, saved per batch under {@code out}. */
  private StreamingApp savedRunningTotal() {
    return ctx -> ctx.generatedLines(LINES, 20, 2).flatMap(l -> Arrays.asList(l.split(" ")))
        .mapToPair(w -> Pair.of("all", 1L)).reduceByKey(Long::sum)
        .<Long>updateStateByKey((vs, s) -> Optional.of(s.orElse(0L) + vs.stream().mapToLong(Long::longValue).sum()))
        .saveAsTextFiles(tmp.resolve("out").toString() + "/running");
  }

  @Test
  void tenDueBatchTimesAreCaughtUpInTwoBatchesWithEveryWordCounted() throws Exception {
    Map<String, String> settings = Map.of("sluice.checkpoint.dir", tmp.resolve("cp").toString(),
        "sluice.batch.maxCatchUp", "2");
    try (LocalRunner job = LocalRunner.start(app(), settings)) {
      job.runBatches(3);
      // The driver was away: ten more batch times are due now.
      job.clock().advance(10 * 1000);
      job.runBatches(3);
    }
    long perBatch = 10 * LINES;
    assertThat(wordsByBatch).containsExactly(Map.entry(0L, perBatch), Map.entry(1L, perBatch), Map.entry(2L, perBatch),
        Map.entry(11L, 9 * perBatch), Map.entry(12L, perBatch), Map.entry(13L, perBatch));
    assertThat(runningTotalByBatch.get(11L)).isEqualTo(12 * perBatch);
    assertThat(runningTotalByBatch.get(13L)).isEqualTo(14 * perBatch);
  }

  @Test
  void behindItsBatchTimesTheDriverRecordsEachCompletedBatchWithTheNextPlanAndTheLastAtItsStop() throws Exception {
    Map<String, String> settings = Map.of("sluice.checkpoint.dir", tmp.resolve("cp").toString());
    try (LocalRunner job = LocalRunner.start(app(), settings)) {
      job.runBatches(2);
      // On time, a batch writes its plan and then its completion.
      assertThat(newest().getSequence()).isEqualTo(1 + 2 * 2);
      job.clock().advance(5 * 1000);
      job.runBatches(4);
      // Behind, the plan of each batch records the batch before it.
      assertThat(newest().getSequence()).isEqualTo(5 + 4);
      assertThat(newest().getLastCompletedBatchMs()).isEqualTo(job.startTimeMs() + 5000);
      assertThat(newest().getPendingBatchesList()).singleElement()
          .satisfies(b -> assertThat(b.getBatchTimeMs()).isEqualTo(job.startTimeMs() + 6000));
      job.stop(false);
      assertThat(newest().getSequence()).isEqualTo(9 + 1);
      assertThat(newest().getLastCompletedBatchMs()).isEqualTo(job.startTimeMs() + 6000);
      assertThat(newest().getPendingBatchesList()).isEmpty();
      assertThat(newest().getBatchesCompleted()).isEqualTo(6);
    }
    assertThat(runningTotalByBatch.get(5L)).isEqualTo(6 * 10 * LINES);
  }

  @Test
  void aDriverThatDiesBeforeRecordingACompletedBatchRerunsItWithoutRepeatingItsOutput() throws Exception {
    Map<String, String> settings = Map.of("sluice.checkpoint.dir", tmp.resolve("cp").toString());
    long start;
    try (LocalRunner job = LocalRunner.start(savedRunningTotal(), settings)) {
      start = job.startTimeMs();
      job.runBatches(1);
      job.clock().advance(4 * 1000);
      job.runBatches(3);
      // Closed without a stop, as a driver dies: the fourth batch is committed, not recorded.
      assertThat(newest().getLastCompletedBatchMs()).isEqualTo(start + 3000);
    }
    long committedAt = Files.getLastModifiedTime(tmp.resolve("out/running-" + (start + 4000))).toMillis();
    try (LocalRunner job = LocalRunner.start(savedRunningTotal(), settings)) {
      job.runBatches(2);
      assertThat(job.batchesCompleted()).isEqualTo(5);
    }
    assertThat(Files.getLastModifiedTime(tmp.resolve("out/running-" + (start + 4000))).toMillis())
        .isEqualTo(committedAt);
    for (int b = 1; b <= 5; b++) {
      assertThat(committedLines(tmp.resolve("out/running-" + (start + b * 1000L))))
          .containsExactly("(all," + b * 10 * LINES + ")");
    }
    try (Stream<Path> outputs = Files.list(tmp.resolve("out"))) {
      assertThat(outputs.map(p -> p.getFileName().toString())).hasSize(5).allMatch(n -> n.startsWith("running-"));
    }
  }

  private MetadataCheckpoint newest() throws IOException {
    return JobFiles.newestCheckpoint(tmp.resolve("cp"));
  }
}
