package io.sluice.runtime;

import io.sluice.checkpoint.MetadataStore;
import io.sluice.graph.OperatorNode;
import io.sluice.graph.StreamGraph;
import io.sluice.proto.BatchRecord;
import io.sluice.proto.SnapshotWritten;
import io.sluice.proto.StateAccess;
import io.sluice.proto.StateOperatorStatus;
import io.sluice.proto.StateSize;
import io.sluice.proto.StateSnapshot;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver's book of state snapshots: which files hold each state partition, which batch the
 * executors' state is at, which completed batches a restart must replay, and which snapshot files
 * no retained metadata file refers to any more. Confined to the driver thread.
 *
 * <p>All stateful operators snapshot together, in every batch where any of their checkpoint
 * intervals is due, so that one state version and one replay log serve them all. Executors write
 * the files in the background, in the time between batches, and the partitions' later tasks report
 * them once written: at the latest the tasks of the next round, which wait for them. A round of
 * snapshots enters the chains only when every partition's file is reported written, so that every
 * chain ends at the same batch.
 */
final class StateCheckpoints {
  private static final Logger LOG = LoggerFactory.getLogger(StateCheckpoints.class);

  private static final String STATE_DIR = "state";
  /** The epoch in a snapshot file's name: {@code <batch>-epoch<epoch>-<round>.full}, or hidden with {@code .tmp} while written. */
  private static final Pattern EPOCH_IN_NAME = Pattern.compile("-epoch(\\d+)[-.]");

  private record PartitionId(String nodeId, int partition) {}

  /**
   * A partition's snapshot files, the full one first, as of batch {@code batchMs}; the keys they
   * hold (0 when not known).
   */
  private record Chain(long batchMs, List<String> files, long fullKeys, long deltaKeys) {
    /** The delta files after the full one. */
    int deltas() {
      return Math.max(0, files.size() - 1);
    }

    /**
     * Whether the deltas hold at least as many keys as the full snapshot: where most keys change
     * between snapshots, a delta is as large as a full snapshot, and a new full snapshot then costs
     * no more to write, shortens the restore to one file and lets the older files go.
     */
    boolean deltasOutweighFull() {
      return fullKeys > 0 && deltaKeys >= fullKeys;
    }
  }

  /** Files that became unreferenced when metadata file {@code sequence} was written. */
  private record Retired(long sequence, List<String> files) {}

  private record Asked(String path, boolean full) {}

  /** The snapshots asked for in one batch, and those reported written so far. */
  private static final class Round {
    final long batchMs;
    final int number;
    /** Per partition: the file asked for, and whether a full snapshot. */
    final Map<PartitionId, Asked> asked = new LinkedHashMap<>();
    final Map<PartitionId, SnapshotWritten> reported = new LinkedHashMap<>();
    /** Partitions whose write failed. */
    final Set<PartitionId> failed = new HashSet<>();
    /** It holds deltas of a round that did not make it into the chains, so it cannot make it either. */
    boolean doomed;

    Round(long batchMs, int number) {
      this.batchMs = batchMs;
      this.number = number;
    }

    /** Whether the round can be settled: every partition reported its file written, or a write failed. */
    boolean answered() {
      return !failed.isEmpty() || reported.size() >= asked.size();
    }
  }

  private final List<OperatorNode> stateful;
  /**
   * The stateful operators whose partitions a replay leaves where an executor still holds them:
   * those whose records feed no other state (the replay's only purpose being state) and whose
   * state was not reset by an upgrade.
   */
  private final Set<String> keptInReplays;
  private final Path checkpointDir;
  private final int fullEvery;
  private final long startTimeMs;
  private final Map<PartitionId, Chain> chains = new LinkedHashMap<>();
  /** Each partition's size after the last task that updated it, as the task reported it. */
  private final Map<PartitionId, StateSize> sizes = new HashMap<>();
  private final List<BatchRecord> replayLog = new ArrayList<>();
  private final Deque<Retired> retired = new ArrayDeque<>();
  private final List<String> newlyRetired = new ArrayList<>();
  private long stateVersionMs;
  /** The round asked for in the batch running now; null when none. */
  private Round asked;
  /** The last round asked for in a completed batch while its files are not all reported; null when none. */
  private Round awaited;
  private int roundsAsked;
  /** A batch that snapshots whatever the checkpoint intervals say (see {@link #forceSnapshotAt}); 0 for none. */
  private long forcedSnapshotMs;

