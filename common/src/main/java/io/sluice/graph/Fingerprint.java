package io.sluice.graph;

import com.google.common.hash.Hasher;
import com.google.common.hash.Hashing;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

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

  /** As {@link #incompatibilityWith(Fingerprint, Set)} with every operator's state taken from the checkpoint. */
  public Optional<String> incompatibilityWith(Fingerprint recorded) {
    return incompatibilityWith(recorded, Set.of());
  }

  /**
   * Why a job with this graph cannot resume from a checkpoint written by {@code recorded}, naming
   * the first operator that differs; empty when it can. Function bodies are not part of the
   * fingerprint, and stateless operators may be added, removed or rewired: what must match is the
   * batch interval and every stateful operator's id, partition count and codecs, because its
   * snapshots are laid out by them. Operators in {@code startFresh} take no state from the
   * checkpoint, so they may differ or be gone.
   */
  public Optional<String> incompatibilityWith(Fingerprint recorded, Set<String> startFresh) {
    if (batchIntervalMs != recorded.batchIntervalMs) {
      return Optional.of("the batch interval is " + batchIntervalMs + " ms, the checkpoint was written with "
          + recorded.batchIntervalMs + " ms");
    }
    for (Signature then : recorded.operators) {
      if (!isStateful(then) || startFresh.contains(then.id())) {
        continue;
      }
      Optional<Signature> now = operators.stream().filter(s -> s.id().equals(then.id())).findFirst();
      if (now.isEmpty()) {
        return Optional.of("stateful operator " + then.id() + " (" + then.description() + ") is in the checkpoint but not "
            + "in the new graph; give stateful operators a uid(...) so that they keep their id when the graph changes"
            + freshStateHint(then.id(), "drop its state"));
      }
      if (!stateLayout(now.get()).equals(stateLayout(then))) {
        return Optional.of("stateful operator " + then.id() + " differs: now " + stateLayout(now.get())
            + ", checkpoint has " + stateLayout(then) + freshStateHint(then.id(), "start its state empty"));
      }
    }
    return Optional.empty();
  }

  private static String freshStateHint(String id, String effect) {
    return "; or submit with --conf " + SettingKeys.UPGRADE_FRESH_STATE + "=" + id + " to " + effect;
  }

  /** The stateful operators of this graph that {@code recorded} has no state for. */
  public Set<String> statefulOperatorsNotIn(Fingerprint recorded) {
    Set<String> ids = new TreeSet<>();
    for (Signature s : operators) {
      if (isStateful(s) && recorded.operators.stream().noneMatch(r -> r.id().equals(s.id()) && isStateful(r))) {
        ids.add(s.id());
      }
    }
    return ids;
  }

  /** Whether {@code id} is a stateful operator of this graph. */
  public boolean hasStatefulOperator(String id) {
    return operators.stream().anyMatch(s -> s.id().equals(id) && isStateful(s));
  }

  private static boolean isStateful(Signature s) {
    for (OperatorKind k : OperatorKind.values()) {
      if (k.isStateful() && s.description().startsWith(k.displayName() + "(")) {
        return true;
      }
    }
    return false;
  }

  /** The signature without the parents: what a state snapshot depends on. */
  private static String stateLayout(Signature s) {
    String d = s.description();
    return d.substring(0, d.indexOf('(')) + d.substring(d.indexOf(')') + 1);
  }
}
