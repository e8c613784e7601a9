package io.sluice.runtime;

import io.sluice.api.BatchInfo;
import io.sluice.api.Codec;
import io.sluice.api.Functions.BatchFunction;
import io.sluice.checkpoint.FileContexts;
import io.sluice.codec.RecordCodecs;
import io.sluice.graph.OperatorKind;
import io.sluice.graph.OperatorNode;
import io.sluice.graph.StreamGraph;
import io.sluice.proto.BatchContext;
import io.sluice.proto.BatchRecord;
import io.sluice.proto.CollectedRecords;
import io.sluice.proto.InputDescriptor;
import io.sluice.proto.MapOutputLocation;
import io.sluice.proto.ShuffleRead;
import io.sluice.proto.SnapshotWritten;
import io.sluice.proto.SourcePartition;
import io.sluice.proto.StageStats;
import io.sluice.proto.StateSize;
import io.sluice.proto.TaskRequest;
import io.sluice.proto.TaskResult;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one planned batch to its committed outputs: the stages of tasks, the driver-side outputs,
 * and the commit of every {@code saveAsTextFiles} directory by one rename. Confined to the driver's
 * thread.
 */
final class BatchExecution {
  private static final Logger LOG = LoggerFactory.getLogger(BatchExecution.class);
  /** The name of the stage of a batch's source tasks. */
  private static final String INPUT_STAGE = "input";

  private final StreamGraph graph;
  private final ExecutionPlan plan;
  private final TaskService tasks;
  private final Configuration hadoopConf;
  private final Clock clock;

  BatchExecution(StreamGraph graph, TaskService tasks, Configuration hadoopConf, Clock clock) {
    this.graph = graph;
    this.plan = new ExecutionPlan(graph);
    this.tasks = tasks;
    this.hadoopConf = hadoopConf;
    this.clock = clock;
  }

  /** What running a batch took and wrote, and how long each of its stages took. */
  record Outcome(int tasks, List<SnapshotWritten> snapshots, List<StateSize> stateSizes, List<StageStats> stages) {}

  /** Checked right before a batch's outputs are committed; throws when this driver may no longer commit. */
  @FunctionalInterface
  interface CommitFence {
    void check() throws Exception;
  }

  /**
   * Runs the batch. A replay rebuilds state only: its tasks skip outputs and nothing is committed.
   */
  Outcome run(BatchRecord batch, BatchInfo info, boolean replay, StateCheckpoints state, CommitFence fence)
      throws Exception {
    long t = batch.getBatchTimeMs();
    BatchContext ctx = BatchContext.newBuilder().setBatchTimeMs(t).setStartTimeMs(info.startTime().millis())
        .setBatchIntervalMs(info.interval().millis()).setEpoch(info.epoch()).build();
    if (!replay) {
      graph.accumulators().discardBatch();
      prepareTextOutputs(info);
    }
    List<StageStats> stages = new ArrayList<>();
    List<TaskService.CompletedTask> done = new ArrayList<>(runStage(INPUT_STAGE, sourceTasks(batch, ctx, replay),
        stages));
    for (int stage = 1; stage <= plan.shuffleStages(); stage++) {
      List<TaskRequest> reduceTasks = new ArrayList<>();
      List<String> names = new ArrayList<>();
      for (OperatorNode shuffle : plan.shufflesOfStage(stage)) {
        List<MapOutputLocation> locations = mapOutputs(shuffle, done);
        OperatorNode stateful = shuffle.kind().isStateful() ? shuffle : plan.fusedStateOf(shuffle).orElse(null);
        names.add(stateful == null || stateful == shuffle ? shuffle.id() : shuffle.id() + "+" + stateful.id());
        for (int p = 0; p < shuffle.partitions(); p++) {
          TaskRequest.Builder task = TaskRequest.newBuilder().setTaskId("r-" + shuffle.id() + "-" + p).setBatch(ctx)
              .setReplay(replay)
              .setShuffle(ShuffleRead.newBuilder().setNodeId(shuffle.id()).setPartition(p).addAllMapOutputs(locations));
          if (stateful != null) {
            // A state partition stays where it is: the same slot every batch.
            task.setPlacement(p).setState(state.access(stateful, p, t, info.epoch(), replay));
          }
          reduceTasks.add(task.build());
        }
      }
      done.addAll(runStage(String.join(", ", names), reduceTasks, stages));
    }
    if (!replay) {
      done.forEach(d -> graph.accumulators().addTaskAmounts(d.result().getAccumulatorsList()));
      fence.check();
      runDriverOutputs(done, info);
      commitTextOutputs(batch, info);
    }
    tasks.release(t);
    return new Outcome(done.size(), done.stream().flatMap(d -> d.result().getSnapshotsList().stream()).toList(),
        done.stream().flatMap(d -> d.result().getStateSizesList().stream()).toList(), stages);
  }

