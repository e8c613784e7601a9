package io.sluice.state;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * The state of one partition of a stateful operator, keyed by the key's encoded bytes, with what
 * changed since the last snapshot so snapshots can be incremental. Confined to the task that
 * updates it (one task per partition and batch).
 *
 * <p>The entries live in an open-addressing table (linear probing, backward-shift deletion). Each
 * slot keeps, in one array of longs, the key's hash and length and, for keys of up to 16 bytes,
 * the key itself: a lookup of a short key reads that array and nothing else, where a {@code
 * HashMap<ByteBuffer, ...>} would follow a node, a buffer and its array for each probe. At a million
 * keys nearly every one of those reads misses the CPU caches, so this is what a batch's update
 * costs. While an update groups the batch's records, each slot also holds the key's values so far
 * ({@link #pendingAt}), so the entry itself is first read when the update function runs.
 *
 * <p>Each entry records the snapshot generation in which it was last written, so the keys a delta
 * must hold are found by one scan at snapshot time instead of a set kept up to date on every put;
 * removed keys, which are rare, are kept in a set.
 *
 * <p>The last batch's update can be undone until the next one begins, even after a snapshot of it:
 * a driver that died after its executors applied a batch but before the batch completed leaves
 * the state one batch ahead, and the next attempt rolls it back in O(keys in that batch) instead
 * of restoring the partition and replaying every batch since the last recorded snapshot. A
 * snapshot of a batch that never completed was never recorded, so rolling back past it also
 * returns what the next delta must hold to before it.
 */
public final class PartitionState {
  /** A table at most this full (2/3) keeps linear probes short. */
  private static final int LOAD_NUMERATOR = 2;
  private static final int LOAD_DENOMINATOR = 3;
  private static final int INITIAL_CAPACITY = 16;

  /**
   * A key, encoded and as decoded, its state, and the snapshot generation in which it was written.
   * Updated in place: a state rewritten every batch then leaves no dead entry behind in the old
   * generation. A {@code Long} state, the commonest (counts, sums), is held unboxed: a new {@code
   * Long} per key and batch, referenced from an entry in the old generation, was what the young
   * collections of a large state spent their time copying, and later what filled the old generation.
   */
  public static final class Entry {
    private final byte[] encodedKey;
    private final int hash;
    private final Object key;
    /** The state, or {@link #UNBOXED_LONG} when it is the {@code Long} in {@link #longState}. */
    private Object state;
    private long longState;
    private int writtenIn;

    Entry(byte[] encodedKey, int hash, Object key, Object state, int writtenIn) {
      this.encodedKey = encodedKey;
      this.hash = hash;
      this.key = key;
      this.writtenIn = writtenIn;
      setState(state);
    }

    public Object key() {
      return key;
    }

    /** The key's bytes as the shuffle and the snapshots carry them; not to be modified. */
    public byte[] encodedKey() {
      return encodedKey;
    }

    public Object state() {
      return state == UNBOXED_LONG ? Long.valueOf(longState) : state;
    }

    /** Whether the state is a {@code Long}, then read without boxing by {@link #longState()}. */
    public boolean hasLongState() {
      return state == UNBOXED_LONG;
    }

    public long longState() {
      return longState;
    }

    int writtenIn() {
      return writtenIn;
    }

    private void setState(Object newState) {
      if (newState instanceof Long l) {
        // Only a reference store marks the entry's card, which every young collection then scans:
        // at K = 1M, storing the same marker each batch made them 6-20 ms instead of 1-4.
        if (state != UNBOXED_LONG) {
          state = UNBOXED_LONG;
        }
        longState = l;
      } else {
        state = newState;
      }
    }
  }

  /** The state of an entry whose state is a {@code Long} held unboxed. */
  private static final Object UNBOXED_LONG = new Object();

  private enum Change { INSERTED, REPLACED, REMOVED }

  /**
   * The changes of one update, oldest first: what each did to an entry, and the entry's state (as
   * the entry holds it) and generation before. Kept in arrays reused from update to update, so that
   * a batch that rewrites every key allocates nothing per key for its undo.
   */
  private static final class UndoLog {
    private Change[] changes = new Change[64];
    private Entry[] entries = new Entry[64];
    private Object[] states = new Object[64];
    private long[] longStates = new long[64];
    private int[] writtenIns = new int[64];
    private int size;

    void add(Change change, Entry entry) {
      if (size == changes.length) {
        int capacity = size * 2;
        changes = Arrays.copyOf(changes, capacity);
        entries = Arrays.copyOf(entries, capacity);
        states = Arrays.copyOf(states, capacity);
        longStates = Arrays.copyOf(longStates, capacity);
        writtenIns = Arrays.copyOf(writtenIns, capacity);
      }
      changes[size] = change;
      entries[size] = entry;
      states[size] = entry.state;
      longStates[size] = entry.longState;
      writtenIns[size] = entry.writtenIn;
      size++;
    }

    /** Forgets the changes, and lets go of the entries and states they held. */
    void clear() {
      Arrays.fill(entries, 0, size, null);
      Arrays.fill(states, 0, size, null);
      size = 0;
    }
  }

  /** Keys of up to this many bytes are kept in {@link #slots} and compared there. */
  private static final int INLINE_KEY_BYTES = 16;
  private static final int LONGS_PER_SLOT = 3;

  /**
   * Per slot: the key's hash (high 32 bits, never 0) and length (low 32 bits), 0 where the slot is
   * empty; then the key's first 8 and next 8 bytes, little-endian, when it is short enough.
   */
  private long[] slots = new long[INITIAL_CAPACITY * LONGS_PER_SLOT];
  private Entry[] table = new Entry[INITIAL_CAPACITY];
  /** The batch's values per slot while an update groups them; null elsewhere. */
  private Object[] pending = new Object[INITIAL_CAPACITY];
  private int size;
  private Set<ByteBuffer> removed = new HashSet<>();
  private int generation;
  /** The removed keys from before a snapshot of the undoable update; null when none was taken since. */
  private Set<ByteBuffer> removedBeforeSnapshot;
  /** The batch of the last snapshot, which a delta follows; -1 when a delta cannot follow anything. */
  private long snapshotMs = -1;
  /** {@link #snapshotMs} from before a snapshot of the undoable update. */
  private long snapshotMsBeforeSnapshot;
  private long versionMs;
  private final UndoLog undo = new UndoLog();
  /** Whether the last update can be undone (it was not rolled back, nor followed by a second snapshot). */
  private boolean undoable;
  private long undoToMs;
  /** Scratch for {@link #slotsOf(byte[][], int[], int[], int, int[])}. */
  private int[] hashes = new int[0];
  /** What the cache-warming reads summed to: stored so that they are not optimized away, never used. */
  @SuppressWarnings("unused")
  private long warmed;

  /** The batch whose update this state holds; 0 for the empty state. */
  public long versionMs() {
    return versionMs;
  }

  public void setVersionMs(long versionMs) {
    this.versionMs = versionMs;
  }

  /** The batch of the snapshot that a delta taken now would follow; -1 when only a full snapshot would do. */
  public long snapshotMs() {
    return snapshotMs;
  }

  public Entry get(ByteBuffer key) {
    byte[] bytes = bytesOf(key);
    int slot = slotOf(bytes, 0, bytes.length);
    return slot >= 0 ? table[slot] : null;
  }

  /**
   * The slot of the key in {@code bytes[offset, offset + length)}, or -1 when the partition does
   * not hold it. A slot stays valid until the next put, remove or rollback.
   */
  public int slotOf(byte[] bytes, int offset, int length) {
    int slot = probe(bytes, offset, length, hash(bytes, offset, length));
    return slot >= 0 ? slot : -1;
  }

  /**
   * Looks up {@code count} keys at once, the i-th in {@code bytes[i]} from {@code offsets[i]} for
   * {@code lengths[i]} bytes, and writes its slot, or -1, to {@code found[i]}. Past the CPU caches
   * each lookup waits on memory: reading every key's first slot before probing any lets those waits
   * overlap instead of following one another.
   */
  public void slotsOf(byte[][] bytes, int[] offsets, int[] lengths, int count, int[] found) {
    if (hashes.length < count) {
      hashes = new int[count];
    }
    for (int i = 0; i < count; i++) {
      hashes[i] = hash(bytes[i], offsets[i], lengths[i]);
    }
    int mask = table.length - 1;
    long touched = 0;
    for (int i = 0; i < count; i++) {
      int home = hashes[i] & mask;
      touched += slots[home * LONGS_PER_SLOT] + (pending[home] == null ? 0 : 1);
    }
    warmed = touched;
    for (int i = 0; i < count; i++) {
      int slot = probe(bytes[i], offsets[i], lengths[i], hashes[i]);
      found[i] = slot >= 0 ? slot : -1;
    }
  }

  /**
   * Reads the entries in {@code slots[from, to)}, for the same reason as {@link #slotsOf}: a caller
   * about to use each of them in turn then waits on memory once for all of them.
   */
  public void warmEntries(int[] slots, int from, int to) {
    long touched = 0;
    for (int i = from; i < to; i++) {
      touched += warmth(table[slots[i]]);
    }
    warmed = touched;
  }

  public Entry entryAt(int slot) {
    return table[slot];
  }

  /**
   * What an update has grouped so far for the key in {@code slot} (null: nothing); the update
   * sets it back to null for every slot it used before it puts or removes anything.
   */
  public Object pendingAt(int slot) {
    return pending[slot];
  }

  public void setPendingAt(int slot, Object values) {
    pending[slot] = values;
  }

  /** Starts the update of a batch: its changes can be undone by {@link #rollBack()} until the next update. */
  public void beginUpdate() {
    undo.clear();
    removedBeforeSnapshot = null;
    undoable = true;
    undoToMs = versionMs;
  }

  /** The batch {@link #rollBack()} returns to, or -1 when the last update cannot be undone. */
  public long undoableToMs() {
    return undoable ? undoToMs : -1;
  }

  /** Undoes the last update: the entries, and what the next delta must hold, are as if it never ran. */
  public void rollBack() {
    if (!undoable) {
      throw new IllegalStateException("the update to batch " + versionMs + " cannot be undone");
    }
    if (removedBeforeSnapshot != null) {
      generation--;
      removed = removedBeforeSnapshot;
      removedBeforeSnapshot = null;
      snapshotMs = snapshotMsBeforeSnapshot;
    }
    for (int i = undo.size - 1; i >= 0; i--) {
      Entry e = undo.entries[i];
      switch (undo.changes[i]) {
        case INSERTED -> {
          deleteAt(probe(e.encodedKey, 0, e.encodedKey.length, e.hash));
          // Harmless if the last snapshot never had the key; needed if an earlier batch removed it.
          removed.add(ByteBuffer.wrap(e.encodedKey));
        }
        case REPLACED -> {
          e.state = undo.states[i];
          e.longState = undo.longStates[i];
          e.writtenIn = undo.writtenIns[i];
        }
        case REMOVED -> {
          insertAt(probe(e.encodedKey, 0, e.encodedKey.length, e.hash), e);
          removed.remove(ByteBuffer.wrap(e.encodedKey));
        }
      }
    }
    versionMs = undoToMs;
    undo.clear();
    undoable = false;
  }

  public void put(ByteBuffer key, Object decodedKey, Object state) {
    byte[] bytes = bytesOf(key);
    int hash = hash(bytes, 0, bytes.length);
    int slot = probe(bytes, 0, bytes.length, hash);
    if (slot >= 0) {
      replace(table[slot], state);
      return;
    }
    Entry e = new Entry(bytes, hash, decodedKey, state, generation);
    insertAt(slot, e);
    if (undoable) {
      undo.add(Change.INSERTED, e);
    }
    if (!removed.isEmpty()) {
      removed.remove(key);
    }
  }

  /** Sets the state of {@code existing}, an entry of this partition, without looking it up. */
  public void replace(Entry existing, Object state) {
    if (undoable) {
      undo.add(Change.REPLACED, existing);
    }
    existing.setState(state);
    existing.writtenIn = generation;
  }

  public void remove(ByteBuffer key) {
    byte[] bytes = bytesOf(key);
    int slot = slotOf(bytes, 0, bytes.length);
    if (slot >= 0) {
      removeAt(slot);
    }
  }

  /** Removes {@code entry}, an entry of this partition, found by the key and hash it holds. */
  public void remove(Entry entry) {
    removeAt(probe(entry.encodedKey, 0, entry.encodedKey.length, entry.hash));
  }

  private void removeAt(int slot) {
    Entry before = table[slot];
    deleteAt(slot);
    if (undoable) {
      undo.add(Change.REMOVED, before);
    }
    removed.add(ByteBuffer.wrap(before.encodedKey));
  }

  /** How many slots {@link #entries()} reads ahead, warming their entries, before it returns them. */
  private static final int SCAN_AHEAD = 64;

  /**
   * The entries, in no particular order; the partition must not change during the iteration.
   * Entries lie in the heap in no relation to their slots, so the iteration reads the entries of
   * the next {@link #SCAN_AHEAD} slots together, letting their cache misses overlap.
   */
  public Iterable<Entry> entries() {
    return () -> new Scan(false);
  }

  /** The entries written since the last snapshot, as {@link #entries()} iterates them: one scan per delta snapshot. */
  public Iterable<Entry> changedEntries() {
    return () -> new Scan(true);
  }

  /** Iterates the table's entries, or only those written in the current generation. */
  private final class Scan implements Iterator<Entry> {
    private final boolean changedOnly;
    private int warmedTo;
    private int next;

    Scan(boolean changedOnly) {
      this.changedOnly = changedOnly;
      this.next = advance(0);
    }

    private int advance(int from) {
      for (int i = from; i < table.length; i++) {
        if (i >= warmedTo) {
          warmedTo = Math.min(i + SCAN_AHEAD, table.length);
          warm(i, warmedTo);
        }
        Entry e = table[i];
        if (e != null && (!changedOnly || e.writtenIn == generation)) {
          return i;
        }
      }
      return table.length;
    }

    @Override
    public boolean hasNext() {
      return next < table.length;
    }

    @Override
    public Entry next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Entry e = table[next];
      next = advance(next + 1);
      return e;
    }
  }

  /** Reads the entries of slots [from, to), their keys and states; see {@link #slotsOf}. */
  private void warm(int from, int to) {
    long touched = 0;
    for (int i = from; i < to; i++) {
      Entry e = table[i];
      if (e != null) {
        touched += warmth(e);
      }
    }
    warmed = touched;
  }

  /**
   * A value that depends on the first bytes of the entry, its encoded key and its state. getClass()
   * reads an object's header without running any of its code.
   */
  private static long warmth(Entry e) {
    return e.encodedKey.length + e.longState + (e.state == null ? 0 : e.state.getClass().hashCode());
  }

  /** Whether {@code e}, an entry of this partition, was written since the last snapshot: a delta holds it. */
  public boolean changedSinceSnapshot(Entry e) {
    return e.writtenIn == generation;
  }

  public Set<ByteBuffer> removedKeys() {
    return removed;
  }

  /**
   * After a snapshot of the state at {@link #versionMs()}: later changes are relative to it. The
   * update before it stays undoable, with what the snapshot replaced kept for {@link #rollBack()},
   * until a second snapshot.
   */
  public void markSnapshotted() {
    if (undoable && removedBeforeSnapshot == null) {
      removedBeforeSnapshot = removed;
      snapshotMsBeforeSnapshot = snapshotMs;
    } else {
      undo.clear();
      undoable = false;
      removedBeforeSnapshot = null;
    }
    removed = new HashSet<>();
    generation++;
    snapshotMs = versionMs;
  }

  /** Empties the partition; its next snapshot must be a full one. */
  public void clear() {
    slots = new long[INITIAL_CAPACITY * LONGS_PER_SLOT];
    table = new Entry[INITIAL_CAPACITY];
    pending = new Object[INITIAL_CAPACITY];
    size = 0;
    undo.clear();
    undoable = false;
    markSnapshotted();
    versionMs = 0;
    snapshotMs = -1;
  }

  public int size() {
    return size;
  }

  /**
   * The slot holding the key in {@code bytes[offset, offset + length)}, or {@code -1 - slot} for the
   * empty slot where it would go.
   */
  private int probe(byte[] bytes, int offset, int length, int hash) {
    long meta = meta(hash, length);
    boolean inline = length <= INLINE_KEY_BYTES;
    long first = inline ? pack(bytes, offset, Math.min(length, 8)) : 0;
    long second = inline && length > 8 ? pack(bytes, offset + 8, length - 8) : 0;
    int mask = table.length - 1;
    for (int i = hash & mask; ; i = (i + 1) & mask) {
      int at = i * LONGS_PER_SLOT;
      long m = slots[at];
      if (m == 0) {
        return -1 - i;
      }
      if (m == meta && (inline ? slots[at + 1] == first && slots[at + 2] == second
          : Arrays.equals(table[i].encodedKey, 0, length, bytes, offset, offset + length))) {
        return i;
      }
    }
  }

  /** Puts {@code e} in the empty slot {@code -1 - missingSlot} that {@link #probe} returned. */
  private void insertAt(int missingSlot, Entry e) {
    if ((size + 1) * LOAD_DENOMINATOR > table.length * LOAD_NUMERATOR) {
      grow();
      missingSlot = probe(e.encodedKey, 0, e.encodedKey.length, e.hash);
    }
    place(-1 - missingSlot, e);
    size++;
  }

  private void place(int slot, Entry e) {
    int at = slot * LONGS_PER_SLOT;
    int length = e.encodedKey.length;
    slots[at] = meta(e.hash, length);
    if (length <= INLINE_KEY_BYTES) {
      slots[at + 1] = pack(e.encodedKey, 0, Math.min(length, 8));
      slots[at + 2] = length > 8 ? pack(e.encodedKey, 8, length - 8) : 0;
    }
    table[slot] = e;
  }

  private void grow() {
    Entry[] old = table;
    slots = new long[old.length * 2 * LONGS_PER_SLOT];
    table = new Entry[old.length * 2];
    pending = new Object[old.length * 2];
    int mask = table.length - 1;
    for (Entry e : old) {
      if (e != null) {
        int i = e.hash & mask;
        while (table[i] != null) {
          i = (i + 1) & mask;
        }
        place(i, e);
      }
    }
  }

  /** Empties {@code slot} and shifts back the entries after it that could not sit in their own slot. */
  private void deleteAt(int slot) {
    int mask = table.length - 1;
    int hole = slot;
    for (int i = (slot + 1) & mask; table[i] != null; i = (i + 1) & mask) {
      int home = table[i].hash & mask;
      // The entry at i may move to the hole if the hole lies between its own slot and i.
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        System.arraycopy(slots, i * LONGS_PER_SLOT, slots, hole * LONGS_PER_SLOT, LONGS_PER_SLOT);
        table[hole] = table[i];
        hole = i;
      }
    }
    Arrays.fill(slots, hole * LONGS_PER_SLOT, (hole + 1) * LONGS_PER_SLOT, 0L);
    table[hole] = null;
    size--;
  }

  private static long meta(int hash, int length) {
    return ((long) hash << 32) | (length & 0xffffffffL);
  }

  /** Up to 8 bytes as a little-endian long. */
  private static long pack(byte[] bytes, int offset, int count) {
    long packed = 0;
    for (int j = 0; j < count; j++) {
      packed |= (bytes[offset + j] & 0xffL) << (j << 3);
    }
    return packed;
  }

  /** A well-mixed, non-zero hash of the key's bytes (their partition is a hash of them too). */
  private static int hash(byte[] bytes, int offset, int length) {
    int h = 1;
    for (int i = offset; i < offset + length; i++) {
      h = 31 * h + bytes[i];
    }
    h ^= h >>> 16;
    h *= 0x85ebca6b;
    h ^= h >>> 13;
    h *= 0xc2b2ae35;
    h ^= h >>> 16;
    return h == 0 ? 1 : h;
  }

  private static byte[] bytesOf(ByteBuffer key) {
    if (key.hasArray() && key.arrayOffset() == 0 && key.position() == 0 && key.remaining() == key.array().length) {
      return key.array();
    }
    byte[] bytes = new byte[key.remaining()];
    key.duplicate().get(bytes);
    return bytes;
  }
}
