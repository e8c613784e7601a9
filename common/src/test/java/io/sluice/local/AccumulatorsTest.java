package io.sluice.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.api.Broadcast;
import io.sluice.api.DoubleAccumulator;
import io.sluice.api.Duration;
import io.sluice.api.LongAccumulator;
import io.sluice.api.Pair;
import io.sluice.api.SluiceException;
import io.sluice.api.StreamingApp;
import io.sluice.graph.GraphBuilder;
import io.sluice.api.Settings;
import io.sluice.proto.AccumulatorValue;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AccumulatorsTest {
  private static final long LINES = 300;

  @TempDir Path tmp;
  private final List<Long> seenInForeachBatch = new ArrayList<>();
  private final AtomicInteger broadcastsCreated = new AtomicInteger();

  /**
   * Counts lines and words in tasks, and batches on the driver, beside a stateful word count whose
   * snapshots every 3 s make a restart replay batches (which must not count again).
   */
  private StreamingApp app() {
    return ctx -> {
      LongAccumulator lines = ctx.longAccumulator("lines");
      DoubleAccumulator words = ctx.doubleAccumulator("words");
      LongAccumulator batches = ctx.longAccumulator("batches");
      Broadcast<Set<String>> stopWords = ctx.broadcast("stop-words", () -> {
        broadcastsCreated.incrementAndGet();
        return Set.of("w0", "w1");
      });
      ctx.generatedLines(LINES, 50, 2)
          .flatMap(l -> {
            lines.add(1);
            List<String> w = Arrays.asList(l.split(" "));
            words.add(w.size());
            return w;
          })
          .filter(w -> !stopWords.value().contains(w))
          .mapToPair(w -> Pair.of(w, 1L))
          .reduceByKey(Long::sum)
          .<Long>updateStateByKey((vs, s) -> Optional.of(s.orElse(0L) + vs.stream().mapToLong(Long::longValue).sum()))
          .uid("counts")
          .checkpoint(Duration.ofSeconds(3))
          .foreachBatch((batch, records) -> {
            batches.add(1);
            seenInForeachBatch.add(lines.value());
          });
    };
  }

  private Map<String, String> settings() {
    return Map.of("sluice.checkpoint.dir", tmp.resolve("cp").toString());
  }

  @Test
  void totalsCountEachCommittedBatchOnceAcrossARestartThatReplaysBatches() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(), settings())) {
      job.runBatches(4);
    }
    try (LocalRunner job = LocalRunner.start(app(), settings())) {
      job.runBatches(3);
    }

    // foreachBatch sees the total including its own batch, before and after the restart.
    assertThat(seenInForeachBatch).containsExactly(LINES, 2 * LINES, 3 * LINES, 4 * LINES, 5 * LINES, 6 * LINES,
        7 * LINES);
    assertThat(JobFiles.newestCheckpoint(tmp.resolve("cp")).getAccumulatorsList()).containsExactly(
        AccumulatorValue.newBuilder().setName("lines").setLongValue(7 * LINES).build(),
        AccumulatorValue.newBuilder().setName("words").setDoubleValue(70.0 * LINES).build(),
        AccumulatorValue.newBuilder().setName("batches").setLongValue(7).build());
    // Created lazily, once per JVM per graph: each of the two runs built the graph once.
    assertThat(broadcastsCreated).hasValue(2);
  }

  @Test
  void anAccumulatorReadInsideATaskIsRefusedWithItsName() throws Exception {
    StreamingApp reading = ctx -> {
      LongAccumulator lines = ctx.longAccumulator("lines");
      ctx.generatedLines(10, 5, 1).map(l -> Long.toString(lines.value())).foreachBatch((b, r) -> {});
    };
    try (LocalRunner job = LocalRunner.start(reading, settings())) {
      assertThatThrownBy(() -> job.runBatches(1)).hasStackTraceContaining("accumulator 'lines' is read inside a task");
    }
  }

  @Test
  void twoAccumulatorsWithOneNameAreRefused() {
    StreamingApp twice = ctx -> {
      ctx.longAccumulator("n");
      ctx.doubleAccumulator("n");
    };
    assertThatThrownBy(() -> GraphBuilder.build(twice, new Settings(Map.of())))
        .isInstanceOf(SluiceException.class).hasMessageContaining("accumulator 'n' is declared twice");
  }
}
