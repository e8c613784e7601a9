package io.sluice.api;

/** As {@link LongAccumulator}, for a sum of doubles. */
public interface DoubleAccumulator {
  String name();

  void add(double amount);

  double value();
}
