package io.sluice.api;

/**
 * A read-only value shared by the operators in each JVM (the driver and every executor), created
 * on first use by the factory given to {@link StreamingContext#broadcast}. Nothing is serialized:
 * each JVM, including a restarted AM and its new executors, builds the value again itself, which
 * is what Spark's checkpoint guide asks users of broadcast variables to arrange by hand.
 */
public interface Broadcast<T> {
  String name();

  /** The value, created by this JVM's first call. */
  T value();
}
