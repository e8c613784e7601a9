package io.sluice.runtime;

import io.sluice.graph.OperatorNode;
import io.sluice.graph.StreamGraph;
import io.sluice.proto.BatchRecord;
import io.sluice.proto.SnapshotWritten;
import io.sluice.proto.StateAccess;
import io.sluice.proto.StateSnapshot;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.fs.Path;

/**
 * The driver's book of state snapshots: which files hold each state partition, which batch the
 * executors' state is at, which completed batches a restart must replay, and which snapshot files
 * no retained metadata file refers to any more. Confined to the driver thread.
 *
 * <p>All stateful operators snapshot together, in every batch where any of their checkpoint
 * intervals is due, so that one state version and one replay log serve them all.
 */
final class StateCheckpoints {
  private record PartitionId(String nodeId, int partition) {}

  private record Chain(long batchMs, List<String> files, int deltas) {}

  /** Files that became unreferenced when metadata file {@code sequence} was written. */
  private record Retired(long sequence, List<String> files) {}

  private final List<OperatorNode> stateful;
  private final Path checkpointDir;
  private final int fullEvery;
  private final long startTimeMs;
  private final Map<PartitionId, Chain> chains = new LinkedHashMap<>();
  private final List<BatchRecord> replayLog = new ArrayList<>();
  private final Deque<Retired> retired = new ArrayDeque<>();
  private final List<String> newlyRetired = new ArrayList<>();
  private long stateVersionMs;

  StateCheckpoints(StreamGraph graph, Path checkpointDir, int fullEvery, long startTimeMs) {
    this.stateful = graph.nodes().stream().filter(n -> n.kind().isStateful()).toList();
    this.checkpointDir = checkpointDir;
    this.fullEvery = Math.max(1, fullEvery);
    this.startTimeMs = startTimeMs;
  }

  boolean hasState() {
    return !stateful.isEmpty();
  }

  /**
   * Takes over a recovered checkpoint's snapshots and replay log; the executors' state is then the
   * snapshot's. The operators in {@code startingEmpty} (and operators the checkpoint has no
   * snapshot of) start with an empty state as of that snapshot, and their old files are retired.
   */
  void restore(List<StateSnapshot> snapshots, List<BatchRecord> log, Set<String> startingEmpty) {
    Set<String> ids = new HashSet<>();
    stateful.forEach(n -> ids.add(n.id()));
    for (StateSnapshot s : snapshots) {
      if (startingEmpty.contains(s.getNodeId()) || !ids.contains(s.getNodeId())) {
        newlyRetired.addAll(s.getFilesList());
        continue;
      }
      chains.put(new PartitionId(s.getNodeId(), s.getPartition()),
          new Chain(s.getBatchTimeMs(), List.copyOf(s.getFilesList()), Math.max(0, s.getFilesCount() - 1)));
    }
    long at = chains.values().stream().mapToLong(Chain::batchMs).min().orElse(0);
    if (at > 0) {
      for (OperatorNode n : stateful) {
        for (int p = 0; p < n.partitions(); p++) {
          chains.putIfAbsent(new PartitionId(n.id(), p), new Chain(at, List.of(), 0));
        }
      }
    }
    replayLog.addAll(log);
    stateVersionMs = snapshotBatchMs();
  }

  /** The completed batches to replay before new ones: those after the snapshot. */
  List<BatchRecord> batchesToReplay() {
    return replayLog.stream().filter(b -> b.getBatchTimeMs() > stateVersionMs).toList();
  }

  /** Whether the executors where the partitions run hold every one of them at batch {@code versionMs}. */
  boolean heldBy(TaskService tasks, long versionMs) {
    for (OperatorNode n : stateful) {
      for (int p = 0; p < n.partitions(); p++) {
        if (!tasks.holdsState(n.id(), p, versionMs)) {
          return false;
        }
      }
    }
    return true;
  }

  /** The executors kept their state at {@code versionMs}: there is nothing to restore or replay. */
  void keptAt(long versionMs) {
    stateVersionMs = versionMs;
  }

