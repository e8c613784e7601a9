package io.sluice.api;

/** One key's state, as {@code mapWithState}'s function sees it during one call. */
public interface State<S> {
  boolean exists();

  /** The state; throws when there is none. */
  S get();

  /** Sets the state; not allowed while the state is timing out. */
  void update(S state);

  /** Removes the state. */
  void remove();

  /** Whether this call is the last one for an idle key, whose state is then removed. */
  boolean isTimingOut();
}
