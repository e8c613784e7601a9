package io.sluice.runtime;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The byte arrays that hold shuffle blocks, reused from batch to batch. A block lives from its map
 * task until the driver releases its batch, through several young collections: allocated anew
 * each batch, the blocks were copied into the old generation and died there, and the old
 * generation filled with them every few batches (at a million keys a full collection took 0.3 to
 * 0.5 s, most of the time the collector spent). Reused, they are copied into the old generation
 * once and stay. Arrays come in a few sizes, from {@link #SMALLEST} to {@link #LARGEST} bytes;
 * larger ones are allocated for the record that needs them and never kept. At most {@code
 * maxIdleBytes} of idle arrays are kept. Thread-safe.
 */
public final class ShuffleBuffers {
  static final int SMALLEST = 1 << 16;
  static final int LARGEST = 1 << 20;
  private static final int SIZES = Integer.numberOfTrailingZeros(LARGEST) - Integer.numberOfTrailingZeros(SMALLEST) + 1;

  private final long maxIdleBytes;
  /** Idle arrays per size, smallest first. */
  private final Deque<byte[]>[] idle;
  private long idleBytes;

  @SuppressWarnings("unchecked")
  public ShuffleBuffers(long maxIdleBytes) {
    this.maxIdleBytes = maxIdleBytes;
    this.idle = new Deque[SIZES];
    for (int i = 0; i < SIZES; i++) {
      idle[i] = new ArrayDeque<>();
    }
  }

  /** Buffers that keep at most an eighth of the heap idle. */
  public static ShuffleBuffers forThisJvm() {
    return new ShuffleBuffers(Runtime.getRuntime().maxMemory() / 8);
  }

  /** An array of at least {@code size} bytes (and of {@link #SMALLEST} at least), with any content. */
  public byte[] take(int size) {
    if (size > LARGEST) {
      return new byte[size];
    }
    int sizeIndex = sizeIndex(size);
    synchronized (this) {
      byte[] reused = idle[sizeIndex].pollFirst();
      if (reused != null) {
        idleBytes -= reused.length;
        return reused;
      }
    }
    return new byte[SMALLEST << sizeIndex];
  }

  /** Takes back an array from {@link #take} that nothing reads or writes any more. */
  public void give(byte[] array) {
    if (array.length > LARGEST || array.length < SMALLEST || Integer.bitCount(array.length) != 1) {
      return;
    }
    synchronized (this) {
      if (idleBytes + array.length <= maxIdleBytes) {
        idle[sizeIndex(array.length)].addFirst(array);
        idleBytes += array.length;
      }
    }
  }

  synchronized long idleBytes() {
    return idleBytes;
  }

  private static int sizeIndex(int size) {
    int rounded = Math.max(SMALLEST, Integer.highestOneBit(Math.max(1, size - 1)) << 1);
    return Integer.numberOfTrailingZeros(rounded) - Integer.numberOfTrailingZeros(SMALLEST);
  }
}