  StateCheckpoints(StreamGraph graph, Path checkpointDir, int fullEvery, long startTimeMs) {
    this.stateful = graph.nodes().stream().filter(n -> n.kind().isStateful()).toList();
    this.keptInReplays = new HashSet<>();
    stateful.stream().filter(n -> !feedsState(graph, n)).forEach(n -> keptInReplays.add(n.id()));
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
          new Chain(s.getBatchTimeMs(), List.copyOf(s.getFilesList()), s.getFullKeys(), s.getDeltaKeys()));
    }
    long at = chains.values().stream().mapToLong(Chain::batchMs).min().orElse(0);
    if (at > 0) {
      for (OperatorNode n : stateful) {
        for (int p = 0; p < n.partitions(); p++) {
          chains.putIfAbsent(new PartitionId(n.id(), p), new Chain(at, List.of(), 0, 0));
        }
      }
    }
    replayLog.addAll(log);
    stateVersionMs = snapshotBatchMs();
    keptInReplays.removeAll(startingEmpty);
  }

  private static boolean feedsState(StreamGraph graph, OperatorNode node) {
    for (OperatorNode child : graph.children(node)) {
      if (child.kind().isStateful() || feedsState(graph, child)) {
        return true;
      }
    }
    return false;
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

  /**
   * After a failed batch: the executors' state is trusted no more; it comes back from the snapshots.
   * Snapshots not yet in the chains are forgotten; files reported for them later are deleted.
   */
  void resetToSnapshot() {
    stateVersionMs = snapshotBatchMs();
    asked = null;
    awaited = null;
  }

  boolean isSnapshotBatch(long batchMs) {
    return batchMs == forcedSnapshotMs
        || stateful.stream().anyMatch(n -> (batchMs - startTimeMs) % n.checkpointInterval().millis() == 0);
  }

  /** Makes batch {@code batchMs} snapshot every state partition, whatever the checkpoint intervals. */
  void forceSnapshotAt(long batchMs) {
    forcedSnapshotMs = batchMs;
  }

  /**
   * Whether a start from the checkpoint could restore the state of batch {@code lastMs} without
   * replaying any batch, once the snapshots asked for in that batch are recorded.
   */
  boolean snapshotsReach(long lastMs) {
    return !hasState() || snapshotBatchMs() == lastMs
        || awaited != null && !awaited.doomed && awaited.batchMs == lastMs;
  }

  /** How the reduce task of {@code node}'s partition finds and snapshots its state in batch {@code batchMs}. */
  StateAccess access(OperatorNode node, int partition, long batchMs, long epoch, boolean replay) {
    PartitionId id = new PartitionId(node.id(), partition);
    Chain chain = chains.get(id);
    StateAccess.Builder a = StateAccess.newBuilder().setNodeId(node.id()).setBaseBatchMs(stateVersionMs);
    if (chain != null && chain.batchMs() == stateVersionMs) {
      a.addAllRestoreFiles(chain.files()).setStartEmpty(chain.files().isEmpty());
    }
    if (replay && keptInReplays.contains(node.id()) && !replayLog.isEmpty()) {
      // The log ends at the last completed batch.
      a.setReplayKeptAtBatchMs(replayLog.get(replayLog.size() - 1).getBatchTimeMs());
    }
    if (!replay && isSnapshotBatch(batchMs)) {
      if (asked == null || asked.batchMs != batchMs) {
        asked = new Round(batchMs, ++roundsAsked);
      }
      // A delta follows the last snapshot asked for, which may still be on its way into the chain.
      long baseMs = -1;
      int deltas = 0;
      boolean deltasOutweighFull = false;
      Asked pending = awaited == null || awaited.doomed ? null : awaited.asked.get(id);
      if (pending != null) {
        baseMs = awaited.batchMs;
        deltas = pending.full() ? 0 : (chain == null ? 0 : chain.deltas()) + 1;
        deltasOutweighFull = !pending.full() && chain != null && chain.deltasOutweighFull();
      } else if (chain != null && !chain.files().isEmpty()) {
        baseMs = chain.batchMs();
        deltas = chain.deltas();
        deltasOutweighFull = chain.deltasOutweighFull();
      }
      boolean full = baseMs < 0 || deltas + 1 >= fullEvery || deltasOutweighFull;
      String path = new Path(checkpointDir, STATE_DIR + "/" + node.id() + "/" + partition + "/" + batchMs + "-epoch" + epoch
          + "-" + asked.number + (full ? ".full" : ".delta")).toString();
      asked.asked.put(id, new Asked(path, full));
      a.setSnapshotPath(path).setFullSnapshot(full).setDeltaBaseBatchMs(baseMs);
    }
    return a.build();
  }

  /**
   * Records a completed (or replayed) batch, and the snapshot files its tasks reported: those of the
   * round awaited, which enters the chains once every partition answered if every partition's file
   * is there. A batch that asked for a new round settles the one before whatever it holds, since
   * its tasks waited for their partitions' writes.
   */
  void completed(BatchRecord batch, List<SnapshotWritten> reports, boolean replay) {
    stateVersionMs = batch.getBatchTimeMs();
    takeReports(reports);
    boolean asksRound = asked != null && asked.batchMs == batch.getBatchTimeMs();
    if (awaited != null && (asksRound || awaited.answered())) {
      if (!settle(awaited) && asksRound) {
        asked.doomed = asked.asked.values().stream().anyMatch(a -> !a.full());
      }
      awaited = null;
    }
    if (asksRound) {
      awaited = asked;
    }
    asked = null;
    if (!replay && hasState()) {
      replayLog.add(batch);
    }
    dropReplayedBySnapshots();
  }

  /** Whether the last completed batch took snapshots that no task has reported yet. */
  boolean awaitsReports() {
    return awaited != null;
  }

  /**
   * Records the snapshot files of the last completed batch, collected from the executors when the
   * driver stops instead of from the next batch's tasks: the round enters the chains if every
   * partition's file is there, and the next start resumes from it instead of replaying up to a
   * checkpoint interval of batches. Returns whether the round entered the chains.
   */
  boolean lastReports(List<SnapshotWritten> reports) {
    takeReports(reports);
    boolean settled = awaited != null && settle(awaited);
    awaited = null;
    dropReplayedBySnapshots();
    return settled;
  }

  private void takeReports(List<SnapshotWritten> reports) {
    for (SnapshotWritten s : reports) {
      PartitionId id = new PartitionId(s.getNodeId(), s.getPartition());
      Asked expected = awaited == null ? null : awaited.asked.get(id);
      if (expected != null && expected.path().equals(s.getPath())) {
        if (s.getError().isEmpty()) {
          awaited.reported.put(id, s);
        } else {
          awaited.failed.add(id);
        }
      } else if (s.getError().isEmpty()) {
        // Taken for a round this driver gave up, or by an earlier driver: no metadata file refers to it.
        newlyRetired.add(s.getPath());
      }
    }
  }

  private void dropReplayedBySnapshots() {
    long snapshotMs = snapshotBatchMs();
    replayLog.removeIf(b -> b.getBatchTimeMs() <= snapshotMs);
  }

  /**
   * Puts a round's files in the chains when every partition's is there and follows its chain; else
   * drops them. Returns whether the round made it.
   */
  private boolean settle(Round round) {
    if (round.doomed) {
      round.reported.values().forEach(s -> newlyRetired.add(s.getPath()));
      return false;
    }
    List<String> missing = new ArrayList<>();
    for (PartitionId id : round.asked.keySet()) {
      SnapshotWritten s = round.reported.get(id);
      Chain chain = chains.get(id);
      if (s == null) {
        missing.add(id.nodeId() + "/" + id.partition() + " (not written)");
      } else if (!s.getFull() && (chain == null || chain.files().isEmpty() || chain.batchMs() != s.getDeltaBaseBatchMs())) {
        missing.add(id.nodeId() + "/" + id.partition() + " (a delta of a snapshot that is not in its chain)");
      }
    }
    if (!missing.isEmpty()) {
      round.reported.values().forEach(s -> newlyRetired.add(s.getPath()));
      long kept = snapshotBatchMs();
      LOG.warn("The snapshots of batch {} are not used, for want of partitions {}; {}", round.batchMs, missing,
          kept == 0 ? "no snapshot holds the whole state yet" : "the last that holds the whole state is of batch " + kept);
      return false;
    }
    round.reported.forEach((id, s) -> {
      Chain old = chains.get(id);
      if (s.getFull()) {
        if (old != null) {
          newlyRetired.addAll(old.files());
        }
        chains.put(id, new Chain(round.batchMs, List.of(s.getPath()), s.getKeys(), 0));
      } else {
        List<String> files = new ArrayList<>(old.files());
        files.add(s.getPath());
        chains.put(id, new Chain(round.batchMs, files, old.fullKeys(), old.deltaKeys() + s.getKeys()));
      }
    });
    return true;
  }

  /**
   * Deletes the snapshot files that drivers before {@code epoch} began and that no metadata file in
   * {@code store} refers to: the last round of a stopped or killed driver, whose files the next
   * batch never reported. Deletes nothing if a metadata file cannot be read, as its files are
   * unknown; a failure only leaves files behind, so it is logged, not thrown.
   */
  static void deleteEarlierEpochsFiles(MetadataStore store, long epoch) {
    try {
      FileSystem fs = store.fileSystem();
      Path stateDir = new Path(store.directory(), STATE_DIR);
      if (!fs.exists(stateDir)) {
        return;
      }
      Set<String> referenced = new HashSet<>();
      for (Path metadata : store.list()) {
        store.read(metadata).getStateSnapshotsList()
            .forEach(s -> s.getFilesList().forEach(f -> referenced.add(new Path(f).toUri().getPath())));
      }
      // state/<operator>/<partition>/<file>, listed level by level: the files of this epoch come and
      // go meanwhile, and a recursive listing fails on the local file system when one vanishes.
      for (FileStatus operator : fs.listStatus(stateDir)) {
        for (FileStatus partition : operator.isDirectory() ? fs.listStatus(operator.getPath()) : new FileStatus[0]) {
          for (FileStatus file : partition.isDirectory() ? fs.listStatus(partition.getPath()) : new FileStatus[0]) {
            Path path = file.getPath();
            Matcher m = EPOCH_IN_NAME.matcher(path.getName());
            if (m.find() && Long.parseLong(m.group(1)) < epoch && !referenced.contains(path.toUri().getPath())
                && fs.delete(path, false)) {
              LOG.info("Removed {}, a snapshot file no metadata file refers to, left by an earlier attempt", path);
            }
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      LOG.warn("Snapshot files that earlier attempts left unrecorded stay in {}: {}", store.directory(), e.toString());
    }
  }

  /** The batch every partition's snapshot has reached (0 while some partition has none). */
  private long snapshotBatchMs() {
    long expected = stateful.stream().mapToLong(OperatorNode::partitions).sum();
    if (chains.size() < expected) {
      return 0;
    }
    return chains.values().stream().mapToLong(Chain::batchMs).min().orElse(0);
  }

  /** Takes in the sizes a batch's tasks reported for the partitions they updated. */
  void sized(List<StateSize> reported) {
    reported.forEach(s -> sizes.put(new PartitionId(s.getNodeId(), s.getPartition()), s));
  }

  /** Each stateful operator's size and recorded snapshots, in graph order, for the status. */
  List<StateOperatorStatus> status() {
    List<StateOperatorStatus> out = new ArrayList<>();
    for (OperatorNode n : stateful) {
      StateOperatorStatus.Builder b = StateOperatorStatus.newBuilder().setNodeId(n.id()).setPartitions(n.partitions());
      long oldestSnapshot = Long.MAX_VALUE;
      for (int p = 0; p < n.partitions(); p++) {
        PartitionId id = new PartitionId(n.id(), p);
        StateSize size = sizes.get(id);
        if (size != null) {
          b.setKeys(b.getKeys() + size.getKeys()).setChangedKeys(b.getChangedKeys() + size.getChangedKeys());
        }
        Chain chain = chains.get(id);
        if (chain == null || chain.files().isEmpty()) {
          oldestSnapshot = 0;
        } else {
          oldestSnapshot = Math.min(oldestSnapshot, chain.batchMs());
          b.setSnapshotFiles(b.getSnapshotFiles() + chain.files().size())
              .setSnapshotKeys(b.getSnapshotKeys() + chain.fullKeys() + chain.deltaKeys());
        }
      }
      out.add(b.setSnapshotBatchMs(oldestSnapshot == Long.MAX_VALUE ? 0 : oldestSnapshot).build());
    }
    return out;
  }

  List<StateSnapshot> snapshots() {
    List<StateSnapshot> out = new ArrayList<>();
    chains.forEach((id, c) -> out.add(StateSnapshot.newBuilder().setNodeId(id.nodeId()).setPartition(id.partition())
        .setBatchTimeMs(c.batchMs()).addAllFiles(c.files()).setFullKeys(c.fullKeys()).setDeltaKeys(c.deltaKeys())
        .build()));
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
