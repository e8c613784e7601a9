package io.sluice.graph;

import io.sluice.api.Duration;
import io.sluice.api.Functions.ReduceFunction;
import io.sluice.api.Reducers;

/**
 * The function of a windowed operator: how its values combine ({@code inverse} null when the
 * window is recombined from its batches at every slide), and the window's length and slide.
 */
public record WindowSpec(ReduceFunction<Object> reduce, ReduceFunction<Object> inverse, Duration length,
    Duration slide) {
  /** Adds counts: the combiner of every counting operator, windowed or not. */
  @SuppressWarnings("unchecked")
  public static final ReduceFunction<Object> SUM = (ReduceFunction<Object>) (ReduceFunction<?>) Reducers.longSum();
  /** Takes a count out: the inverse of {@link #SUM} for windows of counts. */
  static final ReduceFunction<Object> MINUS = (a, b) -> (Long) a - (Long) b;

  @SuppressWarnings("unchecked")
  static WindowSpec of(ReduceFunction<?> reduce, ReduceFunction<?> inverse, Duration length, Duration slide) {
    if (reduce == null || length == null || slide == null) {
      throw new io.sluice.api.SluiceException("a window needs a reduce function, a length and a slide");
    }
    return new WindowSpec((ReduceFunction<Object>) reduce, (ReduceFunction<Object>) inverse, length, slide);
  }

  static WindowSpec counting(Duration length, Duration slide) {
    return of(SUM, MINUS, length, slide);
  }

  /** What the fingerprint records: a changed length, slide or inverse changes the state kept. */
  String describe() {
    return " window=" + length + " slide=" + slide + (inverse != null ? " inverse" : "");
  }
}
