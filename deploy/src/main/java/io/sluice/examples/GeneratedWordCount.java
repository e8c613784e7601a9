package io.sluice.examples;

import io.sluice.api.Duration;
import io.sluice.api.LongAccumulator;
import io.sluice.api.Pair;
import io.sluice.api.Reducers;
import io.sluice.api.PairDStream;
import io.sluice.api.StreamingApp;
import io.sluice.api.StreamingContext;
import java.util.Arrays;
import java.util.Optional;

/**
 * The benchmark workload's stateful word count over the deterministic generator ({@code
 * workload.R} lines, {@code workload.K} words, {@code workload.P} partitions). After each batch b
 * it writes one line {@code batch=<b> keys=<keys in the state> total=<sum of all counts>} with
 * {@code saveAsTextFiles(output.dir + "/batch")}; the invariant is total = 10 R (b + 1). The state
 * snapshot interval is {@code workload.checkpointInterval} (default: the engine's). Needs a
 * checkpoint directory. The accumulator {@code lines} counts the lines read, R per committed batch.
 */
public final class GeneratedWordCount implements StreamingApp {
  @Override
  public void build(StreamingContext ctx) {
    long lines = ctx.config().getLong("workload.R", 50_000);
    long vocabulary = ctx.config().getLong("workload.K", 10_000);
    int partitions = ctx.config().getInt("workload.P", 2);
    LongAccumulator linesRead = ctx.longAccumulator("lines");
    PairDStream<String, Long> counts = ctx.generatedLines(lines, vocabulary, partitions)
        .flatMap(line -> {
          linesRead.add(1);
          return Arrays.asList(line.split(" "));
        })
        .mapToPair(word -> Pair.of(word, 1L))
        .reduceByKey(Reducers.longSum())
        .<Long>updateStateByKey((batchCounts, total) -> {
          long sum = total.orElse(0L);
          for (long c : batchCounts) {
            sum += c;
          }
          return Optional.of(sum);
        })
        .uid("counts");
    ctx.config().get("workload.checkpointInterval")
        .ifPresent(d -> counts.checkpoint(Duration.parse("workload.checkpointInterval", d)));
    counts.map(count -> Pair.of(1L, count.value()))
        .reduce((a, b) -> Pair.of(a.key() + b.key(), a.value() + b.value()))
        .uid("keys-and-total")
        .transform((batch, summary) -> summary.stream()
            .map(s -> expectedLine(batch.index(), s.key(), s.value())).toList())
        .saveAsTextFiles(ctx.config().require("output.dir") + "/batch");
  }

  /** The line this example writes for a batch. */
  public static String expectedLine(long batch, long keys, long total) {
    return "batch=" + batch + " keys=" + keys + " total=" + total;
  }
}
