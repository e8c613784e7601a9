package io.sluice.examples;

import io.sluice.api.Pair;
import io.sluice.api.StreamingApp;
import io.sluice.api.StreamingContext;
import java.util.Arrays;

/**
 * Words of the text files appearing in {@code input.dir}, counted per batch and written with
 * {@code saveAsTextFiles(output.dir + "/counts")} as {@code (word,count)} lines.
 */
public final class WordCount implements StreamingApp {
  @Override
  public void build(StreamingContext ctx) {
    ctx.textFileStream(ctx.config().require("input.dir"))
        .flatMap(line -> Arrays.asList(line.split("\\s+")))
        .filter(word -> !word.isEmpty())
        .mapToPair(word -> Pair.of(word, 1L))
        .reduceByKey(Long::sum)
        .uid("counts")
        .saveAsTextFiles(ctx.config().require("output.dir") + "/counts");
  }
}
