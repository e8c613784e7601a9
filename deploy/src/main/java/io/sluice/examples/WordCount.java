package io.sluice.examples;

import io.sluice.api.Pair;
import io.sluice.api.Reducers;
import io.sluice.api.StreamingApp;
import io.sluice.api.StreamingContext;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Running counts of the words in the text files appearing in {@code input.dir}: after each batch,
 * every word seen so far with its count, written with {@code saveAsTextFiles(output.dir +
 * "/counts")} as {@code (word,count)} lines. Needs a checkpoint directory.
 */
public final class WordCount implements StreamingApp {
  @Override
  public void build(StreamingContext ctx) {
    ctx.textFileStream(ctx.config().require("input.dir"))
        .flatMap(line -> Arrays.asList(line.split("\\s+")))
        .filter(word -> !word.isEmpty())
        .mapToPair(word -> Pair.of(word, 1L))
        .reduceByKey(Reducers.longSum())
        .updateStateByKey(WordCount::addCounts)
        .uid("counts")
        .saveAsTextFiles(ctx.config().require("output.dir") + "/counts");
  }

  /** A word's running count: the previous one plus the batch's. */
  static Optional<Long> addCounts(List<Long> batchCounts, Optional<Long> total) {
    return Optional.of(total.orElse(0L) + batchCounts.stream().mapToLong(Long::longValue).sum());
  }
}
