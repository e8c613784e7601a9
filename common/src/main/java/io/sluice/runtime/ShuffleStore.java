package io.sluice.runtime;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Map output of the shuffles, held in the memory of the JVM that ran the map task until the
 * driver releases its batch. A block's arrays go back to {@link #buffers()} once it is released (or
 * replaced by a later run of its task) and no reader holds it: readers hold blocks through a
 * {@link ShuffleInput}. Thread-safe: tasks write and peers read concurrently.
 */
public final class ShuffleStore {
  private record BlockId(long batchMs, String nodeId, String taskId, int partition) {}

  private record MapTaskId(String nodeId, String taskId) {}

  /** A stored block and its readers. */
  private final class Block {
    private final List<ShuffleChunk> chunks;
    @GuardedBy("this")
    private int readers;
    @GuardedBy("this")
    private boolean dropped;

    Block(List<ShuffleChunk> chunks) {
      this.chunks = List.copyOf(chunks);
    }

    /** False when the block was dropped meanwhile: its arrays may already hold another block. */
    synchronized boolean addReader() {
      if (dropped) {
        return false;
      }
      readers++;
      return true;
    }

    synchronized void removeReader() {
      readers--;
      recycleIfUnused();
    }

    synchronized void drop() {
      dropped = true;
      recycleIfUnused();
    }

    @GuardedBy("this")
    private void recycleIfUnused() {
      if (dropped && readers == 0) {
        chunks.forEach(c -> buffers.give(c.bytes()));
      }
    }
  }

  private final Map<BlockId, Block> blocks = new ConcurrentHashMap<>();
  /** Per shuffle and map task: how its last run in this JVM went, what its next run can expect. */
  private final Map<MapTaskId, ShuffleOperator.MapRun> lastRuns = new ConcurrentHashMap<>();
  private final ShuffleBuffers buffers;

  public ShuffleStore(ShuffleBuffers buffers) {
    this.buffers = buffers;
  }

  /** Where map tasks take the arrays of their blocks, and readers those of the blocks they copy. */
  public ShuffleBuffers buffers() {
    return buffers;
  }

  /** Stores a map task's block for one partition; its chunks are not to be changed any more. */
  public void put(long batchMs, String nodeId, String taskId, int partition, List<ShuffleChunk> chunks) {
    Block replaced = blocks.put(new BlockId(batchMs, nodeId, taskId, partition), new Block(chunks));
    if (replaced != null) {
      replaced.drop();
    }
  }

  /**
   * The blocks of several map tasks, in the order of {@code taskIds}, held until the returned input
   * is closed; a task that wrote nothing for the partition, or whose batch was released, has no chunks.
   */
  public ShuffleInput read(long batchMs, String nodeId, List<String> taskIds, int partition) {
    List<ShuffleChunk> chunks = new ArrayList<>();
    List<Block> held = new ArrayList<>();
    for (String taskId : taskIds) {
      Block block = blocks.get(new BlockId(batchMs, nodeId, taskId, partition));
      if (block != null && block.addReader()) {
        held.add(block);
        chunks.addAll(block.chunks);
      }
    }
    return new ShuffleInput(chunks, () -> held.forEach(Block::removeReader));
  }

  /** Notes how a run of map task {@code taskId} of shuffle {@code nodeId} went. */
  void noteRun(String nodeId, String taskId, ShuffleOperator.MapRun run) {
    lastRuns.put(new MapTaskId(nodeId, taskId), run);
  }

  /** How the last run of map task {@code taskId} of shuffle {@code nodeId} in this JVM went; null if none ran. */
  ShuffleOperator.MapRun lastRun(String nodeId, String taskId) {
    return lastRuns.get(new MapTaskId(nodeId, taskId));
  }

  /** Drops every block of batches up to and including {@code batchMs}. */
  public void release(long batchMs) {
    for (BlockId id : blocks.keySet()) {
      if (id.batchMs() <= batchMs) {
        Block block = blocks.remove(id);
        if (block != null) {
          block.drop();
        }
      }
    }
  }
}
