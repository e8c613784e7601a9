package io.sluice.runtime;

import io.sluice.api.Reducers;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A map task's sums per key when it sees too many distinct keys for one table in the CPU's cache,
 * as a word count over a million words does: each record is first appended to one of 64 buckets
 * by its key's hash, then each bucket is summed in a table of its own share of the keys, which
 * fits in the core's cache (radix-partitioned aggregation). A lookup in one table of a million
 * keys misses the cache every time; appending to a bucket and then summing in a small table does
 * not, so five records per key cost little more than writing them to the shuffle would, and the
 * shuffle, and the state lookups behind it, carry one record per key instead of five.
 *
 * <p>It takes keys that {@link CombiningTable#packedTag pack} into a long and {@code Long}
 * values, and sums them as {@link Reducers#longSum()} does (wrapping on overflow). A record is
 * appended as its tag alone when its value is 1, else as its tag marked {@link #VALUE_FOLLOWS}
 * and the value. The buckets are arrays from {@link ShuffleBuffers}, given back as each bucket is
 * summed. Confined to the task's thread.
 */
final class BucketedSums {
  private static final int BUCKET_BITS = 6;
  /** In a bucket: the value is the next long; without it, the value is 1. Packed tags never set it. */
  private static final long VALUE_FOLLOWS = 1L << 63;
  private static final long GOLDEN = 0x9E3779B97F4A7C15L;
  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.nativeOrder());

  private final ShuffleBuffers buffers;
  private final PooledChunks[] buckets = new PooledChunks[1 << BUCKET_BITS];
  /** One bucket's sums while it is summed: per slot its tag (0 for an empty slot) and its sum. */
  private long[] table = new long[2 * 1024];
  private long recordsTaken;
  private long keysSummed;

  BucketedSums(ShuffleBuffers buffers) {
    this.buffers = buffers;
    for (int b = 0; b < buckets.length; b++) {
      buckets[b] = new PooledChunks(buffers);
    }
  }

  /** Takes the record if its key packs and its value is a {@code Long}; if not, the caller keeps it. */
  boolean add(Object key, Object value) {
    if (!(value instanceof Long sum)) {
      return false;
    }
    long tag = CombiningTable.packedTag(key);
    if (tag == 0) {
      return false;
    }
    recordsTaken++;
    PooledChunks bucket = buckets[(int) ((tag * GOLDEN) >>> (64 - BUCKET_BITS))];
    if (sum == 1) {
      append(bucket, tag);
    } else {
      append(bucket, tag | VALUE_FOLLOWS, sum);
    }
    return true;
  }

  /** Receives each key, as its {@link CombiningTable#packedTag packed tag}, and its sum. */
  interface SumVisitor {
    void visit(long packedTag, long sum) throws Exception;
  }

  /**
   * Passes every key taken and its sum to {@code visitor}, a bucket at a time, each bucket's
   * arrays given back before its sums are passed on, so the visitor can take them again.
   */
  void drain(SumVisitor visitor) throws Exception {
    for (PooledChunks bucket : buckets) {
      int size = 0;
      Arrays.fill(table, 0L);
      for (ShuffleChunk chunk : bucket.finish()) {
        byte[] bytes = chunk.bytes();
        for (int i = 0; i < chunk.length(); i += 8) {
          long tag = (long) LONGS.get(bytes, i);
          long value = 1;
          if (tag < 0) {
            tag &= ~VALUE_FOLLOWS;
            i += 8;
            value = (long) LONGS.get(bytes, i);
          }
          if (addToTable(tag, value) && ++size * 3 > table.length) {
            // More than 2/3 of the slots (table.length / 2 of them) hold a key: double them.
            growTable();
          }
        }
        buffers.give(bytes);
      }
      keysSummed += size;
      for (int i = 0; i < table.length; i += 2) {
        if (table[i] != 0) {
          visitor.visit(table[i], table[i + 1]);
        }
      }
    }
  }

  /** The records {@link #add} took. */
  long recordsTaken() {
    return recordsTaken;
  }

  /** The distinct keys among them, once {@link #drain drained}. */
  long keysSummed() {
    return keysSummed;
  }

  /** Adds {@code value} to the sum of {@code tag}; true if the tag was new. */
  private boolean addToTable(long tag, long value) {
    int mask = table.length / 2 - 1;
    for (int i = slotOf(tag, mask); ; i = (i + 1) & mask) {
      long t = table[2 * i];
      if (t == tag) {
        table[2 * i + 1] += value;
        return false;
      }
      if (t == 0) {
        table[2 * i] = tag;
        table[2 * i + 1] = value;
        return true;
      }
    }
  }

  private void growTable() {
    long[] old = table;
    table = new long[old.length * 2];
    int mask = table.length / 2 - 1;
    for (int j = 0; j < old.length; j += 2) {
      if (old[j] != 0) {
        int i = slotOf(old[j], mask);
        while (table[2 * i] != 0) {
          i = (i + 1) & mask;
        }
        table[2 * i] = old[j];
        table[2 * i + 1] = old[j + 1];
      }
    }
  }

  /**
   * A tag's slot: the high bits of its Fibonacci hash after the bucket's own, which every tag in a
   * bucket shares.
   */
  private static int slotOf(long tag, int mask) {
    return (int) (((tag * GOLDEN) << BUCKET_BITS) >>> 32) & mask;
  }

  /** Appends a record of a value of 1: its tag alone. */
  private static void append(PooledChunks bucket, long tag) {
    byte[] chunk = bucket.room(8);
    LONGS.set(chunk, bucket.used(), tag);
    bucket.wrote(bucket.used() + 8);
  }

  /** Appends a record of another value: its tag, marked {@link #VALUE_FOLLOWS}, and the value. */
  private static void append(PooledChunks bucket, long markedTag, long value) {
    byte[] chunk = bucket.room(16);
    LONGS.set(chunk, bucket.used(), markedTag);
    LONGS.set(chunk, bucket.used() + 8, value);
    bucket.wrote(bucket.used() + 16);
  }
}
