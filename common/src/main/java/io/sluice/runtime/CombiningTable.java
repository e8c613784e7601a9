package io.sluice.runtime;

import io.sluice.api.Functions.ReduceFunction;
import io.sluice.api.Reducers;

/**
 * A map task's values per key, each record combined into its key's value as it arrives. With ten
 * or more records per key this lookup is most of a map task, so the table is built for it: open
 * addressing with linear probing over runs of two longs, a tag and a value. A {@code String} key
 * of up to eight ASCII characters is its tag: the characters packed 7 bits each, with its length,
 * so a word count's lookup compares one long and hashes that long, where a {@code HashMap} follows
 * a node, the key, its bytes and the boxed count, each far from the last in a large heap. A
 * {@code Long} value is kept unboxed in the run; with {@link Reducers#longSum()} as the combiner
 * it is added in place, with neither a call nor a box. Other keys are tagged with their hash code
 * and compared by {@code equals}, other values kept as objects. Keys and values may be null.
 * Confined to the task's thread.
 */
final class CombiningTable {
  private static final int INITIAL_CAPACITY = 64;
  /** Strings of up to this many ASCII characters are their own tag. */
  static final int PACKED_CHARS = 8;
  /** In a tag: the value is the run's second long. */
  private static final long LONG_VALUE = 1L << 63;
  /** In a tag: the key is compared by {@code equals}; the low 32 bits are its hash code. */
  private static final long BY_EQUALS = 1L << 62;
  /** Where a packed key's length plus one goes in its tag, above its 56 bits of characters. */
  private static final int PACKED_LENGTH_SHIFT = 56;
  /** Where a null key is kept. */
  private static final Object NULL_KEY = new Object();

  private final ReduceFunction<Object> combiner;
  private final boolean sumsLongs;
  /** Per slot: the tag (0 for an empty slot) and the long value. */
  private long[] slots = new long[INITIAL_CAPACITY * 2];
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
    long tag = packedTag(key);
    if (tag != 0) {
      addPacked((String) key, tag, value);
    } else {
      addByEquals(key == null ? NULL_KEY : key, value);
    }
  }

  /**
   * The tag of a {@code String} of up to eight ASCII characters: its characters 7 bits each and its
   * length plus one above them, so it is never 0 and uses none of the top four bits. 0 for any other key.
   */
  static long packedTag(Object key) {
    if (!(key instanceof String s) || s.length() > PACKED_CHARS) {
      return 0;
    }
    int length = s.length();
    long tag = (long) (length + 1) << PACKED_LENGTH_SHIFT;
    int allChars = 0;
    for (int c = 0; c < length; c++) {
      char ch = s.charAt(c);
      allChars |= ch;
      tag |= (long) ch << (7 * c);
    }
    return allChars <= 0x7F ? tag : 0;
  }

  /**
   * Writes the ASCII characters of the key whose {@link #packedTag} is {@code tag} at the start of
   * {@code chars}, which has room for {@link #PACKED_CHARS}; returns how many.
   */
  static int unpackInto(long tag, byte[] chars) {
    int length = (int) (tag >>> PACKED_LENGTH_SHIFT & 0xF) - 1;
    for (int c = 0; c < length; c++) {
      chars[c] = (byte) (tag >>> (7 * c) & 0x7F);
    }
    return length;
  }

  private void addPacked(String key, long tag, Object value) throws Exception {
    int mask = keys.length - 1;
    for (int i = slotOf(tag) & mask; ; i = (i + 1) & mask) {
      long t = slots[2 * i];
      if ((t & ~LONG_VALUE) == tag) {
        combineAt(i, value);
        return;
      }
      if (t == 0) {
        insert(i, tag, key, value);
        return;
      }
    }
  }

  private void addByEquals(Object key, Object value) throws Exception {
    long tag = BY_EQUALS | (key.hashCode() & 0xFFFF_FFFFL);
    int mask = keys.length - 1;
    for (int i = slotOf(tag) & mask; ; i = (i + 1) & mask) {
      long t = slots[2 * i];
      if ((t & ~LONG_VALUE) == tag && (keys[i] == key || keys[i].equals(key))) {
        combineAt(i, value);
        return;
      }
      if (t == 0) {
        insert(i, tag, key, value);
        return;
      }
    }
  }

  private void insert(int slot, long tag, Object key, Object value) {
    slots[2 * slot] = tag;
    keys[slot] = key;
    setValue(slot, value);
    // A table at most 2/3 full keeps linear probes short.
    if (++size * 3 > keys.length * 2) {
      grow();
    }
  }

  private void combineAt(int slot, Object value) throws Exception {
    if (sumsLongs && (slots[2 * slot] & LONG_VALUE) != 0 && value instanceof Long l) {
      slots[2 * slot + 1] += l;
    } else {
      setValue(slot, combiner.apply(valueAt(slot), value));
    }
  }

  private Object valueAt(int slot) {
    return (slots[2 * slot] & LONG_VALUE) != 0 ? (Object) slots[2 * slot + 1] : values[slot];
  }

  private void setValue(int slot, Object value) {
    if (value instanceof Long l) {
      slots[2 * slot] |= LONG_VALUE;
      slots[2 * slot + 1] = l;
      values[slot] = null;
    } else {
      slots[2 * slot] &= ~LONG_VALUE;
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
      if (slots[2 * i] != 0) {
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
      long t = oldSlots[2 * j];
      if (t != 0) {
        int i = slotOf(t & ~LONG_VALUE) & mask;
        while (slots[2 * i] != 0) {
          i = (i + 1) & mask;
        }
        slots[2 * i] = t;
        slots[2 * i + 1] = oldSlots[2 * j + 1];
        keys[i] = oldKeys[j];
        values[i] = oldValues[j];
      }
    }
  }

  /** A tag's slot before masking: the high bits of the tag times the golden ratio (Fibonacci hashing). */
  private static int slotOf(long tag) {
    return (int) ((tag * 0x9E3779B97F4A7C15L) >>> 32);
  }
}