  /** Runs a stage's tasks, and adds what it took to {@code stages}. */
  private List<TaskService.CompletedTask> runStage(String name, List<TaskRequest> requests, List<StageStats> stages)
      throws Exception {
    long startNanos = clock.monotonicNanos();
    List<TaskService.CompletedTask> done = tasks.runAll(requests);
    StageStats.Builder stage = StageStats.newBuilder().setName(name).setTasks(requests.size())
        .setWallMs((clock.monotonicNanos() - startNanos) / 1_000_000L);
    done.stream().map(TaskService.CompletedTask::result).max(Comparator.comparingLong(TaskResult::getRunMs))
        .ifPresent(slowest -> stage.setSlowestTaskId(slowest.getTaskId()).setSlowestTaskMs(slowest.getRunMs()));
    stages.add(stage.build());
    return done;
  }

  private static List<TaskRequest> sourceTasks(BatchRecord batch, BatchContext ctx, boolean replay) {
    List<TaskRequest> requests = new ArrayList<>();
    for (InputDescriptor input : batch.getInputsList()) {
      int partitions = switch (input.getKindCase()) {
        case GENERATOR -> input.getGenerator().getPartitions();
        case FILES -> input.getFiles().getPathsCount();
        default -> throw new IllegalStateException("input without kind for " + input.getSourceId());
      };
      for (int p = 0; p < partitions; p++) {
        requests.add(TaskRequest.newBuilder().setTaskId("m-" + input.getSourceId() + "-" + p).setBatch(ctx)
            .setReplay(replay).setSource(SourcePartition.newBuilder().setInput(input).setPartition(p)).build());
      }
    }
    return requests;
  }

  private static List<MapOutputLocation> mapOutputs(OperatorNode shuffle, List<TaskService.CompletedTask> done) {
    Map<String, MapOutputLocation.Builder> byLocation = new LinkedHashMap<>();
    for (TaskService.CompletedTask task : done) {
      if (task.result().getShuffleNodeIdsList().contains(shuffle.id())) {
        byLocation.computeIfAbsent(task.location(), l -> MapOutputLocation.newBuilder().setExecutorAddress(l))
            .addTaskIds(task.result().getTaskId());
      }
    }
    return byLocation.values().stream().map(MapOutputLocation.Builder::build).toList();
  }

  @SuppressWarnings("unchecked")
  private void runDriverOutputs(List<TaskService.CompletedTask> done, BatchInfo info) throws Exception {
    for (OperatorNode node : graph.nodes()) {
      if (node.kind() != OperatorKind.FOREACH_BATCH || !runsAt(node, info)) {
        continue;
      }
      Codec<Object> codec = node.parents().get(0).codec();
      List<Object> records = new ArrayList<>();
      for (TaskService.CompletedTask task : done) {
        for (CollectedRecords c : task.result().getCollectedList()) {
          if (c.getNodeId().equals(node.id())) {
            c.getRecordsList().forEach(r -> records.add(RecordCodecs.decode(codec, r.toByteArray())));
          }
        }
      }
      try {
        ((BatchFunction<Object>) node.function()).apply(info, records);
      } catch (Exception e) {
        throw new OperatorException(node.id(), e);
      }
    }
  }

