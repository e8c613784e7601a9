package io.sluice.runtime;

import io.sluice.api.BatchInfo;
import io.sluice.api.Codec;
import io.sluice.api.Functions.FilterFunction;
import io.sluice.api.Functions.FlatMapFunction;
import io.sluice.api.Functions.MapFunction;
import io.sluice.api.Functions.PairFunction;
import io.sluice.api.Functions.PartitionFunction;
import io.sluice.api.Pair;
import io.sluice.codec.RecordCodecs;
import io.sluice.graph.OperatorKind;
import io.sluice.graph.OperatorNode;
import io.sluice.graph.StreamGraph;
import io.sluice.proto.CollectedRecords;
import io.sluice.proto.StateAccess;
import io.sluice.proto.TaskResult;
import io.sluice.state.StateStores;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import com.google.protobuf.ByteString;
import java.io.BufferedWriter;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The operators one task runs, as a push pipeline from its root (a source partition or a shuffle
 * partition) down to shuffle writers and outputs. Confined to the task's thread.
 */
final class Pipeline {
  private final StreamGraph graph;
  private final TaskContext task;
  private final Map<OperatorNode, Integer> incomingEdges = new HashMap<>();
  private final Map<OperatorNode, Emitter> emitters = new HashMap<>();

  /** What the operators of one task share. */
  record TaskContext(String taskId, BatchInfo batch, ShuffleStore shuffleStore, Configuration hadoopConf,
      TaskResult.Builder result, boolean replay, int partition, StateAccess state, StateStores stateStores) {}

  Pipeline(StreamGraph graph, OperatorNode root, TaskContext task) {
    this.graph = graph;
    this.task = task;
    countIncomingEdges(root);
  }

  /** The emitter that receives the root's output records. */
  Emitter rootOutput(OperatorNode root) {
    return fanout(root);
  }

  /**
   * Where a stateful operator's records go: its state snapshots to its {@code stateSnapshots()}
   * streams (none when it has none), everything else to its other children.
   */
  StatefulUpdate.Outputs stateOutputs(OperatorNode node) {
    boolean hasSnapshots = graph.children(node).stream().anyMatch(c -> c.kind() == OperatorKind.STATE_SNAPSHOTS);
    return new StatefulUpdate.Outputs(fanout(node, c -> c.kind() != OperatorKind.STATE_SNAPSHOTS),
        hasSnapshots ? fanout(node, c -> c.kind() == OperatorKind.STATE_SNAPSHOTS) : null);
  }

  private void countIncomingEdges(OperatorNode root) {
    Deque<OperatorNode> todo = new ArrayDeque<>(List.of(root));
    while (!todo.isEmpty()) {
      OperatorNode n = todo.pop();
      boolean passesRecordsOn = n == root || n.kind().role() == OperatorKind.Role.NARROW
          || n.id().equals(task.state().getNodeId());
      if (!passesRecordsOn) {
        continue;
      }
      for (OperatorNode child : graph.children(n)) {
        for (OperatorNode parent : child.parents()) {
          if (parent == n && incomingEdges.merge(child, 1, Integer::sum) == 1) {
            todo.push(child);
          }
        }
      }
    }
  }

  private Emitter fanout(OperatorNode node) {
    return fanout(node, child -> true);
  }

  private Emitter fanout(OperatorNode node, java.util.function.Predicate<OperatorNode> which) {
    List<Emitter> targets = new ArrayList<>();
    for (OperatorNode child : graph.children(node)) {
      if (!which.test(child)) {
        continue;
      }
      for (OperatorNode parent : child.parents()) {
        if (parent == node) {
          targets.add(emitterFor(child));
        }
      }
    }
    if (targets.size() == 1) {
      return targets.get(0);
    }
    return new Emitter() {
      @Override
      public void emit(Object record) throws Exception {
        for (Emitter t : targets) {
          t.emit(record);
        }
      }

      @Override
      public void finish() throws Exception {
        for (Emitter t : targets) {
          t.finish();
        }
      }
    };
  }

  private Emitter emitterFor(OperatorNode node) {
    Emitter existing = emitters.get(node);
    if (existing != null) {
      return existing;
    }
    Emitter created = create(node, incomingEdges.get(node));
    emitters.put(node, created);
    return created;
  }

