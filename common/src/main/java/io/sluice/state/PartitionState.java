package io.sluice.state;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The state of one partition of a stateful operator, keyed by the key's encoded bytes, with what
 * changed since the last snapshot so snapshots can be incremental. Confined to the task that
 * updates it (one task per partition and batch).
 *
 * <p>The entries live in an open-addressing table (linear probing, backward-shift deletion), in
 * arrays indexed by slot rather than in an object per entry. Each slot keeps, in one array of
 * longs, a meta word (the key's hash and length, whether the state is a {@code long}, and the
 * snapshot generation it was written in), the key itself when it is at most 16 bytes, and a {@code
 * long} state: for the commonest states (counts, sums) under short keys, a lookup and an update
 * read and write one row of that array and nothing else. At a million keys nearly every read of a
 * separate object missed the CPU caches, so that is what a batch's update, and a scan of the whole
 * partition, cost. The decoded keys, longer encoded keys and other states are in arrays of their own,
 * which a scan reads in order. While an update groups the batch's records, each slot also holds
 * the key's values so far ({@link #pendingAt}).
 *
 * <p>The generation in the meta word finds the keys a delta must hold in one scan at snapshot
 * time, instead of a set kept up to date on every put; removed keys, which are rare, are kept in a
 * set. It is kept modulo 2<sup>15</sup>, so a key written exactly a multiple of 32768 snapshots ago
 * counts as changed: a delta then holds it once more than needed, which is harmless.
 *
 * <p>The last batch's update can be undone until the next one begins, even after a snapshot of it:
 * a driver that died after its executors applied a batch but before the batch completed leaves
 * the state one batch ahead, and the next attempt rolls it back in O(keys in that batch) instead
 * of restoring the partition and replaying every batch since the last recorded snapshot. A
 * snapshot of a batch that never completed was never recorded, so rolling back past it also
 * returns what the next delta must hold to before it.
 *
 * <p>Slots are how callers address entries between calls: a slot stays valid until the next put,
 * remove or rollback, which may move entries. An update that groups a batch's records in the slots
 * of their keys gives the keys new to the partition entries {@linkplain #slotAddingKey awaiting their
 * first state}, rather than grouping them in a map of their own and putting them afterwards: at a
 * million new keys such a map cost a few cache misses per record, 3.4 s of a 4.2 s update.
 *
 * <p>A snapshot works on a {@link #copyForSnapshot copy} of the arrays, which a background thread
 * encodes while the task goes on changing the partition.
 *
 * <p>A partition of mapWithState with an idle timeout {@linkplain #keepStamps keeps stamps}: the
 * batch of each key's last update, in an array of longs beside the rows, which moves with them.
 */
public final class PartitionState {
  /** A table at most this full (2/3) keeps linear probes short. */
  private static final int LOAD_NUMERATOR = 2;
  private static final int LOAD_DENOMINATOR = 3;
  private static final int INITIAL_CAPACITY = 16;

  /**
   * Keys of up to this many bytes are kept in {@link #slots} and compared there, and only there: no
   * array of their own, which at a million keys was a million more objects for every young
   * collection to promote while the partition filled.
   */
  public static final int INLINE_KEY_BYTES = 16;
  /** Per slot in {@link #slots}: the meta word, the key's first and next 8 bytes, the {@code long} state. */
  private static final int LONGS_PER_SLOT = 4;
  private static final int KEY_LOW = 1;
  private static final int KEY_HIGH = 2;
  private static final int LONG_STATE = 3;

  // The meta word: the key's hash in bits 32-63 (never 0, so an occupied slot's word is never 0);
  // bit 31 set when the state is the slot's long; the generation written in, in bits 16-30; the
  // key's length, at most 0xffff, in bits 0-15.
  private static final long LONG_FLAG = 1L << 31;
  private static final int GENERATION_SHIFT = 16;
  private static final int GENERATION_BITS = 0x7fff;
  private static final long GENERATION_MASK = (long) GENERATION_BITS << GENERATION_SHIFT;
  private static final int LENGTH_BITS = 0xffff;
  /** The bits of the meta word that identify the key: its hash and length. */
  private static final long IDENTITY_MASK = ~(LONG_FLAG | GENERATION_MASK);

  private enum Change { INSERTED, REPLACED, REMOVED }

  /** The state of an entry that {@link #slotAddingKey} added and no state was set for yet. */
  private static final Object AWAITING_STATE = new Object();

  /** The stamp of an entry whose state was put as it is, not as a {@link TimedState}. */
  private static final long NO_STAMP = Long.MIN_VALUE;

  /**
   * The changes of one update, oldest first: what each did to an entry, and the entry's slot row
   * and state before. Kept in arrays reused from update to update, so that a batch that rewrites
   * every key allocates nothing per key for its undo. A replaced entry is found again by the key in
   * its row, or by its encoded key when that is too long to be in the row: recording a replacement
   * then reads nothing the update did not read already.
   */
  private static final class UndoLog {
    private Change[] changes = new Change[64];
    private long[] rows = new long[64 * LONGS_PER_SLOT];
    /** The encoded key, unless a replaced entry's row holds it. */
    private byte[][] encodedKeys = new byte[64][];
    /** The decoded key of a removed entry. */
    private Object[] keys = new Object[64];
    private Object[] states = new Object[64];
    /** The entry's stamp before, in a partition that keeps stamps. */
    private long[] stamps = new long[64];
    private int size;

    void add(Change change, long[] slots, int at, byte[] encodedKey, Object key, Object state, long stamp) {
      if (size == changes.length) {
        int capacity = size * 2;
        changes = Arrays.copyOf(changes, capacity);
        stamps = Arrays.copyOf(stamps, capacity);
        rows = Arrays.copyOf(rows, capacity * LONGS_PER_SLOT);
        encodedKeys = Arrays.copyOf(encodedKeys, capacity);
        keys = Arrays.copyOf(keys, capacity);
        states = Arrays.copyOf(states, capacity);
      }
      changes[size] = change;
      System.arraycopy(slots, at, rows, size * LONGS_PER_SLOT, LONGS_PER_SLOT);
      encodedKeys[size] = encodedKey;
      keys[size] = key;
      states[size] = state;
      stamps[size] = stamp;
      size++;
    }

    /** The encoded key of the i-th change's entry. */
    byte[] encodedKey(int i) {
      if (encodedKeys[i] != null) {
        return encodedKeys[i];
      }
      int at = i * LONGS_PER_SLOT;
      byte[] bytes = new byte[(int) rows[at] & LENGTH_BITS];
      unpackKey(rows, at, bytes);
      return bytes;
    }

    /** Forgets the changes, and lets go of the keys and states they held. */
    void clear() {
      Arrays.fill(encodedKeys, 0, size, null);
      Arrays.fill(keys, 0, size, null);
      Arrays.fill(states, 0, size, null);
      size = 0;
    }
  }

  private long[] slots = new long[INITIAL_CAPACITY * LONGS_PER_SLOT];
  private Object[] keys = new Object[INITIAL_CAPACITY];
  /** Per slot, the encoded key if it is longer than {@link #INLINE_KEY_BYTES}; null for a shorter one, which its row holds. */
  private byte[][] encodedKeys = new byte[INITIAL_CAPACITY][];
  /** The state per slot, or null where it is the slot's {@code long}. */
  private Object[] states = new Object[INITIAL_CAPACITY];
  /**
   * Per slot, once the partition {@linkplain #keepStamps keeps stamps}: the batch that last updated
   * the entry, from the {@link TimedState} put in it, whose state is then held as any other (a
   * {@code long} one in the row); {@link #NO_STAMP} for a state put as it is. Null otherwise. A timed
   * mapWithState entry as an object of its own was an object per key and batch stored into the
   * partition, in the old generation: young collections copied each, 74-97 ms per collection at a
   * million keys against 17-26 ms with the stamps here.
   */
  private long[] stamps;
  /** The batch's values per slot while an update groups them; null elsewhere. */
  private Object[] pending = new Object[INITIAL_CAPACITY];
  private int size;
  /** Whether an entry has held a state other than a {@code long} since the partition was last emptied. */
  private boolean holdsObjectStates;
  /**
   * Whether a key longer than {@link #INLINE_KEY_BYTES} was put since the partition was last emptied:
   * only then may {@link #encodedKeys} hold one.
   */
  private boolean holdsLongKeys;
  /** A copy whose snapshot was written, given back for the next snapshot to copy into; null when none. */
  private final AtomicReference<PartitionState> spareCopy = new AtomicReference<>();
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
  /**
   * mapWithState's keys by when they may have timed out, kept here for the operator, which builds it
   * when this is null: a rollback or a clear (and so a restore) changes entries behind its back, and
   * drops it.
   */
  private IdleKeys idleKeys;
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

  /** The index of keys by idle time that mapWithState keeps with its entries; null when there is none or it was dropped. */
  public IdleKeys idleKeys() {
    return idleKeys;
  }

  public void setIdleKeys(IdleKeys idleKeys) {
    this.idleKeys = idleKeys;
  }

  /** The snapshot generation: entries written in it are those a delta taken now holds. */
  int generation() {
    return generation;
  }

  /** The batch of the snapshot that a delta taken now would follow; -1 when only a full snapshot would do. */
  public long snapshotMs() {
    return snapshotMs;
  }

  /** The slot of {@code key}, or -1 when the partition does not hold it. */
  public int slotOf(ByteBuffer key) {
    byte[] bytes = bytesOf(key);
    return slotOf(bytes, 0, bytes.length);
  }

  /** The slot of the key in {@code bytes[offset, offset + length)}, or -1 when the partition does not hold it. */
  public int slotOf(byte[] bytes, int offset, int length) {
    int slot = probe(bytes, offset, length, keyHash(bytes, offset, length));
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
      hashes[i] = keyHash(bytes[i], offsets[i], lengths[i]);
    }
    long touched = 0;
    for (int i = 0; i < count; i++) {
      int home = homeSlot(hashes[i]);
      touched += rowWarmth(home) + (pending[home] == null ? 0 : 1);
    }
    warmed = touched;
    for (int i = 0; i < count; i++) {
      int slot = probe(bytes[i], offsets[i], lengths[i], hashes[i]);
      found[i] = slot >= 0 ? slot : -1;
    }
  }

  /**
   * Reads the rows and pending values of the slots in {@code used[from, to)}, and their decoded keys
   * when {@code keys}, for the same reason as {@link #slotsOf}: a caller about to update each of
   * them in turn then waits on memory once for all of them.
   */
  public void warmSlots(int[] used, int from, int to, boolean keys) {
    long touched = 0;
    for (int i = from; i < to; i++) {
      int slot = used[i];
      touched += rowWarmth(slot) + (pending[slot] == null ? 0 : 1) + (keys && this.keys[slot] == null ? 1 : 0);
    }
    warmed = touched;
  }

  /**
   * Reads the first and last long of a slot's row: an array's longs start 16 bytes into it, so
   * every other row of 32 bytes spans two cache lines.
   */
  private long rowWarmth(int slot) {
    int at = slot * LONGS_PER_SLOT;
    return slots[at] + slots[at + LONG_STATE];
  }

  /** The decoded key in {@code slot}. */
  public Object keyAt(int slot) {
    return keys[slot];
  }

  /**
   * The key's bytes as the shuffle and the snapshots carry them, not to be modified: a new array
   * for a key of at most {@link #INLINE_KEY_BYTES}, which the partition holds in its row only.
   */
  public byte[] encodedKeyAt(int slot) {
    if (encodedKeys[slot] != null) {
      return encodedKeys[slot];
    }
    return encodedKeyAt(slot, new byte[encodedKeyLengthAt(slot)]);
  }

  /**
   * The key's bytes as {@link #encodedKeyAt(int)} gives them, without allocating: the first {@link
   * #encodedKeyLengthAt} bytes of the array returned, which is {@code shortKey}, holding at least
   * {@link #INLINE_KEY_BYTES}, for a key that short. Not to be modified.
   */
  public byte[] encodedKeyAt(int slot, byte[] shortKey) {
    if (encodedKeys[slot] != null) {
      return encodedKeys[slot];
    }
    unpackKey(slots, slot * LONGS_PER_SLOT, shortKey);
    return shortKey;
  }

  /**
   * Whether the key in {@code slot} is held in its row, packed little-endian in {@link
   * #inlineKeyLowAt} and {@link #inlineKeyHighAt}: every key of at most {@link #INLINE_KEY_BYTES}.
   */
  public boolean hasInlineKeyAt(int slot) {
    return encodedKeys[slot] == null;
  }

  /** The first 8 bytes of an {@linkplain #hasInlineKeyAt inline key}, little-endian. */
  public long inlineKeyLowAt(int slot) {
    return slots[slot * LONGS_PER_SLOT + KEY_LOW];
  }

  /** Bytes 8 to 15 of an {@linkplain #hasInlineKeyAt inline key}, little-endian. */
  public long inlineKeyHighAt(int slot) {
    return slots[slot * LONGS_PER_SLOT + KEY_HIGH];
  }

  /** The length of the key's bytes in {@code slot}. */
  public int encodedKeyLengthAt(int slot) {
    return encodedKeys[slot] != null ? encodedKeys[slot].length : (int) slots[slot * LONGS_PER_SLOT] & LENGTH_BITS;
  }

  /**
   * The state in {@code slot}, boxed if the partition holds it as a {@code long}, and as a {@link
   * TimedState} if it was put as one.
   */
  public Object stateAt(int slot) {
    Object state = unstampedStateAt(slot);
    return stamps == null || stamps[slot] == NO_STAMP ? state : new TimedState(stamps[slot], state);
  }

  /** The state in {@code slot} without its stamp: of a {@link TimedState} put in it, its state. */
  public Object unstampedStateAt(int slot) {
    int at = slot * LONGS_PER_SLOT;
    return (slots[at] & LONG_FLAG) != 0 ? Long.valueOf(slots[at + LONG_STATE]) : states[slot];
  }

  /** The batch of the {@link TimedState} last put in {@code slot}, in a partition that {@linkplain #keepStamps keeps stamps}. */
  public long stampAt(int slot) {
    return stamps[slot];
  }

  /**
   * Keeps the {@link TimedState}s put from now on as their states and stamps, so that a {@code long}
   * state stays in its row. Called before the first entry is put, and again at no cost.
   */
  public void keepStamps() {
    if (stamps == null) {
      if (size > 0) {
        throw new IllegalStateException("a partition keeps stamps from its first entry on, and holds " + size);
      }
      stamps = new long[capacity()];
    }
  }

  /**
   * Whether the state in {@code slot} is a {@code Long}, put as it is, then read without boxing by
   * {@link #longStateAt}.
   */
  public boolean hasLongStateAt(int slot) {
    return (slots[slot * LONGS_PER_SLOT] & LONG_FLAG) != 0 && (stamps == null || stamps[slot] == NO_STAMP);
  }

  public long longStateAt(int slot) {
    return slots[slot * LONGS_PER_SLOT + LONG_STATE];
  }

  /** Whether the entry in {@code slot} was written since the last snapshot: a delta holds it. */
  public boolean changedSinceSnapshotAt(int slot) {
    return (slots[slot * LONGS_PER_SLOT] & GENERATION_MASK) == generationBits();
  }

  /**
   * The first occupied slot after {@code slot} (-1 to start), or -1 when there is none. Walks the
   * arrays in order, so a scan of the whole partition reads memory sequentially.
   */
  public int nextSlot(int slot) {
    int capacity = capacity();
    for (int i = slot + 1; i < capacity; i++) {
      if (slots[i * LONGS_PER_SLOT] != 0) {
        return i;
      }
    }
    return -1;
  }

  /** As {@link #nextSlot}, for the entries written since the last snapshot: one scan per delta snapshot. */
  public int nextChangedSlot(int slot) {
    int capacity = capacity();
    long written = generationBits();
    for (int i = slot + 1; i < capacity; i++) {
      long meta = slots[i * LONGS_PER_SLOT];
      if (meta != 0 && (meta & GENERATION_MASK) == written) {
        return i;
      }
    }
    return -1;
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

  /** Whether {@code keys} more entries fit without growing the table, which moves entries. */
  public boolean hasRoomFor(int keys) {
    return fits(size + (long) keys, capacity());
  }

  /** Grows the table now, if needed, so that {@code keys} more entries fit. Moves entries when it grows. */
  public void reserve(int keys) {
    int capacity = capacity();
    while (!fits(size + (long) keys, capacity)) {
      capacity *= 2;
    }
    if (capacity != capacity()) {
      resize(capacity);
    }
  }

  /**
   * The slot of the key in {@code bytes[offset, offset + length)}, adding an entry for it that
   * awaits its first state ({@link #awaitsStateAt}) if the partition does not hold it. The update
   * must then either {@link #setFirstStateAt set} that state or remove the key; the addition is
   * undone by {@link #rollBack()} like a put. Moves other entries only if the table has no
   * {@linkplain #hasRoomFor room} for the key.
   */
  public int slotAddingKey(byte[] bytes, int offset, int length) {
    int hash = keyHash(bytes, offset, length);
    int slot = probe(bytes, offset, length, hash);
    if (slot >= 0) {
      return slot;
    }
    return insertKey(slot, hash, bytes, offset, length, null, AWAITING_STATE);
  }

  /** Whether the entry in {@code slot} was added by {@link #slotAddingKey} and has no state yet. */
  public boolean awaitsStateAt(int slot) {
    // The row is in the cache when an update asks; states[slot] may not be, and a long state needs no look at it.
    return (slots[slot * LONGS_PER_SLOT] & LONG_FLAG) == 0 && states[slot] == AWAITING_STATE;
  }

  /** Sets the decoded key and the first state of an entry that {@link #awaitsStateAt awaits it}. */
  public void setFirstStateAt(int slot, Object decodedKey, Object state) {
    keys[slot] = decodedKey;
    // Its addition is in the undo log already: undoing it removes the entry, whatever state it got.
    writeStateAt(slot, slots[slot * LONGS_PER_SLOT], state);
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
    idleKeys = null;
    if (removedBeforeSnapshot != null) {
      generation--;
      removed = removedBeforeSnapshot;
      removedBeforeSnapshot = null;
      snapshotMs = snapshotMsBeforeSnapshot;
    }
    for (int i = undo.size - 1; i >= 0; i--) {
      byte[] key = undo.encodedKey(i);
      int slot = probe(key, 0, key.length, keyHash(key, 0, key.length));
      switch (undo.changes[i]) {
        case INSERTED -> {
          deleteAt(slot);
          // Harmless if the last snapshot never had the key; needed if an earlier batch removed it.
          removed.add(ByteBuffer.wrap(key));
        }
        case REPLACED -> {
          System.arraycopy(undo.rows, i * LONGS_PER_SLOT, slots, slot * LONGS_PER_SLOT, LONGS_PER_SLOT);
          states[slot] = undo.states[i];
          if (stamps != null) {
            stamps[slot] = undo.stamps[i];
          }
        }
        case REMOVED -> {
          int at = i * LONGS_PER_SLOT;
          int back = insertAt(slot, undo.rows[at], undo.rows[at + LONG_STATE], undo.keys[i], key, 0, key.length,
              undo.states[i]);
          if (stamps != null) {
            stamps[back] = undo.stamps[i];
          }
          removed.remove(ByteBuffer.wrap(key));
        }
      }
    }
    versionMs = undoToMs;
    undo.clear();
    undoable = false;
  }

  public void put(ByteBuffer key, Object decodedKey, Object state) {
    byte[] bytes = bytesOf(key);
    int hash = keyHash(bytes, 0, bytes.length);
    int slot = probe(bytes, 0, bytes.length, hash);
    if (slot >= 0) {
      replaceAt(slot, state);
      return;
    }
    insertKey(slot, hash, bytes, 0, bytes.length, decodedKey, state);
  }

  /**
   * Inserts the key in {@code bytes[offset, offset + length)}, which the partition does not hold, at
   * the empty slot {@code -1 - missingSlot} that {@link #probe} returned, as a change the update can
   * undo; returns the slot it went to.
   */
  private int insertKey(int missingSlot, int hash, byte[] bytes, int offset, int length, Object decodedKey,
      Object state) {
    long stamp = NO_STAMP;
    if (stamps != null && state instanceof TimedState t) {
      stamp = t.lastMs();
      state = t.state();
    }
    long meta = identity(hash, length) | generationBits();
    int slot = state instanceof Long l
        ? insertAt(missingSlot, meta | LONG_FLAG, l, decodedKey, bytes, offset, length, null)
        : insertAt(missingSlot, meta, 0, decodedKey, bytes, offset, length, state);
    if (stamps != null) {
      stamps[slot] = stamp;
    }
    if (undoable) {
      undo.add(Change.INSERTED, slots, slot * LONGS_PER_SLOT, encodedKeys[slot], null, null, NO_STAMP);
    }
    if (!removed.isEmpty()) {
      removed.remove(ByteBuffer.wrap(bytes, offset, length));
    }
    return slot;
  }

  /** Sets the state in {@code slot}, an occupied slot of this partition, without looking its key up. */
  public void replaceAt(int slot, Object state) {
    int at = slot * LONGS_PER_SLOT;
    long meta = slots[at];
    boolean wasLong = (meta & LONG_FLAG) != 0;
    if (undoable) {
      int length = (int) meta & LENGTH_BITS;
      // Read only when the row does not hold the key: the row is in the cache, encodedKeys[slot] may not be.
      undo.add(Change.REPLACED, slots, at, length > INLINE_KEY_BYTES ? encodedKeys[slot] : null, null,
          wasLong ? null : states[slot], stamps == null ? NO_STAMP : stamps[slot]);
    }
    writeStateAt(slot, meta, state);
  }

  /** Writes {@code state} in {@code slot}, whose meta word was {@code meta}, in the current generation. */
  private void writeStateAt(int slot, long meta, Object state) {
    if (stamps != null) {
      if (state instanceof TimedState t) {
        stamps[slot] = t.lastMs();
        state = t.state();
      } else {
        stamps[slot] = NO_STAMP;
      }
    }
    int at = slot * LONGS_PER_SLOT;
    boolean wasLong = (meta & LONG_FLAG) != 0;
    meta = (meta & IDENTITY_MASK) | generationBits();
    if (state instanceof Long l) {
      slots[at] = meta | LONG_FLAG;
      slots[at + LONG_STATE] = l;
      // A reference store marks the array's card, which every young collection then scans; a
      // slot whose state was a long already holds null.
      if (!wasLong) {
        states[slot] = null;
      }
    } else {
      slots[at] = meta;
      states[slot] = state;
      holdsObjectStates |= state != null;
    }
  }

  public void remove(ByteBuffer key) {
    int slot = slotOf(key);
    if (slot < 0) {
      return;
    }
    if (undoable) {
      undo.add(Change.REMOVED, slots, slot * LONGS_PER_SLOT, encodedKeys[slot], keys[slot], states[slot],
          stamps == null ? NO_STAMP : stamps[slot]);
    }
    removed.add(ByteBuffer.wrap(encodedKeyAt(slot)));
    deleteAt(slot);
  }

  /**
   * Removes the keys of {@code encodedKeys}: what a caller that scans the slots collects to remove,
   * and removes once the scan is over, since removing moves entries between slots.
   */
  public void removeAll(List<byte[]> encodedKeys) {
    for (byte[] key : encodedKeys) {
      remove(ByteBuffer.wrap(key));
    }
  }

  public Set<ByteBuffer> removedKeys() {
    return removed;
  }

  /** Whether an entry may hold a state other than a {@code long}: one that {@link #stateAt} does not box. */
  public boolean mayHoldObjectStates() {
    return holdsObjectStates;
  }

  /**
   * A copy of the entries as they are now, for a snapshot to encode while tasks go on changing this
   * partition: each slot's row, encoded key and state, and which entries changed in the snapshot
   * generation {@code generation} ({@link #changedSinceSnapshotAt}), read with this class's own
   * methods. The decoded keys are not copied: {@link #keyAt} of a copy is null. Copying the arrays
   * costs as much in the first snapshot of a JVM as in the next ones, where a scan that picked the
   * entries out ran interpreted the first time, 50-130 ms at 500,000 keys. It copies into the arrays
   * of the copy {@link #recycle} gave back, or that the table allocated when it last grew, when they
   * fit.
   */
  PartitionState copyForSnapshot(int generation) {
    PartitionState copy = spareCopy.getAndSet(null);
    if (copy == null || copy.capacity() != capacity()) {
      copy = copyArraysFor(capacity());
    }
    System.arraycopy(slots, 0, copy.slots, 0, slots.length);
    // Arrays that hold nothing but nulls are not copied: a copy's are all null (see recycle).
    if (holdsLongKeys) {
      System.arraycopy(encodedKeys, 0, copy.encodedKeys, 0, encodedKeys.length);
    }
    if (holdsObjectStates) {
      System.arraycopy(states, 0, copy.states, 0, states.length);
    }
    if (stamps != null) {
      if (copy.stamps == null || copy.stamps.length != stamps.length) {
        copy.stamps = new long[stamps.length];
      }
      System.arraycopy(stamps, 0, copy.stamps, 0, stamps.length);
    }
    copy.size = size;
    copy.generation = generation;
    copy.holdsObjectStates = holdsObjectStates;
    copy.holdsLongKeys = holdsLongKeys;
    return copy;
  }

  /** A copy to copy a table of {@code capacity} slots into. */
  private static PartitionState copyArraysFor(int capacity) {
    PartitionState copy = new PartitionState();
    copy.slots = new long[capacity * LONGS_PER_SLOT];
    copy.encodedKeys = new byte[capacity][];
    copy.states = new Object[capacity];
    return copy;
  }

  /**
   * Gives back a copy once its snapshot is written, for the next {@link #copyForSnapshot} to copy
   * into: a partition of a million keys would otherwise leave 40 MB of arrays behind each snapshot,
   * which live past young collections while the file is written. Lets go of the keys and states it
   * held. Kept only if the table did not grow meanwhile: a growth leaves arrays that fit the new
   * table. Called from the thread that wrote the snapshot.
   */
  public void recycle(PartitionState copy) {
    if (copy.holdsLongKeys) {
      Arrays.fill(copy.encodedKeys, null);
    }
    if (copy.holdsObjectStates) {
      Arrays.fill(copy.states, null);
    }
    spareCopy.compareAndSet(null, copy);
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
    allocate(INITIAL_CAPACITY);
    idleKeys = null;
    holdsObjectStates = false;
    holdsLongKeys = false;
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
   * Keys the last update inserted, replaced or removed, as its undo log counts them: a key changed
   * twice in one update counts twice, which no operator does today. 0 once it can no longer be undone.
   */
  public int changedByLastUpdate() {
    return undoable ? undo.size : 0;
  }

  private int capacity() {
    return encodedKeys.length;
  }

  private void allocate(int capacity) {
    slots = new long[capacity * LONGS_PER_SLOT];
    keys = new Object[capacity];
    encodedKeys = new byte[capacity][];
    states = new Object[capacity];
    pending = new Object[capacity];
    if (stamps != null) {
      stamps = new long[capacity];
    }
  }

  private long generationBits() {
    return (long) (generation & GENERATION_BITS) << GENERATION_SHIFT;
  }

  /**
   * The slot holding the key in {@code bytes[offset, offset + length)}, or {@code -1 - slot} for the
   * empty slot where it would go.
   */
  private int probe(byte[] bytes, int offset, int length, int hash) {
    long identity = identity(hash, length);
    boolean inline = length <= INLINE_KEY_BYTES;
    long low = inline ? pack(bytes, offset, Math.min(length, 8)) : 0;
    long high = inline && length > 8 ? pack(bytes, offset + 8, length - 8) : 0;
    int mask = capacity() - 1;
    for (int i = homeSlot(hash); ; i = (i + 1) & mask) {
      int at = i * LONGS_PER_SLOT;
      long meta = slots[at];
      if (meta == 0) {
        return -1 - i;
      }
      if ((meta & IDENTITY_MASK) == identity && (inline ? slots[at + KEY_LOW] == low && slots[at + KEY_HIGH] == high
          : Arrays.equals(encodedKeys[i], 0, encodedKeys[i].length, bytes, offset, offset + length))) {
        return i;
      }
    }
  }

  /**
   * Puts an entry for the key in {@code bytes[offset, offset + length)} in the empty slot {@code -1 -
   * missingSlot} that {@link #probe} returned, growing the table first if it is full; returns the
   * slot it went to. A key longer than {@link #INLINE_KEY_BYTES} keeps {@code bytes} if they are
   * the whole array, else a copy.
   */
  private int insertAt(int missingSlot, long meta, long longState, Object key, byte[] bytes, int offset, int length,
      Object state) {
    if (!hasRoomFor(1)) {
      resize(capacity() * 2);
      missingSlot = probe(bytes, offset, length, (int) (meta >>> 32));
    }
    int slot = -1 - missingSlot;
    int at = slot * LONGS_PER_SLOT;
    slots[at] = meta;
    if (length <= INLINE_KEY_BYTES) {
      slots[at + KEY_LOW] = pack(bytes, offset, Math.min(length, 8));
      slots[at + KEY_HIGH] = length > 8 ? pack(bytes, offset + 8, length - 8) : 0;
      encodedKeys[slot] = null;
    } else {
      encodedKeys[slot] = offset == 0 && length == bytes.length
          ? bytes : Arrays.copyOfRange(bytes, offset, offset + length);
      holdsLongKeys = true;
    }
    slots[at + LONG_STATE] = longState;
    keys[slot] = key;
    states[slot] = state;
    holdsObjectStates |= state != null && state != AWAITING_STATE;
    size++;
    return slot;
  }

  /** Moves the entries to a table of {@code capacity} slots, a power of two that holds them. */
  private void resize(int capacity) {
    long[] oldSlots = slots;
    Object[] oldKeys = keys;
    byte[][] oldEncodedKeys = encodedKeys;
    Object[] oldStates = states;
    Object[] oldPending = pending;
    long[] oldStamps = stamps;
    allocate(capacity);
    // The arrays the next snapshot copies into, allocated now rather than by that snapshot: they
    // stay, so they reach the old generation, and a million keys' copy moved there during the
    // batch after the first snapshot took 90 ms of it (40 MB into pages the JVM had not touched).
    spareCopy.set(copyArraysFor(capacity));
    int mask = capacity() - 1;
    for (int old = 0; old < oldKeys.length; old++) {
      long meta = oldSlots[old * LONGS_PER_SLOT];
      if (meta != 0) {
        int i = homeSlot((int) (meta >>> 32));
        while (slots[i * LONGS_PER_SLOT] != 0) {
          i = (i + 1) & mask;
        }
        System.arraycopy(oldSlots, old * LONGS_PER_SLOT, slots, i * LONGS_PER_SLOT, LONGS_PER_SLOT);
        keys[i] = oldKeys[old];
        encodedKeys[i] = oldEncodedKeys[old];
        states[i] = oldStates[old];
        pending[i] = oldPending[old];
        if (oldStamps != null) {
          stamps[i] = oldStamps[old];
        }
      }
    }
  }

  /** Empties {@code slot} and shifts back the entries after it that could not sit in their own slot. */
  private void deleteAt(int slot) {
    int mask = capacity() - 1;
    int hole = slot;
    for (int i = (slot + 1) & mask; slots[i * LONGS_PER_SLOT] != 0; i = (i + 1) & mask) {
      int home = homeSlot((int) (slots[i * LONGS_PER_SLOT] >>> 32));
      // The entry at i may move to the hole if the hole lies between its own slot and i.
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        System.arraycopy(slots, i * LONGS_PER_SLOT, slots, hole * LONGS_PER_SLOT, LONGS_PER_SLOT);
        keys[hole] = keys[i];
        encodedKeys[hole] = encodedKeys[i];
        states[hole] = states[i];
        pending[hole] = pending[i];
        if (stamps != null) {
          stamps[hole] = stamps[i];
        }
        hole = i;
      }
    }
    Arrays.fill(slots, hole * LONGS_PER_SLOT, (hole + 1) * LONGS_PER_SLOT, 0L);
    keys[hole] = null;
    encodedKeys[hole] = null;
    states[hole] = null;
    pending[hole] = null;
    size--;
  }

  /** Whether a table of {@code capacity} slots holds {@code entries} at most 2/3 full. */
  private static boolean fits(long entries, int capacity) {
    return entries * LOAD_DENOMINATOR <= (long) capacity * LOAD_NUMERATOR;
  }

  /** The meta word's bits that identify a key: its hash and its length (0xffff for any longer). */
  private static long identity(int hash, int length) {
    return ((long) hash << 32) | Math.min(length, LENGTH_BITS);
  }

  /** Writes the key held in the row at {@code rows[at]} to the start of {@code into}, which holds at least its length. */
  private static void unpackKey(long[] rows, int at, byte[] into) {
    int length = (int) rows[at] & LENGTH_BITS;
    for (int j = 0; j < length; j++) {
      into[j] = (byte) (rows[at + (j < 8 ? KEY_LOW : KEY_HIGH)] >>> ((j & 7) << 3));
    }
  }

  /** Up to 8 bytes as a little-endian long. */
  private static long pack(byte[] bytes, int offset, int count) {
    long packed = 0;
    for (int j = 0; j < count; j++) {
      packed |= (bytes[offset + j] & 0xffL) << (j << 3);
    }
    return packed;
  }

  /**
   * A key's own slot: the high bits of its hash. Keys in the order of their hashes are then looked
   * up in the order of the table, a region at a time, which is why map tasks write their records
   * in the order of {@link #keyHash}'s high bits when they can.
   */
  private int homeSlot(int hash) {
    return (int) ((Integer.toUnsignedLong(hash) * capacity()) >>> 32);
  }

  /**
   * A well-mixed, non-zero hash of an encoded key, which places it in the table: its high bits are
   * the key's region of the table whatever the table's size (see {@link #homeSlot}). Their
   * partition is another hash of the same bytes.
   */
  public static int keyHash(byte[] bytes, int offset, int length) {
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
