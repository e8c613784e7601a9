package io.sluice.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.api.Pair;
import io.sluice.api.Reducers;
import io.sluice.api.StreamingApp;
import io.sluice.api.StreamingContext;
import io.sluice.proto.BatchStats;
import io.sluice.proto.StageStats;
import io.sluice.runtime.ManualClock;
import io.sluice.runtime.StageStatsText;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BatchStagesTest {
  /** The runner's clock, which the input's lines move: each line "takes" 100 ms of its stage. */
  private static final ManualClock CLOCK = new ManualClock(0);

  @TempDir Path tmp;

  /** A stateful word count over 4 generated lines a batch in 2 partitions. */
  public static final class TimedWordCount implements StreamingApp {
    @Override
    public void build(StreamingContext ctx) {
      ctx.generatedLines(4, 10, 2)
          .flatMap(line -> {
            CLOCK.advance(100);
            return Arrays.asList(line.split(" "));
          })
          .mapToPair(word -> Pair.of(word, 1L))
          .reduceByKey(Reducers.longSum()).uid("per-batch")
          .<Long>updateStateByKey((values, total) -> Optional.of(total.orElse(0L) + values.size())).uid("counts")
          .foreachBatch((batch, records) -> { });
    }
  }

  @Test
  void eachBatchRecordsItsStagesWithTheirTimesAndSlowestTasks() throws Exception {
    try (LocalRunner job = LocalRunner.start(new TimedWordCount(),
        Map.of("sluice.checkpoint.dir", tmp.resolve("cp").toString()), CLOCK, summary -> { })) {
      job.runBatches(2);
      List<BatchStats> batches = job.recentBatches();
      assertThat(batches).hasSize(2);
      for (BatchStats b : batches) {
        List<StageStats> stages = b.getStagesList();
        assertThat(stages).extracting(StageStats::getName).containsExactly("input", "per-batch+counts");
        StageStats input = stages.get(0);
        assertThat(input.getTasks()).isEqualTo(2);
        assertThat(input.getWallMs()).as("4 lines of 100 ms on the runner's clock").isEqualTo(400);
        assertThat(input.getSlowestTaskId()).startsWith("m-");
        StageStats update = stages.get(1);
        assertThat(update.getTasks()).isEqualTo(2);
        assertThat(update.getWallMs()).isZero();
        assertThat(update.getSlowestTaskId()).startsWith("r-per-batch-");
        assertThat(b.getProcessingMs()).as("nothing else moved the clock").isEqualTo(400);
        assertThat(StageStatsText.describe(stages)).startsWith("input 400 ms (slowest task m-")
            .contains("; per-batch+counts 0 ms (slowest task r-per-batch-");
      }
    }
  }
}
