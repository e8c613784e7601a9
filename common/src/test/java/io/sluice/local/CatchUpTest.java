package io.sluice.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.api.Pair;
import io.sluice.api.StreamingApp;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A driver that finds many batch times due catches up in a bounded number of batches, losing no input. */
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
}
