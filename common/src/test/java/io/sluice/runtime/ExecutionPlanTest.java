package io.sluice.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.api.Codecs;
import io.sluice.api.Pair;
import io.sluice.api.PairDStream;
import io.sluice.api.Settings;
import io.sluice.graph.GraphBuilder;
import io.sluice.graph.OperatorNode;
import io.sluice.graph.StreamGraph;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ExecutionPlanTest {

  private static StreamGraph graph(int statePartitions, boolean typedCounts) {
    return GraphBuilder.build(ctx -> {
      PairDStream<String, Long> counts = ctx.textFileStream("/in").mapToPair(w -> Pair.of(w, 1L)).reduceByKey(Long::sum);
      if (typedCounts) {
        counts.withCodecs(Codecs.STRING, Codecs.LONG);
      }
      counts.<Long>updateStateByKey((v, s) -> Optional.of(s.orElse(0L) + v.size()), statePartitions).uid("state")
          .count().foreachBatch((b, r) -> {});
    }, new Settings(Map.of("sluice.checkpoint.dir", "/cp")));
  }

  @Test
  void stateIsUpdatedInsideTheReduceTasksWhenKeysArePartitionedAlike() {
    StreamGraph g = graph(2, false);
    ExecutionPlan plan = new ExecutionPlan(g);
    assertThat(plan.fusedStateOf(g.node("reduceByKey-2"))).map(OperatorNode::id).hasValue("state");
    assertThat(plan.shuffleStages()).isEqualTo(2);
    assertThat(plan.shufflesOfStage(1)).extracting(OperatorNode::id).containsExactly("reduceByKey-2");
    assertThat(plan.shufflesOfStage(2)).extracting(OperatorNode::id).containsExactly("count-4");
  }

  @Test
  void stateGetsItsOwnShuffleWhenPartitionCountsOrKeyEncodingsDiffer() {
    for (StreamGraph g : new StreamGraph[] {graph(3, false), graph(2, true)}) {
      ExecutionPlan plan = new ExecutionPlan(g);
      assertThat(plan.fusedStateOf(g.node("reduceByKey-2"))).isEmpty();
      assertThat(plan.shufflesOfStage(2)).extracting(OperatorNode::id).containsExactly("state");
    }
  }
}
