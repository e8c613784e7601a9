package io.sluice.runtime;

import java.util.List;

/**
 * The shuffle blocks a reduce task reads, in chunks. They stay valid until {@link #close()}, after
 * which their arrays may hold other blocks: nothing read from them may point into them then.
 */
public final class ShuffleInput implements AutoCloseable {
  private final List<ShuffleChunk> chunks;
  private final Runnable onClose;
  private boolean closed;

  public ShuffleInput(List<ShuffleChunk> chunks, Runnable onClose) {
    this.chunks = chunks;
    this.onClose = onClose;
  }

  public List<ShuffleChunk> chunks() {
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
