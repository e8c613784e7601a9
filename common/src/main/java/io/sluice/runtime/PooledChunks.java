package io.sluice.runtime;

import java.util.ArrayList;
import java.util.List;

/**
 * Bytes written one after the other into arrays from {@link ShuffleBuffers}, which grow from
 * {@link ShuffleBuffers#SMALLEST} to {@link ShuffleBuffers#LARGEST} bytes, so that a writer that
 * gets little data takes little memory. A writer asks for {@link #room} for what it writes next,
 * writes it at {@link #used()} and moves on with {@link #wrote}. Confined to one thread.
 */
final class PooledChunks {
  private final ShuffleBuffers buffers;
  private final List<ShuffleChunk> chunks = new ArrayList<>();
  private byte[] chunk;
  private int used;
  private int nextSize = ShuffleBuffers.SMALLEST;

  PooledChunks(ShuffleBuffers buffers) {
    this.buffers = buffers;
  }

  /** The array that has room for {@code bytes} more bytes from {@link #used()} on. */
  byte[] room(int bytes) {
    if (chunk == null || used + bytes > chunk.length) {
      seal();
      chunk = buffers.take(Math.max(nextSize, bytes));
      nextSize = Math.min(nextSize * 2, ShuffleBuffers.LARGEST);
    }
    return chunk;
  }

  /** Where the next bytes go in the array {@link #room} returned. */
  int used() {
    return used;
  }

  /** Records that the array {@link #room} returned now holds bytes up to {@code end}. */
  void wrote(int end) {
    used = end;
  }

  private void seal() {
    if (chunk != null) {
      chunks.add(new ShuffleChunk(chunk, used));
      chunk = null;
      used = 0;
    }
  }

  /** The chunks written so far, which it no longer holds: what comes next starts new ones. */
  List<ShuffleChunk> finish() {
    seal();
    List<ShuffleChunk> written = List.copyOf(chunks);
    chunks.clear();
    nextSize = ShuffleBuffers.SMALLEST;
    return written;
  }
}
