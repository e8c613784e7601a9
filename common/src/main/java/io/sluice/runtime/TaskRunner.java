package io.sluice.runtime;

import io.sluice.api.BatchInfo;
import io.sluice.api.Duration;
import io.sluice.api.Time;
import io.sluice.graph.OperatorNode;
import io.sluice.graph.StreamGraph;
import io.sluice.proto.BatchContext;
import io.sluice.proto.GeneratorInput;
import io.sluice.proto.InputDescriptor;
import io.sluice.proto.ShuffleRead;
import io.sluice.proto.StateAccess;
import io.sluice.proto.SourcePartition;
import io.sluice.proto.TaskRequest;
import io.sluice.proto.TaskResult;
import io.sluice.source.WordGenerator;
import io.sluice.state.BackgroundSnapshots;
import io.sluice.state.StateStores;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Runs one task of a batch: reads its root's records (a source partition, or a shuffle partition
 * fetched from the map tasks) and pushes them through the operators below it. Shared by the
 * executors and the local runner; stateless and thread-safe.
 */
public final class TaskRunner {
  private final StreamGraph graph;
  private final ShuffleStore shuffleStore;
  private final ShuffleFetcher fetcher;
  private final Configuration hadoopConf;
  private final StateStores stateStores = new StateStores();

  public TaskRunner(StreamGraph graph, ShuffleStore shuffleStore, ShuffleFetcher fetcher, Configuration hadoopConf) {
    this.graph = graph;
    this.shuffleStore = shuffleStore;
    this.fetcher = fetcher;
    this.hadoopConf = hadoopConf;
  }

  /** The state partitions this JVM holds. */
  public StateStores stateStores() {
    return stateStores;
  }

  /**
   * The driver is done with the batches up to {@code batchMs}: their shuffle data can go, and their
   * state snapshots be written.
   */
  public void release(long batchMs) {
    shuffleStore.release(batchMs);
    stateStores.snapshots().batchDone(batchMs);
  }

  public TaskResult run(TaskRequest request) throws Exception {
    long startNanos = System.nanoTime();
    BatchContext b = request.getBatch();
    BatchInfo info = new BatchInfo(new Time(b.getBatchTimeMs()), new Time(b.getStartTimeMs()),
        Duration.ofMillis(b.getBatchIntervalMs()), b.getEpoch());
    TaskResult.Builder result = TaskResult.newBuilder().setTaskId(request.getTaskId());
    int partition = request.hasShuffle() ? request.getShuffle().getPartition() : request.getSource().getPartition();
    Pipeline.TaskContext ctx = new Pipeline.TaskContext(request.getTaskId(), info, shuffleStore, hadoopConf, result,
        request.getReplay(), partition, request.getState(), stateStores);
    try (BackgroundSnapshots.TaskRunning running = stateStores.snapshots().taskRunning()) {
      graph.accumulators().collectingTaskAmounts(() -> {
        switch (request.getRootCase()) {
          case SOURCE -> runSource(request.getSource(), ctx);
          case SHUFFLE -> runShuffle(request.getShuffle(), request.getState(), ctx);
          default -> throw new IllegalArgumentException("task " + request.getTaskId() + " has no root");
        }
        return null;
      }, result::addAllAccumulators);
    }
    return result.setRunMs((System.nanoTime() - startNanos) / 1_000_000L).build();
  }

  private void runSource(SourcePartition source, Pipeline.TaskContext ctx) throws Exception {
    InputDescriptor input = source.getInput();
    OperatorNode root = graph.node(input.getSourceId());
    Emitter out = new Pipeline(graph, root, ctx).rootOutput(root);
    long records = 0;
    switch (input.getKindCase()) {
      case GENERATOR -> {
        GeneratorInput g = input.getGenerator();
        long from = WordGenerator.firstLine(source.getPartition(), g.getPartitions(), g.getLines());
        long to = WordGenerator.firstLine(source.getPartition() + 1, g.getPartitions(), g.getLines());
        long count = Math.max(1, g.getBatchCount());
        for (long b = g.getBatchIndex() - count + 1; b <= g.getBatchIndex(); b++) {
          for (long j = from; j < to; j++) {
            out.emit(WordGenerator.line(b, j, g.getVocabulary()));
          }
        }
        records = (to - from) * count;
      }
      case FILES -> {
        Path path = new Path(input.getFiles().getPaths(source.getPartition()));
        FileSystem fs = path.getFileSystem(hadoopConf);
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(fs.open(path), StandardCharsets.UTF_8))) {
          String line;
          while ((line = reader.readLine()) != null) {
            out.emit(line);
            records++;
          }
        }
      }
      default -> throw new IllegalArgumentException("input of " + input.getSourceId() + " has no kind");
    }
    out.finish();
    ctx.result().setRecordsRead(records);
  }

  private void runShuffle(ShuffleRead read, StateAccess state, Pipeline.TaskContext ctx) throws Exception {
    OperatorNode root = graph.node(read.getNodeId());
    long batchMs = ctx.batch().time().millis();
    try (ShuffleInput input = fetcher.fetch(batchMs, read.getNodeId(), read.getPartition(), read.getMapOutputsList())) {
      Iterable<ShuffleChunk> blocks = input.chunks();
      Pipeline pipeline = new Pipeline(graph, root, ctx);
      if (root.kind().isStateful()) {
        new StatefulUpdate(root).runOnBlocks(blocks, null, read.getPartition(), ctx.batch(), state, stateStores,
            hadoopConf, pipeline.stateOutputs(root)).addTo(ctx.result());
      } else if (feedsOnlyItsFusedState(root, state)) {
        // The shuffle's records go to the state update as they are, keys still encoded: decoding each
        // key into a record and encoding it again for the state would double the batch's work.
        OperatorNode stateful = graph.node(state.getNodeId());
        new StatefulUpdate(stateful).runOnBlocks(blocks, new ShuffleOperator(root), read.getPartition(), ctx.batch(),
            state, stateStores, hadoopConf, pipeline.stateOutputs(stateful)).addTo(ctx.result());
      } else {
        new ShuffleOperator(root).read(blocks, pipeline.rootOutput(root));
      }
    }
  }

  /** Whether the only reader of {@code shuffle}'s output is the stateful operator updated in its reduce tasks. */
  private boolean feedsOnlyItsFusedState(OperatorNode shuffle, StateAccess state) {
    if (state.getNodeId().isEmpty() || state.getNodeId().equals(shuffle.id())) {
      return false;
    }
    List<OperatorNode> children = graph.children(shuffle);
    return children.size() == 1 && children.get(0).id().equals(state.getNodeId());
  }
}
