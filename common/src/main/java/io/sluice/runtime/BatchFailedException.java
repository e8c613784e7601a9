package io.sluice.runtime;

/**
 * A batch failed every run this driver gave it. The failure is recorded in the metadata
 * checkpoint, so the next driver knows how often the batch has failed before.
 */
public final class BatchFailedException extends Exception {
  private static final long serialVersionUID = 1L;

  private final int failedAttempts;

  BatchFailedException(long batchMs, int runs, int failedAttempts, int failedRuns, Throwable cause) {
    super("batch " + batchMs + " failed " + runs + (runs == 1 ? " time" : " times") + " in this attempt ("
        + failedRuns + " in " + failedAttempts + (failedAttempts == 1 ? " attempt" : " attempts") + " in all): "
        + cause.getMessage(), cause);
    this.failedAttempts = failedAttempts;
  }

  /** In how many driver attempts, this one included, every run of the batch failed. */
  public int failedAttempts() {
    return failedAttempts;
  }
}
