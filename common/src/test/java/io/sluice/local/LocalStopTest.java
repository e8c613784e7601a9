package io.sluice.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.api.StreamingApp;
import io.sluice.proto.MetadataCheckpoint;
import io.sluice.runtime.BatchFailedException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code stop(stopGracefully)} in the local runner, with a batch left planned by a run in which it
 * failed every retry.
 */
class LocalStopTest {
  @TempDir Path tmp;
  private final AtomicBoolean failThirdBatch = new AtomicBoolean(true);
  private final AtomicInteger thirdBatchRuns = new AtomicInteger();
  private final List<Long> committed = new CopyOnWriteArrayList<>();

  private StreamingApp app() {
    return ctx -> ctx.generatedLines(20, 10, 1).foreachBatch((batch, lines) -> {
      if (batch.index() == 2) {
        thirdBatchRuns.incrementAndGet();
        if (failThirdBatch.get()) {
          throw new IllegalStateException("output unavailable");
        }
      }
      committed.add(batch.index());
    });
  }

  private Map<String, String> settings() {
    return Map.of("sluice.checkpoint.dir", tmp.resolve("cp").toString());
  }

  @BeforeEach
  void leaveTheThirdBatchPlanned() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(), settings())) {
      assertThatThrownBy(() -> job.runBatches(3)).isInstanceOf(BatchFailedException.class)
          .hasMessageContaining("failed 3 times in this attempt").hasMessageContaining("output unavailable");
    }
    // Two retries, then the failure is in the checkpoint with the batch still planned.
    assertThat(thirdBatchRuns).hasValue(3);
    assertThat(newest().getPendingBatchesCount()).isEqualTo(1);
    assertThat(newest().getPendingBatches(0).getFailedRuns()).isEqualTo(3);
    assertThat(newest().getPendingBatches(0).getLastError()).contains("output unavailable");
    failThirdBatch.set(false);
  }

  @Test
  void gracefulStopCommitsThePlannedBatchesFirst() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(), settings())) {
      job.stop(true);
      assertThatThrownBy(() -> job.runBatches(1)).isInstanceOf(IllegalStateException.class);
    }
    assertThat(committed).containsExactly(0L, 1L, 2L);
    assertThat(newest().getPendingBatchesCount()).isZero();
    assertThat(newest().getBatchesCompleted()).isEqualTo(3);
  }

  @Test
  void immediateStopLeavesThemForTheNextRun() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(), settings())) {
      job.stop(false);
    }
    assertThat(committed).containsExactly(0L, 1L);
    assertThat(newest().getPendingBatchesCount()).isEqualTo(1);
  }

  private MetadataCheckpoint newest() throws Exception {
    return JobFiles.newestCheckpoint(tmp.resolve("cp"));
  }
}
