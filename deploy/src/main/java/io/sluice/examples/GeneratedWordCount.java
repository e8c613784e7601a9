package io.sluice.examples;

import io.sluice.api.Duration;
import io.sluice.api.DStream;
import io.sluice.api.LongAccumulator;
import io.sluice.api.MapWithStateDStream;
import io.sluice.api.Pair;
import io.sluice.api.PairDStream;
import io.sluice.api.Reducers;
import io.sluice.api.SluiceException;
import io.sluice.api.StateSpec;
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
 * With {@code workload.operator=mapWithState} the counts are kept by {@code mapWithState} instead of
 * {@code updateStateByKey}, and the output reads its {@code stateSnapshots()}; {@code
 * workload.idleTimeout} then times out words not seen for that long, and the invariant no longer
 * holds once one does.
 */
public final class GeneratedWordCount implements StreamingApp {
  /** The values of {@code workload.operator}. */
  public static final String UPDATE_STATE_BY_KEY = "updateStateByKey";
  public static final String MAP_WITH_STATE = "mapWithState";

  @Override
  public void build(StreamingContext ctx) {
    long lines = ctx.config().getLong("workload.R", 50_000);
    long vocabulary = ctx.config().getLong("workload.K", 10_000);
    int partitions = ctx.config().getInt("workload.P", 2);
    LongAccumulator linesRead = ctx.longAccumulator("lines");
    PairDStream<String, Long> batchCounts = ctx.generatedLines(lines, vocabulary, partitions)
        .flatMap(line -> {
          linesRead.add(1);
          return Arrays.asList(line.split(" "));
        })
        .mapToPair(word -> Pair.of(word, 1L))
        .reduceByKey(Reducers.longSum());
    String operator = requireOperator("workload.operator",
        ctx.config().get("workload.operator").orElse(UPDATE_STATE_BY_KEY));
    DStream<?> stateful;
    PairDStream<String, Long> counts;
    Optional<String> idleTimeout = ctx.config().get("workload.idleTimeout");
    if (idleTimeout.isPresent()) {
      requireTimedOperator("workload.idleTimeout", operator, "workload.operator=");
    }
    if (operator.equals(MAP_WITH_STATE)) {
      StateSpec<String, Long, Long, Void> spec = StateSpec.function((word, count, total) -> {
        if (!total.isTimingOut()) {
          total.update((total.exists() ? total.get() : 0L) + count.orElseThrow());
        }
        return null;
      });
      if (idleTimeout.isPresent()) {
        spec = spec.timeout(Duration.parse("workload.idleTimeout", idleTimeout.get()));
      }
      MapWithStateDStream<String, Long, Long, Void> mapped = batchCounts.mapWithState(spec);
      counts = mapped.stateSnapshots();
      stateful = mapped;
    } else {
      counts = batchCounts.<Long>updateStateByKey((values, total) -> {
        long sum = total.orElse(0L);
        for (long c : values) {
          sum += c;
        }
        return Optional.of(sum);
      });
      stateful = counts;
    }
    stateful.uid("counts");
    Optional<String> interval = ctx.config().get("workload.checkpointInterval");
    if (interval.isPresent()) {
      stateful.checkpoint(Duration.parse("workload.checkpointInterval", interval.get()));
    }
    counts.map(count -> Pair.of(1L, count.value()))
        .reduce((a, b) -> Pair.of(a.key() + b.key(), a.value() + b.value()))
        .uid("keys-and-total")
        .transform((batch, summary) -> summary.stream()
            .map(s -> expectedLine(batch.index(), s.key(), s.value())).toList())
        .saveAsTextFiles(ctx.config().require("output.dir") + "/batch");
  }

  /** {@code value} if it names an operator {@code workload.operator} takes; else an error naming {@code setting}. */
  public static String requireOperator(String setting, String value) {
    if (!value.equals(UPDATE_STATE_BY_KEY) && !value.equals(MAP_WITH_STATE)) {
      throw new SluiceException(setting + " must be " + UPDATE_STATE_BY_KEY + " or " + MAP_WITH_STATE + ", got " + value);
    }
    return value;
  }

  /**
   * Checks that {@code operator} takes the idle timeout given with {@code setting}: only mapWithState
   * does; {@code choosing} is how the operator is chosen where the setting was given.
   */
  public static void requireTimedOperator(String setting, String operator, String choosing) {
    if (!operator.equals(MAP_WITH_STATE)) {
      throw new SluiceException(setting + " needs " + choosing + MAP_WITH_STATE + ": " + operator
          + " has no idle timeout");
    }
  }

  /** The line this example writes for a batch. */
  public static String expectedLine(long batch, long keys, long total) {
    return "batch=" + batch + " keys=" + keys + " total=" + total;
  }
}
