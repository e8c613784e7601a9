package io.sluice.runtime;

/**
 * Time as the engine sees it: wall time for naming batches, monotonic time for durations, and a
 * way to wait for a wall time that a manual clock can satisfy without sleeping.
 */
public interface Clock {

  long wallMillis();

  long monotonicNanos();

  /** Blocks until {@link #wallMillis()} is at least {@code millis}. */
  void waitUntil(long millis) throws InterruptedException;

  /** The system clock. */
  Clock SYSTEM = new Clock() {
    @Override
    public long wallMillis() {
      return System.currentTimeMillis();
    }

    @Override
    public long monotonicNanos() {
      return System.nanoTime();
    }

    @Override
    public void waitUntil(long millis) throws InterruptedException {
      long now;
      while ((now = wallMillis()) < millis) {
        Thread.sleep(millis - now);
      }
    }
  };
}
