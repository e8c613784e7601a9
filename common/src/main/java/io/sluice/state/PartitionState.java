package io.sluice.state;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * The state of one partition of a stateful operator, keyed by the key's encoded bytes, with what
 * changed since the last snapshot so snapshots can be incremental. Confined to the task that
 * updates it (one task per partition and batch).
 *
 * <p>The entries live in an open-addressing table (linear probing, backward-shift deletion) with
 * the keys' hashes in an array of their own: a lookup reads that array and then only the entry
 * whose hash matches, where a {@code HashMap<ByteBuffer, ...>} would follow a node, a buffer and
 * its array for each probe, and keep three more objects per key alive in the old generation. At a
 * million keys nearly every lookup misses the CPU caches, so this is what a batch's update costs.
 *
 * <p>Each entry records the snapshot generation in which it was last written, so the keys a delta
 * must hold are found by one scan at snapshot time instead of a set kept up to date on every put;
 * removed keys, which are rare, are kept in a set.
 *
 * <p>The last batch's update can be undone until the next snapshot: a driver that died after its
 * executors applied a batch but before the batch completed leaves the state one batch ahead, and
 * the next attempt rolls it back in O(keys in that batch) instead of restoring the partition.
 */
public final class PartitionState {
  /** A table at most this full (2/3) keeps linear probes short. */
  private static final int LOAD_NUMERATOR = 2;
  private static final int LOAD_DENOMINATOR = 3;
  private static final int INITIAL_CAPACITY = 16;

  /**
   * A key, encoded and as decoded, its state, and the snapshot generation in which it was written.
   * Updated in place: a state rewritten every batch then leaves no dead entry behind in the old
   * generation.
   */
  public static final class Entry {
    private final byte[] encodedKey;
    private final int hash;
    private final Object key;
    private Object state;
    private int writtenIn;
    /** The batch's values for the key while an update groups them by entry; null otherwise. */
    private Object batchValues;

    Entry(byte[] encodedKey, int hash, Object key, Object state, int writtenIn) {
      this.encodedKey = encodedKey;
      this.hash = hash;
      this.key = key;
      this.state = state;
      this.writtenIn = writtenIn;
    }

    public Object key() {
      return key;
    }

    /** The key's bytes as the shuffle and the snapshots carry them; not to be modified. */
    public byte[] encodedKey() {
      return encodedKey;
    }

    public Object state() {
      return state;
    }

    int writtenIn() {
      return writtenIn;
    }

    /**
     * Where an update collects the batch's values for this key, so that grouping the batch costs
     * one lookup per record in the state itself instead of one in a separate map too.
     */
    public Object batchValues() {
      return batchValues;
    }

    public void setBatchValues(Object values) {
      this.batchValues = values;
    }
  }

  private enum Change { INSERTED, REPLACED, REMOVED }

  /** What one change of the current update did to {@code entry}, and its state and generation before. */
  private record Undo(Change change, Entry entry, Object state, int writtenIn) {}

  /** Hashes of the entries, 0 where a slot is empty (a key's hash is never 0). */
  private int[] hashes = new int[INITIAL_CAPACITY];
  private Entry[] table = new Entry[INITIAL_CAPACITY];
  private int size;
  private final Set<ByteBuffer> removed = new HashSet<>();
  private int generation;
  private long versionMs;
  /** The changes of the current update, oldest first; null when it cannot be undone. */
  private List<Undo> undo;
  private long undoToMs;

  /** The batch whose update this state holds; 0 for the empty state. */
  public long versionMs() {
    return versionMs;
  }

  public void setVersionMs(long versionMs) {
    this.versionMs = versionMs;
  }

  public Entry get(ByteBuffer key) {
    byte[] bytes = bytesOf(key);
    int slot = find(bytes, hash(bytes));
    return slot >= 0 ? table[slot] : null;
  }

  /** Starts the update of a batch: its changes can be undone by {@link #rollBack()} until the next snapshot. */
  public void beginUpdate() {
    undo = new ArrayList<>();
    undoToMs = versionMs;
  }

  /** The batch {@link #rollBack()} returns to, or -1 when the last update cannot be undone. */
  public long undoableToMs() {
    return undo == null ? -1 : undoToMs;
  }

  /** Undoes the last update: the entries, and what the next delta must hold, are as if it never ran. */
  public void rollBack() {
    if (undo == null) {
      throw new IllegalStateException("the update to batch " + versionMs + " cannot be undone");
    }
    for (int i = undo.size() - 1; i >= 0; i--) {
      Undo u = undo.get(i);
      Entry e = u.entry();
      switch (u.change()) {
        case INSERTED -> {
          deleteAt(find(e.encodedKey, e.hash));
          // Harmless if the last snapshot never had the key; needed if an earlier batch removed it.
          removed.add(ByteBuffer.wrap(e.encodedKey));
        }
        case REPLACED -> {
          e.state = u.state();
          e.writtenIn = u.writtenIn();
        }
        case REMOVED -> {
          insertAt(find(e.encodedKey, e.hash), e);
          removed.remove(ByteBuffer.wrap(e.encodedKey));
        }
      }
    }
    versionMs = undoToMs;
    undo = null;
  }

