package io.sluice.runtime;

/**
 * A batch ended this driver: every run this driver gave it failed, or earlier drivers died running
 * it so often that this one stops before the last attempt YARN allows dies the same way. The
 * failures are recorded in the metadata checkpoint, so the next driver knows the batch's history.
 */
public final class BatchFailedException extends Exception {
  private static final long serialVersionUID = 1L;

  private final int attemptsEnded;

  private BatchFailedException(String message, int attemptsEnded, Throwable cause) {
    super(message, cause);
    this.attemptsEnded = attemptsEnded;
  }

  static BatchFailedException runsFailed(long batchMs, int runs, int failedAttempts, int failedRuns,
      int attemptsEnded, Throwable cause) {
    return new BatchFailedException("batch " + batchMs + " failed " + runs + (runs == 1 ? " time" : " times")
        + " in this attempt (" + failedRuns + " in " + failedAttempts + (failedAttempts == 1 ? " attempt" : " attempts")
        + " in all): " + cause.getMessage(), attemptsEnded, cause);
  }

  static BatchFailedException crashLoop(long batchMs, long index, int attemptsEnded, int died, int failed,
      String lastError) {
    return new BatchFailedException("crash loop: batch " + batchMs + " (#" + index + ") was running when each of the "
        + "last " + attemptsEnded + " attempts ended: " + died + " died (killed, out of memory, or the JVM crashed)"
        + (failed > 0 ? ", " + failed + " failed (last error: " + lastError + ")" : "")
        + "; this attempt does not run it again", attemptsEnded + 1, null);
  }

  /** How many driver attempts, this one included, ended while this batch was running. */
  public int attemptsEnded() {
    return attemptsEnded;
  }
}
