package io.sluice.state;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.TreeMap;

/**
 * The keys of one mapWithState partition with an idle timeout, by the batch at which each is next
 * checked, so that a batch looks at the keys that may have timed out instead of scanning the
 * partition. A key is listed once it has a state, due at its last update plus the timeout; a check
 * that finds it updated since lists it again from that update. So each key is checked about once per
 * timeout it lives, plus once when it times out: over any stretch of batches, no more checks than the
 * keys those batches and the one timeout before them updated.
 *
 * <p>A key that is removed stays listed until its check finds it gone, and one added again meanwhile
 * is listed twice; its owner drops the index when it holds {@linkplain #outgrows far more entries}
 * than the partition has keys, and rebuilds it by one scan. Confined to the task that updates the
 * partition, as the partition is.
 */
public final class IdleKeys {
  /** Entries beyond twice the partition's keys that {@link #outgrows} allows. */
  private static final int STALE_ENTRIES_ALLOWED = 1024;

  private final long timeoutMs;
  /** Encoded keys, as the partition holds them, by the batch they are due at. */
  private final TreeMap<Long, List<byte[]>> keysByDueMs = new TreeMap<>();
  private int entries;

  public IdleKeys(long timeoutMs) {
    this.timeoutMs = timeoutMs;
  }

  /** The timeout the index was built for. */
  public long timeoutMs() {
    return timeoutMs;
  }

  /** Lists the key (its encoded bytes, not to be modified) last updated at batch {@code lastMs}. */
  public void add(byte[] encodedKey, long lastMs) {
    keysByDueMs.computeIfAbsent(lastMs + timeoutMs, due -> new ArrayList<>()).add(encodedKey);
    entries++;
  }

  /** Takes out the keys due at batch {@code batchMs} or before, the earliest first. */
  public List<byte[]> takeDue(long batchMs) {
    List<byte[]> due = new ArrayList<>();
    for (Iterator<List<byte[]>> it = keysByDueMs.headMap(batchMs, true).values().iterator(); it.hasNext(); ) {
      due.addAll(it.next());
      it.remove();
    }
    entries -= due.size();
    return due;
  }

  /** Whether the index holds so many entries of removed keys, next to a partition of {@code keys}, that it is worth rebuilding. */
  public boolean outgrows(int keys) {
    return entries > 2L * keys + STALE_ENTRIES_ALLOWED;
  }
}
