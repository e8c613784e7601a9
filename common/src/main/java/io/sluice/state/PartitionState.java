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
 */
public final class PartitionState {
  /** A key as decoded, and its state. */
  public record Entry(Object key, Object state) {}

  private final Map<ByteBuffer, Entry> entries = new HashMap<>();
  private final Set<ByteBuffer> changed = new HashSet<>();
  private final Set<ByteBuffer> removed = new HashSet<>();
  private long versionMs;

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

  public void put(ByteBuffer key, Object decodedKey, Object state) {
    entries.put(key, new Entry(decodedKey, state));
    changed.add(key);
    removed.remove(key);
  }

  public void remove(ByteBuffer key) {
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

  /** After a snapshot: later changes are relative to it. */
  public void markSnapshotted() {
    changed.clear();
    removed.clear();
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