  private void prepareTextOutputs(BatchInfo info) throws IOException {
    for (OperatorNode node : graph.ofRole(OperatorKind.Role.OUTPUT)) {
      if (node.kind() == OperatorKind.SAVE_AS_TEXT && runsAt(node, info)) {
        Path temp = uncommitted(node, info);
        FileSystem fs = temp.getFileSystem(hadoopConf);
        fs.delete(temp, true);
        fs.mkdirs(temp);
      }
    }
  }

  private void commitTextOutputs(BatchRecord batch, BatchInfo info) throws IOException {
    for (OperatorNode node : graph.ofRole(OperatorKind.Role.OUTPUT)) {
      if (node.kind() != OperatorKind.SAVE_AS_TEXT || !runsAt(node, info)) {
        continue;
      }
      Path temp = uncommitted(node, info);
      Path target = OutputPaths.committed(node.param("prefix"), node.param("suffix"), info.time().millis());
      FileContext fc = FileContexts.of(target.getFileSystem(hadoopConf));
      try {
        // Rename.NONE fails when the target exists, so of two racing drivers exactly one commits.
        fc.rename(temp, target, Options.Rename.NONE);
      } catch (FileAlreadyExistsException e) {
        LOG.warn("Batch {}: output {} was already committed; discarding this run's copy", info.time().millis(), target);
        fc.delete(temp, true);
      }
      deleteEarlierAttemptsCopies(temp.getFileSystem(hadoopConf), node, batch, info);
    }
  }

  /**
   * Removes the hidden output directories that drivers of epochs before {@code epoch} left behind:
   * called once when a driver resumes, which covers batches the checkpoint it resumed from does
   * not know of (when a newer metadata file was damaged).
   */
  void deleteEarlierEpochsLeftovers(long epoch) throws IOException {
    for (OperatorNode node : graph.ofRole(OperatorKind.Role.OUTPUT)) {
      if (node.kind() != OperatorKind.SAVE_AS_TEXT) {
        continue;
      }
      Path anyBatch = OutputPaths.uncommitted(node.param("prefix"), node.param("suffix"), 0, 0);
      FileSystem fs = anyBatch.getFileSystem(hadoopConf);
      if (!fs.exists(anyBatch.getParent())) {
        continue;
      }
      for (FileStatus s : fs.listStatus(anyBatch.getParent(), OutputPaths::isUncommitted)) {
        if (OutputPaths.epochOf(s.getPath()) < epoch && fs.delete(s.getPath(), true)) {
          LOG.info("Removed {}, left by an earlier attempt", s.getPath());
        }
      }
    }
  }

  /**
   * A driver killed while writing a batch leaves its epoch's hidden directory behind. Only epochs
   * from the one that planned the batch up to this one can have written it, and once it is
   * committed none of the older ones can commit it (they are fenced), so their copies are removed.
   */
  private static void deleteEarlierAttemptsCopies(FileSystem fs, OperatorNode node, BatchRecord batch,
      BatchInfo info) throws IOException {
    for (long epoch = batch.getEpoch(); epoch < info.epoch(); epoch++) {
      Path stale = OutputPaths.uncommitted(node.param("prefix"), node.param("suffix"), info.time().millis(), epoch);
      if (fs.delete(stale, true)) {
        LOG.info("Batch {}: removed {} left by an earlier attempt", info.time().millis(), stale);
      }
    }
  }

  /** Outputs of a windowed stream run once per slide, as Spark Streaming's do. */
  private static boolean runsAt(OperatorNode output, BatchInfo info) {
    return output.hasBatchAt(info.time().millis(), info.startTime().millis());
  }

  private static Path uncommitted(OperatorNode node, BatchInfo info) {
    return OutputPaths.uncommitted(node.param("prefix"), node.param("suffix"), info.time().millis(), info.epoch());
  }
}
