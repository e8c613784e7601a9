package io.sluice.runtime;

import io.sluice.graph.OperatorKind;
import io.sluice.graph.OperatorNode;
import io.sluice.graph.StreamGraph;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The stages of a batch: stage 0 runs the source partitions, stage k the reduce partitions of the
 * shuffles whose deepest input comes out of stage k-1. A stage starts when the one before it ends.
 */
public final class ExecutionPlan {
  private final List<List<OperatorNode>> shufflesByStage = new ArrayList<>();
  private final Map<OperatorNode, OperatorNode> fusedState = new HashMap<>();

  public ExecutionPlan(StreamGraph graph) {
    Map<OperatorNode, Integer> level = new HashMap<>();
    for (OperatorNode n : graph.nodes()) {
      int parentLevel = n.parents().stream().mapToInt(level::get).max().orElse(0);
      if (fusable(n) && !fusedState.containsKey(n.parents().get(0))) {
        // Updated inside its parent's reduce tasks: the batch's data is shuffled once.
        fusedState.put(n.parents().get(0), n);
        level.put(n, parentLevel);
        continue;
      }
      int own = n.kind().role() == OperatorKind.Role.SHUFFLE ? parentLevel + 1 : parentLevel;
      level.put(n, own);
      if (n.kind().role() == OperatorKind.Role.SHUFFLE) {
        while (shufflesByStage.size() < own) {
          shufflesByStage.add(new ArrayList<>());
        }
        shufflesByStage.get(own - 1).add(n);
      }
    }
  }

  /**
   * A stateful operator can be updated in the reduce task of its parent when the parent is a
   * per-key reduction into as many partitions with the same key encoding: then key k is in the
   * same partition of both, and the parent has already combined the batch's values per key.
   */
  private static boolean fusable(OperatorNode n) {
    boolean updatesPerKey = n.kind() == OperatorKind.UPDATE_STATE_BY_KEY || n.kind() == OperatorKind.MAP_WITH_STATE;
    if (!updatesPerKey || n.parents().size() != 1) {
      return false;
    }
    OperatorNode parent = n.parents().get(0);
    return (parent.kind() == OperatorKind.REDUCE_BY_KEY || parent.kind() == OperatorKind.COUNT_BY_VALUE)
        && parent.partitions() == n.partitions()
        && new ShuffleOperator(parent).keyCodec().name().equals(new ShuffleOperator(n).keyCodec().name());
  }

  /** The stateful operator updated inside {@code shuffle}'s reduce tasks, if any. */
  public java.util.Optional<OperatorNode> fusedStateOf(OperatorNode shuffle) {
    return java.util.Optional.ofNullable(fusedState.get(shuffle));
  }

  /** Shuffle operators whose reduce partitions run in stage {@code k} (k from 1). */
  public List<OperatorNode> shufflesOfStage(int k) {
    return shufflesByStage.get(k - 1);
  }

  /** Stages after the source stage. */
  public int shuffleStages() {
    return shufflesByStage.size();
  }
}
