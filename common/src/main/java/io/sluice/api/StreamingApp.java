package io.sluice.api;

/**
 * A streaming application: declares its sources, transformations and outputs.
 *
 * <p>The driver and every executor load the same jar and call {@link #build} on a fresh instance,
 * so each JVM holds the same operator graph and functions are never serialized. {@code build} must
 * therefore be deterministic: it may read {@link StreamingContext#config()}, but not the wall clock
 * or anything else that could change the graph between JVMs. The class needs a public no-argument
 * constructor.
 */
public interface StreamingApp {

  /** Declares the job's graph on {@code ctx}. */
  void build(StreamingContext ctx);
}
