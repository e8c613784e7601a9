package io.sluice.runtime;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Map output of the shuffles, held in the memory of the JVM that ran the map task until the
 * driver releases its batch. Thread-safe: tasks write and peers read concurrently.
 */
public final class ShuffleStore {
  private record BlockId(long batchMs, String nodeId, String taskId, int partition) {}

  private final Map<BlockId, byte[]> blocks = new ConcurrentHashMap<>();

  public void put(long batchMs, String nodeId, String taskId, int partition, byte[] block) {
    blocks.put(new BlockId(batchMs, nodeId, taskId, partition), block);
  }

  /** The block, or an empty one when the task wrote nothing for that partition. */
  public byte[] get(long batchMs, String nodeId, String taskId, int partition) {
    return blocks.getOrDefault(new BlockId(batchMs, nodeId, taskId, partition), new byte[0]);
  }

  /** Blocks of several map tasks, in the order of {@code taskIds}. */
  public List<byte[]> get(long batchMs, String nodeId, List<String> taskIds, int partition) {
    return taskIds.stream().map(t -> get(batchMs, nodeId, t, partition)).toList();
  }

  /** Drops every block of batches up to and including {@code batchMs}. */
  public void release(long batchMs) {
    blocks.keySet().removeIf(id -> id.batchMs() <= batchMs);
  }

  public long bytesHeld() {
    return blocks.values().stream().mapToLong(b -> b.length).sum();
  }
}
