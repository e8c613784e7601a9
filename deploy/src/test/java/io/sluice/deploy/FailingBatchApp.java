package io.sluice.deploy;

import io.sluice.api.StreamingApp;
import io.sluice.api.StreamingContext;

/** A job whose third batch always fails, for the crash-loop test; shipped in a jar of its own. */
public final class FailingBatchApp implements StreamingApp {
  @Override
  public void build(StreamingContext ctx) {
    ctx.generatedLines(10, 5, 1).foreachBatch((batch, lines) -> {
      if (batch.index() == 2) {
        throw new IllegalStateException("the sink rejects batch " + batch.index());
      }
    });
  }
}
