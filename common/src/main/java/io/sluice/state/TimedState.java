package io.sluice.state;

/**
 * A mapWithState entry with an idle timeout: the key's state and the batch that last updated it, as
 * an update puts it into a partition, a restore reads it from a snapshot, and a snapshot writes it.
 * A partition that {@linkplain PartitionState#keepStamps keeps stamps} holds it unpacked, the state
 * as any other (a {@code long} one in its row) and the batch in an array of longs, so that nothing of
 * it is an object of its own in the old generation. Immutable.
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

  @Override
  public boolean equals(Object o) {
    return o instanceof TimedState t && t.lastMs == lastMs && java.util.Objects.equals(t.state(), state());
  }

  @Override
  public int hashCode() {
    return Long.hashCode(lastMs) * 31 + java.util.Objects.hashCode(state());
  }

  @Override
  public String toString() {
    return state() + " (last updated at " + lastMs + ")";
  }

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
