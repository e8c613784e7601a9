package io.sluice.runtime;

import com.google.errorprone.annotations.concurrent.GuardedBy;

/** A clock that moves only when told to, for tests and the local runner. */
public final class ManualClock implements Clock {
  private final Object lock = new Object();

  @GuardedBy("lock")
  private long millis;

  public ManualClock(long startMillis) {
    this.millis = startMillis;
  }

  @Override
  public long wallMillis() {
    synchronized (lock) {
      return millis;
    }
  }

  @Override
  public long monotonicNanos() {
    return wallMillis() * 1_000_000L;
  }

  /** Moves the clock forward and wakes whoever waits for a time now reached. */
  public void advance(long deltaMillis) {
    synchronized (lock) {
      millis += deltaMillis;
      lock.notifyAll();
    }
  }

  @Override
  public void waitUntil(long target) throws InterruptedException {
    synchronized (lock) {
      while (millis < target) {
        lock.wait();
      }
    }
  }
}
