package io.sluice.deploy;

import io.sluice.api.Pair;
import io.sluice.api.StreamingApp;
import io.sluice.api.StreamingContext;
import java.io.File;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Running word counts whose third batch hangs one source task once: the first task to create the
 * file {@code test.hangMarker} sleeps for good. Writes {@code batch=<b> total=<sum of counts>}
 * per batch. Shipped in a jar of its own.
 */
public final class HangingTaskApp implements StreamingApp {
  @Override
  public void build(StreamingContext ctx) {
    File marker = new File(ctx.config().require("test.hangMarker"));
    ctx.generatedLines(ctx.config().getLong("workload.R", 100), 50, 2)
        .transform((batch, lines) -> {
          if (batch.index() == 2 && marker.createNewFile()) {
            Thread.sleep(Long.MAX_VALUE);
          }
          List<String> words = new ArrayList<>();
          lines.forEach(l -> words.addAll(Arrays.asList(l.split(" "))));
          return words;
        })
        .mapToPair(w -> Pair.of(w, 1L))
        .reduceByKey(Long::sum)
        .updateStateByKey((List<Long> counts, Optional<Long> total) ->
            Optional.of(total.orElse(0L) + counts.stream().mapToLong(Long::longValue).sum()))
        .uid("counts")
        .map(Pair::value)
        .reduce(Long::sum)
        .transform((batch, totals) -> totals.stream().map(t -> "batch=" + batch.index() + " total=" + t).toList())
        .saveAsTextFiles(ctx.config().require("output.dir") + "/batch");
  }
}