  @SuppressWarnings("unchecked")
  private OperatorEmitter create(OperatorNode node, int edges) {
    if (node.kind().role() == OperatorKind.Role.OUTPUT
        && (task.replay() || !node.hasBatchAt(task.batch().time().millis(), task.batch().startTime().millis()))) {
      return new Discard(node, edges);
    }
    Object f = node.function();
    return switch (node.kind()) {
      case MAP -> new MapEmitter(node, edges, (MapFunction<Object, Object>) f, fanout(node));
      case FLAT_MAP -> new FlatMapEmitter(node, edges, (FlatMapFunction<Object, Object>) f, fanout(node));
      case FILTER -> new FilterEmitter(node, edges, (FilterFunction<Object>) f, fanout(node));
      case MAP_TO_PAIR -> new MapToPairEmitter(node, edges, (PairFunction<Object, Object, Object>) f, fanout(node));
      case MAP_VALUES -> new MapValuesEmitter(node, edges, (MapFunction<Object, Object>) f, fanout(node));
      case UNION, STATE_SNAPSHOTS -> new PassThrough(node, edges, fanout(node));
      case TRANSFORM -> transform(node, edges, (PartitionFunction<Object, Object>) f);
      case UPDATE_STATE_BY_KEY, MAP_WITH_STATE ->
          node.id().equals(task.state().getNodeId()) ? fusedState(node, edges) : shuffleWriter(node, edges);
      case REDUCE_BY_KEY, GROUP_BY_KEY, COUNT_BY_VALUE, REDUCE, COUNT, WINDOW, REDUCE_BY_WINDOW, REDUCE_BY_KEY_AND_WINDOW,
          COUNT_BY_VALUE_AND_WINDOW -> shuffleWriter(node, edges);
      case FOREACH_BATCH -> collect(node, edges);
      case SAVE_AS_TEXT -> textWriter(node, edges);
      case FILE_SOURCE, GENERATOR_SOURCE -> throw new IllegalStateException("a source has no input: " + node);
    };
  }

  private OperatorEmitter shuffleWriter(OperatorNode node, int edges) {
    return new ShuffleOperator(node).writer(task.shuffleStore(), task.batch().time().millis(), task.taskId(), edges,
        () -> task.result().addShuffleNodeIds(node.id()));
  }

  /**
   * A stateful operator updated inside its parent's reduce task: the parent's output (one value
   * per key of this partition) is the batch's input to the state update.
   */
  private OperatorEmitter fusedState(OperatorNode node, int edges) {
    StatefulUpdate.Outputs out = stateOutputs(node);
    StatefulUpdate update = new StatefulUpdate(node);
    Map<ByteBuffer, Object> batchValues = new LinkedHashMap<>();
    return new OperatorEmitter(node.id(), edges) {
      @Override
      @SuppressWarnings("unchecked")
      public void emit(Object record) throws Exception {
        try {
          Pair<Object, Object> p = (Pair<Object, Object>) record;
          ((List<Object>) batchValues.computeIfAbsent(update.encodeKey(p.key()), k -> new ArrayList<>(1))).add(p.value());
        } catch (Exception e) {
          throw failure(e);
        }
      }

      @Override
      void flush() throws Exception {
        update.run(batchValues, task.partition(), task.batch(), task.state(), task.stateStores(),
            task.hadoopConf(), out).addTo(task.result());
      }
    };
  }

  /** Where a replayed batch's outputs go (a replay only rebuilds state), and those of a window between its slides. */
  private static final class Discard extends OperatorEmitter {
    Discard(OperatorNode node, int edges) {
      super(node.id(), edges);
    }

    @Override
    public void emit(Object record) {}

    @Override
    void flush() {}
  }

  /**
   * An operator that turns each record into records for the emitter below it, and finishes when its
   * input has. Each kind is a class of its own, with its own call to {@link #out}, so that the JIT
   * profiles (and inlines) each kind's downstream call apart from the others'.
   */
  private abstract static class NarrowEmitter extends OperatorEmitter {
    final Emitter out;

    NarrowEmitter(OperatorNode node, int edges, Emitter out) {
      super(node.id(), edges);
      this.out = out;
    }

    @Override
    final void flush() throws Exception {
      out.finish();
    }
  }

  /** An operator that passes each record on unchanged: a union, and the state snapshots of a stateful operator. */
  private static final class PassThrough extends NarrowEmitter {
    PassThrough(OperatorNode node, int edges, Emitter out) {
      super(node, edges, out);
    }

    @Override
    public void emit(Object record) throws Exception {
      out.emit(record);
    }
  }

  private static final class MapEmitter extends NarrowEmitter {
    private final MapFunction<Object, Object> f;

