package io.sluice.state;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The state of one partition of a stateful operator, keyed by the key's encoded bytes, with the
 * keys changed and removed since the last snapshot so snapshots can be incremental. Confined to
 * the task that updates it (one task per partition and batch).
 *
 * <p>The last batch's update can be undone until the next snapshot: a driver that died after its
 * executors applied a batch but before the batch completed leaves the state one batch ahead, and
 * the next attempt rolls it back in O(keys in that batch) instead of restoring the partition.
 */
public final class PartitionState {
  /** A key as decoded, and its state. */
  public record Entry(Object key, Object state) {}

  private final Map<ByteBuffer, Entry> entries = new HashMap<>();
  private final Set<ByteBuffer> changed = new HashSet<>();
  private final Set<ByteBuffer> removed = new HashSet<>();
  private long versionMs;
  /** Each key the current update changed, as it was before (null: absent); null when it cannot be undone. */
  private Map<ByteBuffer, Entry> undo;
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
    undo = new HashMap<>();
    undoToMs = versionMs;
  }

  /** The batch {@link #rollBack()} returns to, or -1 when the last update cannot be undone. */
  public long undoableToMs() {
    return undo == null ? -1 : undoToMs;
  }

  /** Undoes the last update: the entries and the change sets are as if it never ran. */
  public void rollBack() {
    if (undo == null) {
      throw new IllegalStateException("the update to batch " + versionMs + " cannot be undone");
    }
    undo.forEach((key, before) -> {
      if (before == null) {
        entries.remove(key);
        changed.remove(key);
        removed.add(key);
      } else {
        entries.put(key, before);
        changed.add(key);
        removed.remove(key);
      }
    });
    versionMs = undoToMs;
    undo = null;
  }

  public void put(ByteBuffer key, Object decodedKey, Object state) {
    rememberBefore(key);
    entries.put(key, new Entry(decodedKey, state));
    changed.add(key);
    removed.remove(key);
  }

  public void remove(ByteBuffer key) {
    rememberBefore(key);
    if (entries.remove(key) != null) {
      changed.remove(key);
      removed.add(key);
    }
  }

  public Map<ByteBuffer, Entry> entries() {
    return entries;
  }

  public Set<ByteBuffer> changedKeys() {
    return changed;
  }

  public Set<ByteBuffer> removedKeys() {
    return removed;
  }

  private void rememberBefore(ByteBuffer key) {
    if (undo != null && !undo.containsKey(key)) {
      undo.put(key, entries.get(key));
    }
  }

  /** After a snapshot: later changes are relative to it, and the update before it is final. */
  public void markSnapshotted() {
    changed.clear();
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
