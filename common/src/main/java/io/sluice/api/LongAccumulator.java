package io.sluice.api;

/**
 * A named sum that operators add to, declared with {@link StreamingContext#longAccumulator}. Its
 * value counts every committed batch exactly once, across AM restarts: a batch's additions
 * become part of the total only when the batch completes, and the total is kept in the metadata
 * checkpoint. Additions made while a batch is replayed to rebuild state are not counted.
 */
public interface LongAccumulator {
  String name();

  /** Adds {@code amount}, in a task or in a driver-side output such as {@code foreachBatch}. */
  void add(long amount);

  /**
   * On the driver: the total over completed batches, plus the running batch's additions once its
   * tasks have finished (as {@code foreachBatch} sees it). Not readable inside tasks.
   */
  long value();
}
