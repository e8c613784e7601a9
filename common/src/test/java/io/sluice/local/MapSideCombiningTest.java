package io.sluice.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.api.Functions.ReduceFunction;
import io.sluice.api.Pair;
import io.sluice.api.Reducers;
import io.sluice.api.StreamingApp;
import io.sluice.source.WordGenerator;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * reduceByKey and the state updated from it count exactly whether the map tasks combine in one
 * table (few distinct keys), go on in buckets after their probe (many distinct keys, a sum of
 * longs, keys that pack into a long), or write records as they come (a reduce function of the
 * application's own, or keys too long to pack): 26,000 lines of ten words in 2 partitions give
 * each map task 130,000 records, past the 100,000 it probes.
 */
class MapSideCombiningTest {
  private static final long LINES = 26_000;
  private static final int BATCHES = 2;

  @TempDir Path tmp;

  @ParameterizedTest(name = "vocabulary {0}, Reducers.longSum() {1}")
  @CsvSource({"1000, true", "300000, true", "100000000, true", "1000, false", "300000, false"})
  void countsAreExactWhetherMapTasksCombineOrNot(long vocabulary, boolean knownSum) throws Exception {
    ReduceFunction<Long> sum = knownSum ? Reducers.longSum() : Long::sum;
    Map<Long, Map<String, Long>> batchCounts = new ConcurrentHashMap<>();
    Map<Long, Map<String, Long>> totals = new ConcurrentHashMap<>();
    StreamingApp app = ctx -> {
      var counts = ctx.generatedLines(LINES, vocabulary, 2)
          .flatMap(l -> Arrays.asList(l.split(" ")))
          .mapToPair(w -> Pair.of(w, 1L))
          .reduceByKey(sum);
      counts.foreachBatch((batch, records) -> batchCounts.put(batch.index(), asMap(records)));
      counts.updateStateByKey((List<Long> values, Optional<Long> total) ->
              Optional.of(total.orElse(0L) + values.stream().mapToLong(Long::longValue).sum()))
          .uid("totals")
          .foreachBatch((batch, records) -> totals.put(batch.index(), asMap(records)));
    };
    try (LocalRunner job = LocalRunner.start(app, Map.of("sluice.checkpoint.dir", tmp.resolve("cp").toString()))) {
      job.runBatches(BATCHES);
    }
    Map<String, Long> expectedTotals = new HashMap<>();
    for (long b = 0; b < BATCHES; b++) {
      Map<String, Long> expected = new HashMap<>();
      for (long j = 0; j < LINES; j++) {
        for (String w : WordGenerator.line(b, j, vocabulary).split(" ")) {
          expected.merge(w, 1L, Long::sum);
        }
      }
      expected.forEach((w, n) -> expectedTotals.merge(w, n, Long::sum));
      assertThat(batchCounts.get(b)).as("counts of batch " + b).isEqualTo(expected);
      assertThat(totals.get(b)).as("totals after batch " + b).isEqualTo(expectedTotals);
    }
  }

  private static Map<String, Long> asMap(List<Pair<String, Long>> records) {
    Map<String, Long> m = new HashMap<>();
    records.forEach(p -> m.put(p.key(), p.value()));
    return m;
  }
}
