package io.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.proto.BatchStats;
import io.sluice.proto.MetadataCheckpoint;
import io.sluice.proto.StageStats;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class BenchTest {
  private static BatchStats batch(long timeMs, long processingMs, long delayMs) {
    return BatchStats.newBuilder().setBatchTimeMs(timeMs).setProcessingMs(processingMs)
        .setSchedulingDelayMs(delayMs).build();
  }

  /** Batches 7 to 9 of a run, as the metadata keeps them. */
  private static final MetadataCheckpoint CHECKPOINT = MetadataCheckpoint.newBuilder().setBatchesCompleted(10)
      .addRecentBatches(batch(7_000, 910, 4_100)).addRecentBatches(batch(8_000, 1_412, 4_350))
      .addRecentBatches(batch(9_000, 998, 4_760)).build();

  @Test
  void progressNamesTheBatchesNotPrintedYetByTheirNumbers() {
    assertThat(Bench.progressLine(CHECKPOINT, 7_000))
        .hasValue("    batch 8-9: 1412 998 ms, scheduling delay 4.8 s");
    assertThat(Bench.progressLine(CHECKPOINT, 8_000)).hasValue("    batch 9: 998 ms, scheduling delay 4.8 s");
    assertThat(Bench.progressLine(CHECKPOINT, 0))
        .hasValue("    batch 7-9: 910 1412 998 ms, scheduling delay 4.8 s");
  }

  @Test
  void noProgressLineWithoutNewBatches() {
    assertThat(Bench.progressLine(CHECKPOINT, 9_000)).isEmpty();
    assertThat(Bench.progressLine(MetadataCheckpoint.getDefaultInstance(), 0)).isEmpty();
  }

  private static StageStats stage(String name, long wallMs, long slowestMs) {
    return StageStats.newBuilder().setName(name).setTasks(2).setWallMs(wallMs).setSlowestTaskId(name + "-0")
        .setSlowestTaskMs(slowestMs).build();
  }

  @Test
  void stageMediansSayWhereTheBatchesWentStageByStage() {
    List<BatchStats> measured = List.of(
        batch(1_000, 1_000, 0).toBuilder().addStages(stage("input", 500, 480)).addStages(stage("s+counts", 450, 440))
            .build(),
        batch(2_000, 700, 0).toBuilder().addStages(stage("input", 300, 290)).addStages(stage("s+counts", 380, 370))
            .build(),
        batch(3_000, 900, 0).toBuilder().addStages(stage("input", 400, 390)).addStages(stage("s+counts", 470, 460))
            .build());

    assertThat(Bench.stageMedians(measured)).isEqualTo(
        "input 400 ms (slowest task 390 ms); s+counts 450 ms (slowest task 440 ms); outputs and commit 30 ms");
    assertThat(Bench.stageMedians(List.of(batch(1_000, 900, 0)))).isEqualTo("none recorded");
  }

  @Test
  void eachBatchAfterASnapshotSaysHowLongTheGapBeforeItWas() {
    // The first batch ends at 6000 + 200 + 500 = 6700; the second, on time, starts at 7000 + 10 and
    // ends at 8240; the third, behind its time, starts 60 ms after that.
    List<BatchStats> measured = List.of(batch(6_000, 500, 200), batch(7_000, 1_230, 10),
        batch(8_000, 1_010, 300), batch(9_000, 850, 260));

    assertThat(Bench.gapBeforeMs(measured, 1)).isEqualTo(310);
    assertThat(Bench.gapBeforeMs(measured, 2)).isEqualTo(60);
    assertThat(Bench.eachExcess(measured, List.of(1, 2), 1_000, 5, i -> Bench.gapNote(measured, i)))
        .isEqualTo("#6 +230 (gap 310), #7 +10 (gap 60) ms");
    assertThat(Bench.eachExcess(measured, List.of(), 1_000, 5, i -> Bench.gapNote(measured, i))).isEqualTo("-");
  }

  @Test
  void stolenCpuIsTheShareOfAllTicksBetweenTwoReadingsOfProcStat() {
    Optional<CpuTimes> start = CpuTimes.parse("cpu  3920340 50110 361933 2652297 5451 0 20623 157873 0 0");
    Optional<CpuTimes> end = CpuTimes.parse("cpu  3920740 50110 362033 2652397 5451 0 20623 158273 0 0");
    assertThat(start).hasValue(new CpuTimes(7_168_627, 157_873));
    assertThat(CpuTimes.stolenSince(start, end)).as("400 of 1000 ticks").isEqualTo("40 %");
    assertThat(CpuTimes.stolenSince(start, Optional.empty())).isEqualTo("-");
    assertThat(CpuTimes.stolenSince(end, start)).isEqualTo("-");
    assertThat(CpuTimes.parse("cpu0 1 2 3 4 5 6 7 8")).isEmpty();
    assertThat(CpuTimes.parse("cpu 1 2 3")).isEmpty();
  }

  @Test
  void stageLinesGiveEachBatchNotPrintedYetItsStages() {
    MetadataCheckpoint cp = CHECKPOINT.toBuilder()
        .setRecentBatches(2, batch(9_000, 998, 4_760).toBuilder().addStages(stage("input", 600, 590))).build();
    assertThat(Bench.stageLines(cp, 7_000)).containsExactly("      batch 8, 1412 ms: none recorded",
        "      batch 9, 998 ms: input 600 ms (slowest task input-0: 590 ms)");
    assertThat(Bench.stageLines(cp, 9_000)).isEmpty();
  }
}