  /** After a failed batch: the executors' state is trusted no more; it comes back from the snapshots. */
  void resetToSnapshot() {
    stateVersionMs = snapshotBatchMs();
  }

  boolean isSnapshotBatch(long batchMs) {
    return stateful.stream().anyMatch(n -> (batchMs - startTimeMs) % n.checkpointInterval().millis() == 0);
  }

  /** How the reduce task of {@code node}'s partition finds and snapshots its state in batch {@code batchMs}. */
  StateAccess access(OperatorNode node, int partition, long batchMs, long epoch, boolean replay) {
    Chain chain = chains.get(new PartitionId(node.id(), partition));
    StateAccess.Builder a = StateAccess.newBuilder().setNodeId(node.id()).setBaseBatchMs(stateVersionMs);
    if (chain != null && chain.batchMs() == stateVersionMs) {
      a.addAllRestoreFiles(chain.files()).setStartEmpty(chain.files().isEmpty());
    }
    if (!replay && isSnapshotBatch(batchMs)) {
      boolean full = chain == null || chain.files().isEmpty() || chain.deltas() + 1 >= fullEvery;
      a.setSnapshotPath(new Path(checkpointDir, "state/" + node.id() + "/" + partition + "/" + batchMs + "-epoch" + epoch
          + (full ? ".full" : ".delta")).toString()).setFullSnapshot(full);
    }
    return a.build();
  }

  /** Records a completed (or replayed) batch and the snapshots its tasks wrote. */
  void completed(BatchRecord batch, List<SnapshotWritten> snapshots, boolean replay) {
    stateVersionMs = batch.getBatchTimeMs();
    for (SnapshotWritten s : snapshots) {
      PartitionId id = new PartitionId(s.getNodeId(), s.getPartition());
      Chain old = chains.get(id);
      if (s.getFull() || old == null || old.files().isEmpty()) {
        if (old != null) {
          newlyRetired.addAll(old.files());
        }
        chains.put(id, new Chain(batch.getBatchTimeMs(), List.of(s.getPath()), 0));
      } else {
        List<String> files = new ArrayList<>(old.files());
        files.add(s.getPath());
        chains.put(id, new Chain(batch.getBatchTimeMs(), files, old.deltas() + 1));
      }
    }
    if (!replay && hasState()) {
      replayLog.add(batch);
    }
    long snapshotMs = snapshotBatchMs();
    replayLog.removeIf(b -> b.getBatchTimeMs() <= snapshotMs);
  }

  /** The batch every partition's snapshot has reached (0 while some partition has none). */
  private long snapshotBatchMs() {
    long expected = stateful.stream().mapToLong(OperatorNode::partitions).sum();
    if (chains.size() < expected) {
      return 0;
    }
    return chains.values().stream().mapToLong(Chain::batchMs).min().orElse(0);
  }

  List<StateSnapshot> snapshots() {
    List<StateSnapshot> out = new ArrayList<>();
    chains.forEach((id, c) -> out.add(StateSnapshot.newBuilder().setNodeId(id.nodeId()).setPartition(id.partition())
        .setBatchTimeMs(c.batchMs()).addAllFiles(c.files()).build()));
    return out;
  }

  List<BatchRecord> replayLog() {
    return List.copyOf(replayLog);
  }

  /**
   * Notes that metadata file {@code sequence} was written, and returns the snapshot files that no
   * retained metadata file refers to any more.
   */
  List<String> afterMetadataWritten(long sequence, int retainedFiles) {
    if (!newlyRetired.isEmpty()) {
      retired.add(new Retired(sequence, List.copyOf(newlyRetired)));
      newlyRetired.clear();
    }
    List<String> deletable = new ArrayList<>();
    while (!retired.isEmpty() && retired.peek().sequence() + retainedFiles <= sequence) {
      deletable.addAll(retired.poll().files());
    }
    return deletable;
  }
}
