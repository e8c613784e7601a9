package io.sluice.state;

/**
 * A mapWithState entry with an idle timeout: the key's state and the batch that last updated it,
 * in one immutable object, a {@code long} state unboxed. The partition lives in the old generation
 * and a batch replaces the entry of each of its keys, so what an entry costs is promoted per key
 * and batch: a pair of boxed values was three objects, and at a million keys young collections of
 * 100-260 ms.
 */
public abstract sealed class TimedState permits TimedState.OfLong, TimedState.OfObject {
  private final long lastMs;

  private TimedState(long lastMs) {
    this.lastMs = lastMs;
  }

  public static TimedState of(long lastMs, Object state) {
    return state instanceof Long l ? new OfLong(lastMs, l) : new OfObject(lastMs, state);
  }

  /** The batch that last updated the key. */
  public long lastMs() {
    return lastMs;
  }

  /** The key's state, boxed if it is a {@code long}. */
  public abstract Object state();

  static final class OfLong extends TimedState {
    private final long state;

    private OfLong(long lastMs, long state) {
      super(lastMs);
      this.state = state;
    }

    @Override
    public Object state() {
      return state;
    }
  }

  static final class OfObject extends TimedState {
    private final Object state;

    private OfObject(long lastMs, Object state) {
      super(lastMs);
      this.state = state;
    }

    @Override
    public Object state() {
      return state;
    }
  }
}