    MapEmitter(OperatorNode node, int edges, MapFunction<Object, Object> f, Emitter out) {
      super(node, edges, out);
      this.f = f;
    }

    @Override
    public void emit(Object record) throws Exception {
      try {
        out.emit(f.apply(record));
      } catch (Exception e) {
        throw failure(e);
      }
    }
  }

  private static final class FlatMapEmitter extends NarrowEmitter {
    private final FlatMapFunction<Object, Object> f;

    FlatMapEmitter(OperatorNode node, int edges, FlatMapFunction<Object, Object> f, Emitter out) {
      super(node, edges, out);
      this.f = f;
    }

    @Override
    public void emit(Object record) throws Exception {
      try {
        for (Object x : f.apply(record)) {
          out.emit(x);
        }
      } catch (Exception e) {
        throw failure(e);
      }
    }
  }

  private static final class FilterEmitter extends NarrowEmitter {
    private final FilterFunction<Object> f;

    FilterEmitter(OperatorNode node, int edges, FilterFunction<Object> f, Emitter out) {
      super(node, edges, out);
      this.f = f;
    }

    @Override
    public void emit(Object record) throws Exception {
      try {
        if (f.test(record)) {
          out.emit(record);
        }
      } catch (Exception e) {
        throw failure(e);
      }
    }
  }

  private static final class MapToPairEmitter extends NarrowEmitter {
    private final PairFunction<Object, Object, Object> f;

    MapToPairEmitter(OperatorNode node, int edges, PairFunction<Object, Object, Object> f, Emitter out) {
      super(node, edges, out);
      this.f = f;
    }

    @Override
    public void emit(Object record) throws Exception {
      try {
        out.emit(f.apply(record));
      } catch (Exception e) {
        throw failure(e);
      }
    }
  }

  private static final class MapValuesEmitter extends NarrowEmitter {
    private final MapFunction<Object, Object> f;

    MapValuesEmitter(OperatorNode node, int edges, MapFunction<Object, Object> f, Emitter out) {
      super(node, edges, out);
      this.f = f;
    }

    @Override
    @SuppressWarnings("unchecked")
    public void emit(Object record) throws Exception {
      try {
        Pair<Object, Object> p = (Pair<Object, Object>) record;
        out.emit(Pair.of(p.key(), f.apply(p.value())));
      } catch (Exception e) {
        throw failure(e);
      }
    }
  }

  private OperatorEmitter transform(OperatorNode node, int edges, PartitionFunction<Object, Object> f) {
    Emitter out = fanout(node);
    List<Object> partition = new ArrayList<>();
    return new OperatorEmitter(node.id(), edges) {
      @Override
      public void emit(Object record) {
        partition.add(record);
      }

      @Override
      void flush() throws Exception {
        for (Object r : f.apply(task.batch(), partition)) {
          out.emit(r);
        }
        out.finish();
      }
    };
  }

  private OperatorEmitter collect(OperatorNode node, int edges) {
    Codec<Object> codec = node.parents().get(0).codec();
    CollectedRecords.Builder collected = CollectedRecords.newBuilder().setNodeId(node.id());
    return new OperatorEmitter(node.id(), edges) {
      @Override
      public void emit(Object record) throws Exception {
        try {
          collected.addRecords(ByteString.copyFrom(RecordCodecs.encode(codec, record, node.id())));
        } catch (Exception e) {
          throw failure(e);
        }
      }

      @Override
      void flush() {
        task.result().addCollected(collected);
      }
    };
  }

  private OperatorEmitter textWriter(OperatorNode node, int edges) {
    Path dir = OutputPaths.uncommitted(node.param("prefix"), node.param("suffix"), task.batch().time().millis(),
        task.batch().epoch());
    Path file = new Path(dir, "part-" + task.taskId());
    return new OperatorEmitter(node.id(), edges) {
      private BufferedWriter writer;

      @Override
      public void emit(Object record) throws Exception {
        try {
          if (writer == null) {
            FileSystem fs = file.getFileSystem(task.hadoopConf());
            writer = new BufferedWriter(new OutputStreamWriter(fs.create(file, true), StandardCharsets.UTF_8));
          }
          writer.write(String.valueOf(record));
          writer.write('\n');
        } catch (Exception e) {
          throw failure(e);
        }
      }

      @Override
      void flush() throws Exception {
        if (writer != null) {
          writer.close();
          task.result().addWrittenFiles(file.toString());
        }
      }
    };
  }
}
