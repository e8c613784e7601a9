package io.sluice.runtime;

/**
 * About how many distinct values were added, by linear counting (Whang et al.) of their hashes in
 * a bitmap of four to eight bits per value expected: within a fraction of a percent while at
 * most the expected number are added. Confined to one thread.
 */
final class LinearCounter {
  private final int bits;
  private final long[] bitmap;

  LinearCounter(long expectedValues) {
    bits = Integer.highestOneBit((int) Math.min(Math.max(expectedValues, 16), 1 << 26)) * 8;
    bitmap = new long[bits / Long.SIZE];
  }

  /** Adds a value by its hash, whose low bits must be as good as its others. */
  void add(int hash) {
    int bit = hash & (bits - 1);
    bitmap[bit >>> 6] |= 1L << bit;
  }

  /** The distinct values estimated among those added. */
  double estimate() {
    long set = 0;
    for (long word : bitmap) {
      set += Long.bitCount(word);
    }
    return -bits * Math.log1p(-(double) set / bits);
  }
}
