package io.sluice.runtime;

/** Told about each batch the driver completes, for progress output and status. */
@FunctionalInterface
public interface BatchListener {

  /**
   * @param batchTimeMs the batch's logical time
   * @param index the batch number from the start of the stream
   * @param schedulingDelayMs from the batch time to the start of its first task
   * @param processingMs from the start of its first task to its committed output
   * @param rerun whether the batch was planned by an earlier driver and is run again
   */
  record BatchSummary(long batchTimeMs, long index, long epoch, long schedulingDelayMs, long processingMs,
      int tasks, boolean rerun) {}

  void onBatchCompleted(BatchSummary summary);
}
