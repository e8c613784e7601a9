package io.sluice.state;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The state of one partition of a stateful operator, keyed by the key's encoded bytes, with what
 * changed since the last snapshot so snapshots can be incremental. Confined to the task that
 * updates it (one task per partition and batch).
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
  /**
   * A key as decoded, its state, and the snapshot generation in which it was written. Updated in
   * place: a state rewritten every batch then leaves no dead entry behind in the old generation.
   */
  public static final class Entry {
    private final Object key;
    private Object state;
    private int writtenIn;

    Entry(Object key, Object state, int writtenIn) {
      this.key = key;
      this.state = state;
      this.writtenIn = writtenIn;
    }

    public Object key() {
      return key;
    }

    public Object state() {
      return state;
    }

    int writtenIn() {
      return writtenIn;
    }
  }

  /**
   * What one change of the current update replaced: {@code entry} had {@code state} written in
   * {@code writtenIn} ({@code entry} null: the key was absent).
   */
  private record Undo(ByteBuffer key, Entry entry, Object state, int writtenIn) {}

  private final Map<ByteBuffer, Entry> entries = new HashMap<>();
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
    return entries.get(key);
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
      if (u.entry() == null) {
        entries.remove(u.key());
        // Harmless if the last snapshot never had the key; needed if an earlier batch removed it.
        removed.add(u.key());
      } else {
        u.entry().state = u.state();
        u.entry().writtenIn = u.writtenIn();
        entries.put(u.key(), u.entry());
        removed.remove(u.key());
      }
    }
    versionMs = undoToMs;
    undo = null;
  }

  public void put(ByteBuffer key, Object decodedKey, Object state) {
    Entry existing = entries.get(key);
    if (existing == null) {
      entries.put(key, new Entry(decodedKey, state, generation));
      if (undo != null) {
        undo.add(new Undo(key, null, null, 0));
      }
    } else {
      if (undo != null) {
        undo.add(new Undo(key, existing, existing.state, existing.writtenIn));
      }
      existing.state = state;
      existing.writtenIn = generation;
    }
    if (!removed.isEmpty()) {
      removed.remove(key);
    }
  }

  public void remove(ByteBuffer key) {
    Entry before = entries.remove(key);
    if (before != null) {
      if (undo != null) {
        undo.add(new Undo(key, before, before.state, before.writtenIn));
      }
      removed.add(key);
    }
  }

  public Map<ByteBuffer, Entry> entries() {
    return entries;
  }

  /** The keys written since the last snapshot: a scan, made once per delta snapshot. */
  public List<ByteBuffer> changedKeys() {
    List<ByteBuffer> changed = new ArrayList<>();
    entries.forEach((k, e) -> {
      if (e.writtenIn() == generation) {
        changed.add(k);
      }
    });
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
    entries.clear();
    markSnapshotted();
    versionMs = 0;
  }

  public int size() {
    return entries.size();
  }
}