  public void put(ByteBuffer key, Object decodedKey, Object state) {
    byte[] bytes = bytesOf(key);
    int hash = hash(bytes);
    int slot = find(bytes, hash);
    if (slot >= 0) {
      replace(table[slot], state);
      return;
    }
    Entry e = new Entry(bytes, hash, decodedKey, state, generation);
    insertAt(slot, e);
    if (undo != null) {
      undo.add(new Undo(Change.INSERTED, e, null, 0));
    }
    if (!removed.isEmpty()) {
      removed.remove(key);
    }
  }

  /** Sets the state of {@code existing}, an entry of this partition, without looking it up. */
  public void replace(Entry existing, Object state) {
    if (undo != null) {
      undo.add(new Undo(Change.REPLACED, existing, existing.state, existing.writtenIn));
    }
    existing.state = state;
    existing.writtenIn = generation;
  }

  public void remove(ByteBuffer key) {
    byte[] bytes = bytesOf(key);
    int slot = find(bytes, hash(bytes));
    if (slot >= 0) {
      Entry before = table[slot];
      deleteAt(slot);
      if (undo != null) {
        undo.add(new Undo(Change.REMOVED, before, before.state, before.writtenIn));
      }
      removed.add(ByteBuffer.wrap(bytes));
    }
  }

  /** The entries, in no particular order; the partition must not change during the iteration. */
  public Iterable<Entry> entries() {
    return () -> new Iterator<>() {
      private int next = advance(0);

      private int advance(int from) {
        int i = from;
        while (i < table.length && table[i] == null) {
          i++;
        }
        return i;
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
    };
  }

  /** The entries written since the last snapshot: a scan, made once per delta snapshot. */
  public List<Entry> changedEntries() {
    List<Entry> changed = new ArrayList<>();
    for (Entry e : table) {
      if (e != null && e.writtenIn == generation) {
        changed.add(e);
      }
    }
    return changed;
  }

  public Set<ByteBuffer> removedKeys() {
    return removed;
  }

  /** After a snapshot: later changes are relative to it, and the update before it is final. */
  public void markSnapshotted() {
    generation++;
    removed.clear();
    undo = null;
  }

  public void clear() {
    hashes = new int[INITIAL_CAPACITY];
    table = new Entry[INITIAL_CAPACITY];
    size = 0;
    markSnapshotted();
    versionMs = 0;
  }

  public int size() {
    return size;
  }

  /** The slot holding {@code key}, or {@code -1 - slot} for the empty slot where it would go. */
  private int find(byte[] key, int hash) {
    int mask = hashes.length - 1;
    for (int i = hash & mask; ; i = (i + 1) & mask) {
      int h = hashes[i];
      if (h == 0) {
        return -1 - i;
      }
      if (h == hash && Arrays.equals(table[i].encodedKey, key)) {
        return i;
      }
    }
  }

  /** Puts {@code e} in the empty slot {@code -1 - missingSlot} that {@link #find} returned. */
  private void insertAt(int missingSlot, Entry e) {
    if ((size + 1) * LOAD_DENOMINATOR > hashes.length * LOAD_NUMERATOR) {
      grow();
      missingSlot = find(e.encodedKey, e.hash);
    }
    int slot = -1 - missingSlot;
    hashes[slot] = e.hash;
    table[slot] = e;
    size++;
  }

  private void grow() {
    Entry[] old = table;
    hashes = new int[old.length * 2];
    table = new Entry[old.length * 2];
    int mask = hashes.length - 1;
    for (Entry e : old) {
      if (e != null) {
        int i = e.hash & mask;
        while (hashes[i] != 0) {
          i = (i + 1) & mask;
        }
        hashes[i] = e.hash;
        table[i] = e;
      }
    }
  }

  /** Empties {@code slot} and shifts back the entries after it that could not sit in their own slot. */
  private void deleteAt(int slot) {
    int mask = hashes.length - 1;
    int hole = slot;
    for (int i = (slot + 1) & mask; hashes[i] != 0; i = (i + 1) & mask) {
      int home = hashes[i] & mask;
      // The entry at i may move to the hole if the hole lies between its own slot and i.
      if (((i - home) & mask) >= ((i - hole) & mask)) {
        hashes[hole] = hashes[i];
        table[hole] = table[i];
        hole = i;
      }
    }
    hashes[hole] = 0;
    table[hole] = null;
    size--;
  }

  /** A well-mixed, non-zero hash of the key's bytes (their partition is a hash of them too). */
  private static int hash(byte[] key) {
    int h = Arrays.hashCode(key);
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
