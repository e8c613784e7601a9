package io.sluice.state;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The state partitions held by one JVM (an executor, or the local runner), by operator and partition. */
public final class StateStores implements AutoCloseable {
  private record PartitionId(String nodeId, int partition) {}

  private final Map<PartitionId, PartitionState> partitions = new ConcurrentHashMap<>();
  private final BackgroundSnapshots snapshots = new BackgroundSnapshots();

  public PartitionState partition(String nodeId, int partition) {
    return partitions.computeIfAbsent(new PartitionId(nodeId, partition), id -> new PartitionState());
  }

  /** The snapshots of these partitions being written, or written and not yet reported. */
  public BackgroundSnapshots snapshots() {
    return snapshots;
  }

  /**
   * A partition held here, the batch its state is at, and the batch it can be rolled back to
   * (-1 if none).
   */
  public record Held(String nodeId, int partition, long versionMs, long undoableToMs) {}

  /** Every partition held here, with its version. */
  public List<Held> held() {
    List<Held> out = new ArrayList<>();
    partitions.forEach((id, state) -> {
      synchronized (state) {
        out.add(new Held(id.nodeId(), id.partition(), state.versionMs(), state.undoableToMs()));
      }
    });
    return out;
  }

  /** Keys held across all partitions, for status and tests. */
  public long keys() {
    return partitions.values().stream().mapToLong(PartitionState::size).sum();
  }

  /** Waits for the snapshot writes already started; see {@link BackgroundSnapshots#close}. */
  @Override
  public void close() throws InterruptedException {
    snapshots.close();
  }
}
