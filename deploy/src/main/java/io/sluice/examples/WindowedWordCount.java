package io.sluice.examples;

import io.sluice.api.Duration;
import io.sluice.api.Pair;
import io.sluice.api.Reducers;
import io.sluice.api.StreamingApp;
import io.sluice.api.StreamingContext;
import io.sluice.source.WordGenerator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Word counts over a sliding window of the deterministic generator ({@code workload.R} lines,
 * {@code workload.K} words): every {@code workload.slide} (default 2 s) the counts of the last
 * {@code workload.window} (default 4 s), kept incrementally with an inverse function. Each slide
 * writes one line {@code batch=<b> keys=<words in the window> total=<sum of their counts>} with
 * {@code saveAsTextFiles(output.dir + "/window")}. Needs a checkpoint directory.
 */
public final class WindowedWordCount implements StreamingApp {
  @Override
  public void build(StreamingContext ctx) {
    long lines = ctx.config().getLong("workload.R", 50_000);
    long vocabulary = ctx.config().getLong("workload.K", 10_000);
    Duration window = ctx.config().getDuration("workload.window", Duration.ofSeconds(4));
    Duration slide = ctx.config().getDuration("workload.slide", Duration.ofSeconds(2));
    ctx.generatedLines(lines, vocabulary, ctx.config().getInt("workload.P", 2))
        .flatMap(line -> Arrays.asList(line.split(" ")))
        .mapToPair(word -> Pair.of(word, 1L))
        .reduceByKeyAndWindow(Reducers.longSum(), (a, b) -> a - b, window, slide)
        .uid("window-counts")
        .map(count -> Pair.of(1L, count.value()))
        .reduce((a, b) -> Pair.of(a.key() + b.key(), a.value() + b.value()))
        .uid("window-summary")
        .transform((batch, summary) -> summary.stream()
            .map(s -> GeneratedWordCount.expectedLine(batch.index(), s.key(), s.value())).toList())
        .saveAsTextFiles(ctx.config().require("output.dir") + "/window");
  }

  /**
   * What the job must write for the first {@code batches} batches with a window and slide of
   * {@code windowBatches} and {@code slideBatches} batch intervals: one line per slide.
   */
  public static List<String> expectedLines(long lines, long vocabulary, int batches, int windowBatches,
      int slideBatches) {
    List<String> expected = new ArrayList<>();
    for (int b = slideBatches - 1; b < batches; b += slideBatches) {
      Set<String> words = new HashSet<>();
      for (int i = Math.max(0, b - windowBatches + 1); i <= b; i++) {
        for (long j = 0; j < lines; j++) {
          words.addAll(List.of(WordGenerator.line(i, j, vocabulary).split(" ")));
        }
      }
      long total = WordGenerator.WORDS_PER_LINE * lines * Math.min(b + 1, windowBatches);
      expected.add(GeneratedWordCount.expectedLine(b, words.size(), total));
    }
    return expected;
  }
}
