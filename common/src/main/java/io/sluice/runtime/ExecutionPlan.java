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

  public ExecutionPlan(StreamGraph graph) {
    Map<OperatorNode, Integer> level = new HashMap<>();
    for (OperatorNode n : graph.nodes()) {
      int parentLevel = n.parents().stream().mapToInt(level::get).max().orElse(0);
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

  /** Shuffle operators whose reduce partitions run in stage {@code k} (k from 1). */
  public List<OperatorNode> shufflesOfStage(int k) {
    return shufflesByStage.get(k - 1);
  }

  /** Stages after the source stage. */
  public int shuffleStages() {
    return shufflesByStage.size();
  }
}
