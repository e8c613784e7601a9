package io.sluice.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.api.Pair;
import io.sluice.api.StreamingApp;
import io.sluice.source.WordGenerator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * Values cross a shuffle unchanged, whatever their size and type: the blocks hold a {@code Long} as
 * a varint of its own, and other values as their codec writes them.
 */
class ShuffleValuesTest {
  private static final long LINES = 300;
  private static final long VOCABULARY = 40;

  /** The value a word carries: longs at the edges of each varint length, and a few other types. */
  private static Object valueOf(String word) {
    int n = Integer.parseInt(word.substring(1));
    return switch (n % 10) {
      case 0 -> Long.MIN_VALUE;
      case 1 -> -1L;
      case 2 -> 0L;
      case 3 -> 63L;
      case 4 -> 64L;
      case 5 -> -65L;
      case 6 -> Long.MAX_VALUE;
      case 7 -> "s" + n;
      case 8 -> Pair.of(n, 1L << 40);
      default -> null;
    };
  }

  @Test
  void valuesOfEveryKindCrossTheShuffleUnchanged() throws Exception {
    Map<Long, Map<String, List<String>>> grouped = new ConcurrentHashMap<>();
    StreamingApp app = ctx -> ctx.generatedLines(LINES, VOCABULARY, 2)
        .flatMap(l -> Arrays.asList(l.split(" ")))
        .mapToPair(w -> Pair.of(w, valueOf(w)))
        .groupByKey(2)
        .foreachBatch((batch, records) -> grouped.put(batch.index(), asMap(records)));
    try (LocalRunner job = LocalRunner.start(app, Map.of())) {
      job.runBatches(2);
    }
    for (long b = 0; b < 2; b++) {
      Map<String, List<String>> expected = new TreeMap<>();
      for (long j = 0; j < LINES; j++) {
        for (String w : WordGenerator.line(b, j, VOCABULARY).split(" ")) {
          expected.computeIfAbsent(w, k -> new ArrayList<>()).add(String.valueOf(valueOf(w)));
        }
      }
      assertThat(grouped.get(b)).as("batch " + b).isEqualTo(expected);
    }
  }

  private static Map<String, List<String>> asMap(List<Pair<String, List<Object>>> records) {
    Map<String, List<String>> m = new TreeMap<>();
    for (Pair<String, List<Object>> p : records) {
      List<String> values = new ArrayList<>();
      p.value().forEach(v -> values.add(String.valueOf(v)));
      m.put(p.key(), values);
    }
    return m;
  }
}
