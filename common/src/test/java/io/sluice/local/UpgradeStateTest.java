package io.sluice.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.api.Duration;
import io.sluice.api.Pair;
import io.sluice.api.PairDStream;
import io.sluice.api.SluiceException;
import io.sluice.api.StreamingApp;
import io.sluice.source.WordGenerator;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Upgrades that change stateful operators: a changed state layout is refused unless the operator
 * is named in sluice.upgrade.freshState, and then starts empty at the checkpoint's snapshot;
 * an operator new to the graph starts empty while the others resume exactly.
 */
class UpgradeStateTest {
  private static final long LINES = 30;
  private static final long VOCABULARY = 20;

  @TempDir Path tmp;
  /** Output name to batch index to the state after it. */
  private final Map<String, Map<Long, Map<String, Long>>> seen = new ConcurrentHashMap<>();

  /** Running word counts ("counts", in {@code partitions}); with {@code lengths}, also running counts per word length. */
  private StreamingApp app(int partitions, boolean lengths) {
    return ctx -> {
      PairDStream<String, Long> ones = ctx.generatedLines(LINES, VOCABULARY, 2)
          .flatMap(l -> Arrays.asList(l.split(" "))).mapToPair(w -> Pair.of(w, 1L));
      record("counts", ones.updateStateByKey(UpgradeStateTest::add, partitions).uid("counts")
          .checkpoint(Duration.ofSeconds(3)));
      if (lengths) {
        record("lengths", ones.mapToPair(p -> Pair.of("len" + p.key().length(), 1L))
            .updateStateByKey(UpgradeStateTest::add).uid("lengths"));
      }
    };
  }

  private static Optional<Long> add(List<Long> values, Optional<Long> state) {
    return Optional.of(state.orElse(0L) + values.size());
  }

  private void record(String name, PairDStream<String, Long> stream) {
    stream.foreachBatch((batch, records) -> {
      Map<String, Long> m = new TreeMap<>();
      records.forEach(p -> m.put(p.key(), p.value()));
      seen.computeIfAbsent(name, k -> new ConcurrentHashMap<>()).put(batch.index(), m);
    });
  }

  /** Counts per word ({@code byLength} false) or per word length over batches {@code from..to}. */
  private static Map<String, Long> reference(long from, long to, boolean byLength) {
    Map<String, Long> m = new HashMap<>();
    for (long b = from; b <= to; b++) {
      for (long j = 0; j < LINES; j++) {
        for (String w : WordGenerator.line(b, j, VOCABULARY).split(" ")) {
          m.merge(byLength ? "len" + w.length() : w, 1L, Long::sum);
        }
      }
    }
    return new TreeMap<>(m);
  }

  private Map<String, String> settings(String... more) {
    Map<String, String> s = new HashMap<>(Map.of("sluice.checkpoint.dir", tmp.resolve("cp").toString()));
    for (int i = 0; i < more.length; i += 2) {
      s.put(more[i], more[i + 1]);
    }
    return s;
  }

  @Test
  void aChangedStateLayoutIsRefusedUnlessTheOperatorStartsEmpty() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(2, false), settings())) {
      job.runBatches(4);
    }
    assertThatThrownBy(() -> LocalRunner.start(app(3, false), settings())).isInstanceOf(SluiceException.class)
        .hasMessageContaining("stateful operator counts differs: now updateStateByKey partitions=3")
        .hasMessageContaining("submit with --conf sluice.upgrade.freshState=counts to start its state empty");
    assertThatThrownBy(() -> LocalRunner.start(app(3, false), settings("sluice.upgrade.freshState", "cuonts")))
        .isInstanceOf(SluiceException.class)
        .hasMessage("sluice.upgrade.freshState names cuonts, which is no stateful operator of the application or of "
            + "the checkpoint");

    try (LocalRunner job = LocalRunner.start(app(3, false), settings("sluice.upgrade.freshState", "counts"))) {
      job.runBatches(2);
    }
    // The last snapshot was after batch 2; batch 3 is replayed into the empty state, then 4 and 5 run.
    assertThat(seen.get("counts").get(5L)).isEqualTo(reference(3, 5, false));
    // A restart of the same deployment with the same settings takes the state from the checkpoint again.
    try (LocalRunner job = LocalRunner.start(app(3, false), settings("sluice.upgrade.freshState", "counts"))) {
      job.runBatches(1);
    }
    assertThat(seen.get("counts").get(6L)).isEqualTo(reference(3, 6, false));
  }

  @Test
  void anAddedStatefulOperatorStartsEmptyWhileTheOthersResumeExactly() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(2, false), settings())) {
      job.runBatches(4);
    }
    try (LocalRunner job = LocalRunner.start(app(2, true), settings())) {
      job.runBatches(2);
    }
    assertThat(seen.get("counts").get(5L)).as("running counts across the upgrade").isEqualTo(reference(0, 5, false));
    assertThat(seen.get("lengths").get(5L)).as("the new operator, from the snapshot on")
        .isEqualTo(reference(3, 5, true));
  }
}
