package io.sluice.runtime;

import io.sluice.api.Functions.ReduceFunction;
import io.sluice.api.Reducers;

/**
 * A map task's values per key, each record combined into its key's value as it arrives. With ten
 * or more records per key this lookup is most of a map task, so the table is built for it: open
 * addressing with linear probing, and per slot one run of four longs holding the key's hash, a
 * short {@code String} key's characters when they are all Latin-1 (packed, 8 to a long), and a
 * {@code Long} value unboxed. A word count's lookup then reads those longs and nothing else, where
 * a {@code HashMap} follows a node, the key, its bytes and the boxed count, each far from the last
 * in a large heap, and allocates a new {@code Long} per record; with {@link Reducers#longSum()} as
 * the combiner the count is added in place, with neither a call nor a box. Other keys are compared by {@code
 * equals}, other values kept as objects. Keys and values may be null. Confined to the task's thread.
 */
final class CombiningTable {
  private static final int INITIAL_CAPACITY = 64;
  private static final int LONGS_PER_SLOT = 4;
  /** Strings of up to this many characters are held packed in a slot and compared there. */
  private static final int PACKED_CHARS = 16;
  /**
   * Low bits of a slot's first long, under the hash: the length plus one of a packed {@code String}
   * key (0: a key compared by {@code equals}), and whether the value is the slot's last long.
   */
  private static final long PACKED_LENGTH_MASK = 0x1F;
  private static final long LONG_VALUE = 0x20;
  /** Where a null key is kept: an empty slot is a 0 in {@link #slots}. */
  private static final Object NULL_KEY = new Object();

  private final ReduceFunction<Object> combiner;
  private final boolean sumsLongs;
  /** Per slot: hash (high 32 bits, never 0) and flags, 0 for an empty slot; packed key; long value. */
  private long[] slots = new long[INITIAL_CAPACITY * LONGS_PER_SLOT];
  private Object[] keys = new Object[INITIAL_CAPACITY];
  /** The values that are not held in {@link #slots}. */
  private Object[] values = new Object[INITIAL_CAPACITY];
  private int size;

  CombiningTable(ReduceFunction<Object> combiner) {
    this.combiner = combiner;
    this.sumsLongs = combiner == (Object) Reducers.longSum();
  }

  /** Combines {@code value} into the value of {@code key}, or makes it the value of a new key. */
  void add(Object key, Object value) throws Exception {
    if (key instanceof String s && s.length() <= PACKED_CHARS) {
      int length = s.length();
      int hash = 0;
      long first = 0;
      long second = 0;
      int allChars = 0;
      for (int c = 0; c < length; c++) {
        char ch = s.charAt(c);
        allChars |= ch;
        hash = 31 * hash + ch;
        if (c < 8) {
          first |= (long) (ch & 0xFF) << (c << 3);
        } else {
          second |= (long) (ch & 0xFF) << ((c - 8) << 3);
        }
      }
      if (allChars <= 0xFF) {
        addPacked(s, meta(hash) | (length + 1), first, second, value);
        return;
      }
    }
    addByEquals(key == null ? NULL_KEY : key, value);
  }

  private void addPacked(String key, long meta, long first, long second, Object value) throws Exception {
    int mask = keys.length - 1;
    for (int i = (int) (meta >>> 32) & mask; ; i = (i + 1) & mask) {
      int at = i * LONGS_PER_SLOT;
      long m = slots[at];
      if (m == 0) {
        slots[at + 1] = first;
        slots[at + 2] = second;
        insert(i, meta, key, value);
        return;
      }
      if ((m & ~LONG_VALUE) == meta && slots[at + 1] == first && slots[at + 2] == second) {
        combineAt(i, value);
        return;
      }
    }
  }

  private void addByEquals(Object key, Object value) throws Exception {
    long meta = meta(key.hashCode());
    int mask = keys.length - 1;
    for (int i = (int) (meta >>> 32) & mask; ; i = (i + 1) & mask) {
      long m = slots[i * LONGS_PER_SLOT];
      if (m == 0) {
        insert(i, meta, key, value);
        return;
      }
      if ((m & ~LONG_VALUE) == meta && (keys[i] == key || keys[i].equals(key))) {
        combineAt(i, value);
        return;
      }
    }
  }

  private void insert(int slot, long meta, Object key, Object value) {
    slots[slot * LONGS_PER_SLOT] = meta;
    keys[slot] = key;
    setValue(slot, value);
    // A table at most 2/3 full keeps linear probes short.
    if (++size * 3 > keys.length * 2) {
      grow();
    }
  }

  private void combineAt(int slot, Object value) throws Exception {
    int at = slot * LONGS_PER_SLOT;
    if (sumsLongs && (slots[at] & LONG_VALUE) != 0 && value instanceof Long l) {
      slots[at + 3] += l;
    } else {
      setValue(slot, combiner.apply(valueAt(slot), value));
    }
  }

  private Object valueAt(int slot) {
    int at = slot * LONGS_PER_SLOT;
    return (slots[at] & LONG_VALUE) != 0 ? (Object) slots[at + 3] : values[slot];
  }

  private void setValue(int slot, Object value) {
    int at = slot * LONGS_PER_SLOT;
    if (value instanceof Long l) {
      slots[at] |= LONG_VALUE;
      slots[at + 3] = l;
      values[slot] = null;
    } else {
      slots[at] &= ~LONG_VALUE;
      values[slot] = value;
    }
  }

  int size() {
    return size;
  }

  /** Receives the table's keys and values. */
  interface EntryVisitor {
    void visit(Object key, Object value) throws Exception;
  }

  /** Passes every key and its value to {@code visitor}, in no particular order. */
  void forEach(EntryVisitor visitor) throws Exception {
    for (int i = 0; i < keys.length; i++) {
      if (slots[i * LONGS_PER_SLOT] != 0) {
        visitor.visit(keys[i] == NULL_KEY ? null : keys[i], valueAt(i));
      }
    }
  }

  private void grow() {
    long[] oldSlots = slots;
    Object[] oldKeys = keys;
    Object[] oldValues = values;
    slots = new long[oldSlots.length * 2];
    keys = new Object[oldKeys.length * 2];
    values = new Object[oldKeys.length * 2];
    int mask = keys.length - 1;
    for (int j = 0; j < oldKeys.length; j++) {
      long m = oldSlots[j * LONGS_PER_SLOT];
      if (m != 0) {
        int i = (int) (m >>> 32) & mask;
        while (slots[i * LONGS_PER_SLOT] != 0) {
          i = (i + 1) & mask;
        }
        System.arraycopy(oldSlots, j * LONGS_PER_SLOT, slots, i * LONGS_PER_SLOT, LONGS_PER_SLOT);
        keys[i] = oldKeys[j];
        values[i] = oldValues[j];
      }
    }
  }

  /**
   * A slot's first long for a key of this hash code: the hash, with its high bits mixed into the
   * low ones that pick the slot (as Murmur3's finalizer does), never 0, in the high 32 bits.
   */
  private static long meta(int hashCode) {
    int h = hashCode * 0x9E3779B9;
    h ^= h >>> 16;
    return (long) (h == 0 ? 1 : h) << 32;
  }
}
