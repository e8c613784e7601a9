package io.sluice.runtime;

/**
 * The shuffle blocks a reduce task reads, in chunks, iterated once: chunks fetched from a peer may
 * still be arriving while the first ones are read. They stay valid until {@link #close()}, after
 * which their arrays may hold other blocks: nothing read from them may point into them then.
 */
public final class ShuffleInput implements AutoCloseable {
  private final Iterable<ShuffleChunk> chunks;
  private final Runnable onClose;
  private boolean closed;

  public ShuffleInput(Iterable<ShuffleChunk> chunks, Runnable onClose) {
    this.chunks = chunks;
    this.onClose = onClose;
  }

  public Iterable<ShuffleChunk> chunks() {
    return chunks;
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      onClose.run();
    }
  }
}
