package io.sluice.runtime;

/**
 * This driver has been superseded by one with a newer epoch (a new AM attempt): it must stop at
 * once and commit nothing more. Not a job error: the newer driver carries on.
 */
public final class FencedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  FencedException(long ownEpoch, long newerEpoch) {
    super("epoch " + ownEpoch + " is fenced off: a driver with epoch " + newerEpoch + " has taken over");
  }
}
