package io.sluice.api;

import io.sluice.api.Functions.ReduceFunction;

/**
 * Reduce functions the engine knows. They compute what the same lambda would, but a map task's
 * combiner applies them to its values in place, unboxed: with {@code reduceByKey(Long::sum)} every
 * record costs a call through the lambda and a new {@code Long} once a count passes 127, which in
 * a word count is a tenth of the map task.
 */
public final class Reducers {
  private static final ReduceFunction<Long> LONG_SUM = Long::sum;

  private Reducers() {}

  /** Adds two longs, as {@code Long::sum} does (wrapping on overflow). */
  public static ReduceFunction<Long> longSum() {
    return LONG_SUM;
  }
}
