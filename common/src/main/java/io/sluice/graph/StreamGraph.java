package io.sluice.graph;

import io.sluice.api.Duration;
import io.sluice.api.Settings;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** A frozen operator graph with its settings, identical in the driver and every executor. */
public final class StreamGraph {
  private final List<OperatorNode> nodes;
  private final Map<String, OperatorNode> byId = new HashMap<>();
  private final Map<OperatorNode, List<OperatorNode>> children = new HashMap<>();
  private final Settings settings;
  private final Duration batchInterval;
  private final Optional<String> checkpointDir;
  private final Fingerprint fingerprint;
  private final Accumulators accumulators;

  StreamGraph(List<OperatorNode> nodes, Settings settings, Duration batchInterval, Optional<String> checkpointDir,
      Accumulators accumulators) {
    this.accumulators = accumulators;
    this.nodes = List.copyOf(nodes);
    this.settings = settings;
    this.batchInterval = batchInterval;
    this.checkpointDir = checkpointDir;
    List<Fingerprint.Signature> signatures = new ArrayList<>();
    for (OperatorNode n : nodes) {
      byId.put(n.id(), n);
      children.put(n, new ArrayList<>());
      signatures.add(new Fingerprint.Signature(n.id(), n.signature()));
    }
    for (OperatorNode n : nodes) {
      for (OperatorNode p : n.parents()) {
        children.get(p).add(n);
      }
    }
    this.fingerprint = Fingerprint.of(signatures, batchInterval.millis());
  }

  /** The application's accumulators, as this JVM sees them. */
  public Accumulators accumulators() {
    return accumulators;
  }

  /** Operators in the order the application declared them (parents before children). */
  public List<OperatorNode> nodes() {
    return nodes;
  }

  public OperatorNode node(String id) {
    OperatorNode n = byId.get(id);
    if (n == null) {
      throw new IllegalArgumentException("no operator " + id + " in this graph");
    }
    return n;
  }

  public List<OperatorNode> children(OperatorNode node) {
    return children.get(node);
  }

  public List<OperatorNode> ofRole(OperatorKind.Role role) {
    return nodes.stream().filter(n -> n.kind().role() == role).toList();
  }

  public Settings settings() {
    return settings;
  }

  public Duration batchInterval() {
    return batchInterval;
  }

  public Optional<String> checkpointDir() {
    return checkpointDir;
  }

  public Fingerprint fingerprint() {
    return fingerprint;
  }
}
