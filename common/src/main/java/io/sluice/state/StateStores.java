package io.sluice.state;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The state partitions held by one JVM (an executor, or the local runner), by operator and partition. */
public final class StateStores {
  private record PartitionId(String nodeId, int partition) {}

  private final Map<PartitionId, PartitionState> partitions = new ConcurrentHashMap<>();

  public PartitionState partition(String nodeId, int partition) {
    return partitions.computeIfAbsent(new PartitionId(nodeId, partition), id -> new PartitionState());
  }

  /** Keys held across all partitions, for status and tests. */
  public long keys() {
    return partitions.values().stream().mapToLong(PartitionState::size).sum();
  }
}
