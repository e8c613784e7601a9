package io.sluice.deploy;

import io.sluice.api.StreamingApp;
import io.sluice.api.StreamingContext;

/**
 * A job whose third batch halts the driver's JVM (as an out-of-memory kill would), in every
 * attempt: the crash loop that no exception reports. Shipped in a jar of its own.
 */
public final class HaltingBatchApp implements StreamingApp {
  @Override
  public void build(StreamingContext ctx) {
    ctx.generatedLines(10, 5, 1).foreachBatch((batch, lines) -> {
      if (batch.index() == 2) {
        Runtime.getRuntime().halt(137);
      }
    });
  }
}
