package io.sluice.examples;

import io.sluice.api.Pair;
import io.sluice.api.StreamingApp;
import io.sluice.api.StreamingContext;
import java.util.Arrays;

/**
 * The benchmark workload's word count over the deterministic generator ({@code workload.R} lines,
 * {@code workload.K} words, {@code workload.P} partitions). After each batch b it writes one line
 * {@code batch=<b> keys=<keys> total=<sum of counts>} with {@code saveAsTextFiles(output.dir +
 * "/batch")}. Counts are per batch until stateful operators exist.
 */
public final class GeneratedWordCount implements StreamingApp {
  @Override
  public void build(StreamingContext ctx) {
    long lines = ctx.config().getLong("workload.R", 50_000);
    long vocabulary = ctx.config().getLong("workload.K", 10_000);
    int partitions = ctx.config().getInt("workload.P", 2);
    ctx.generatedLines(lines, vocabulary, partitions)
        .flatMap(line -> Arrays.asList(line.split(" ")))
        .mapToPair(word -> Pair.of(word, 1L))
        .reduceByKey(Long::sum)
        .uid("counts")
        .map(count -> Pair.of(1L, count.value()))
        .reduce((a, b) -> Pair.of(a.key() + b.key(), a.value() + b.value()))
        .uid("keys-and-total")
        .transform((batch, summary) -> summary.stream()
            .map(s -> "batch=" + batch.index() + " keys=" + s.key() + " total=" + s.value()).toList())
        .saveAsTextFiles(ctx.config().require("output.dir") + "/batch");
  }

  /** The line this example writes for a batch, to compare outputs against. */
  public static String expectedLine(long batch, long keys, long total) {
    return "batch=" + batch + " keys=" + keys + " total=" + total;
  }
}
