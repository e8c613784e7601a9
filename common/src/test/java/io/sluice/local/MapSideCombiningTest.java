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
 * longs, keys that pack into a long, and either a first run or a run before that had over two
 * records per key), or write records as they come (a reduce function of the application's own,
 * keys too long to pack, or too few records per key): 50,000 lines of ten words in 2
 * partitions give each map task 250,000 records, past the 100,000 it probes; over 120,000 keys
 * that is 2.4 records per key. (Nearly every key distinct, fewer lines do.)
 */
class MapSideCombiningTest {

  @TempDir Path tmp;

  @ParameterizedTest(name = "vocabulary {0}, Reducers.longSum() {1}, {2} lines, {3} batches")
  @CsvSource({"1000, true, 50000, 3", "120000, true, 50000, 3", "100000000, true, 26000, 2", "1000, false, 50000, 3",
      "120000, false, 50000, 3"})
  void countsAreExactWhetherMapTasksCombineOrNot(long vocabulary, boolean knownSum, long lines, int batches)
      throws Exception {
    ReduceFunction<Long> sum = knownSum ? Reducers.longSum() : Long::sum;
    Map<Long, Map<String, Long>> batchCounts = new ConcurrentHashMap<>();
    Map<Long, Map<String, Long>> totals = new ConcurrentHashMap<>();
    StreamingApp app = ctx -> {
      var counts = ctx.generatedLines(lines, vocabulary, 2)
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
      job.runBatches(batches);
    }
    Map<String, Long> expectedTotals = new HashMap<>();
    for (long b = 0; b < batches; b++) {
      Map<String, Long> expected = new HashMap<>();
      for (long j = 0; j < lines; j++) {
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
