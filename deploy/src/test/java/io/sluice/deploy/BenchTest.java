package io.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.proto.BatchStats;
import io.sluice.proto.MetadataCheckpoint;
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
}
