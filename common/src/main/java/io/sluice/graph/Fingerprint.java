package io.sluice.graph;

import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/**
 * What a checkpoint records of the graph that wrote it: every operator's id and signature and the
 * batch interval, with a digest over all of them.
 */
public record Fingerprint(String digest, List<Signature> operators, long batchIntervalMs) {

  /** One operator as the fingerprint sees it. */
  public record Signature(String id, String description) {}

  public Fingerprint {
    operators = List.copyOf(operators);
  }

  /** Computes the digest over the interval and the operators in graph order. */
  public static Fingerprint of(List<Signature> operators, long batchIntervalMs) {
    Hasher h = Hashing.sha256().newHasher().putLong(batchIntervalMs);
    for (Signature s : operators) {
      h.putString(s.id(), StandardCharsets.UTF_8).putByte((byte) 0)
          .putString(s.description(), StandardCharsets.UTF_8).putByte((byte) 0);
    }
    return new Fingerprint(h.hash().toString(), operators, batchIntervalMs);
  }

  /**
   * Why a job with this graph cannot resume from a checkpoint written by {@code recorded}, naming
   * the first operator that differs; empty when it can.
   */
  public Optional<String> incompatibilityWith(Fingerprint recorded) {
    if (batchIntervalMs != recorded.batchIntervalMs) {
      return Optional.of("the batch interval is " + batchIntervalMs + " ms, the checkpoint was written with "
          + recorded.batchIntervalMs + " ms");
    }
    int n = Math.max(operators.size(), recorded.operators.size());
    for (int i = 0; i < n; i++) {
      Signature now = i < operators.size() ? operators.get(i) : null;
      Signature then = i < recorded.operators.size() ? recorded.operators.get(i) : null;
      if (now == null) {
        return Optional.of("operator " + then.id() + " (" + then.description() + ") is in the checkpoint but not in the new graph");
      }
      if (then == null) {
        return Optional.of("operator " + now.id() + " (" + now.description() + ") is new: the checkpoint has no such operator");
      }
      if (!now.equals(then)) {
        return Optional.of("operator " + now.id() + " differs: now " + now.description() + ", checkpoint has "
            + then.id() + " " + then.description());
      }
    }
    return Optional.empty();
  }
}
