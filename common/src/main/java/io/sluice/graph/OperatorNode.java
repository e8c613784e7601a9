package io.sluice.graph;

import io.sluice.api.Codec;
import io.sluice.api.Duration;
import io.sluice.api.StateSpec;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One operator of the graph. Built while {@code StreamingApp.build} runs (the id and codec may be
 * set until the graph is frozen), read-only afterwards.
 */
public final class OperatorNode {
  private final int position;
  private final String derivedId;
  private final OperatorKind kind;
  private final List<OperatorNode> parents;
  private final Object function;
  private final int partitions;
  private final Map<String, String> params;
  private String uid;
  private Codec<?> codec;
  private Duration checkpointInterval;
  private Duration slide;

  OperatorNode(int position, OperatorKind kind, List<OperatorNode> parents, Object function, int partitions,
      Map<String, String> params, Codec<?> codec) {
    this.position = position;
    this.kind = kind;
    this.parents = List.copyOf(parents);
    this.function = function;
    this.partitions = partitions;
    this.params = new TreeMap<>(params);
    this.codec = codec;
    // Built once: the id is read for every record that crosses a shuffle.
    this.derivedId = kind.displayName() + "-" + position;
  }

  /** The user's uid, or one derived from kind and position, e.g. {@code reduceByKey-4}. */
  public String id() {
    return uid != null ? uid : derivedId;
  }

  public boolean hasUserId() {
    return uid != null;
  }

  void setUid(String uid) {
    this.uid = uid;
  }

  public OperatorKind kind() {
    return kind;
  }

  public List<OperatorNode> parents() {
    return parents;
  }

  /** The user's function; its type depends on the kind. */
  public Object function() {
    return function;
  }

  /** Output partitions of a shuffle or a source; 0 where the parents decide. */
  public int partitions() {
    return partitions;
  }

  /** Settings of the operator that are not part of its identity, e.g. a path. */
  public String param(String name) {
    return params.get(name);
  }

  /** The codec of this stream's records. */
  @SuppressWarnings("unchecked")
  public <T> Codec<T> codec() {
    return (Codec<T>) codec;
  }

  void setCodec(Codec<?> codec) {
    this.codec = codec;
  }

  /** The state snapshot interval of a stateful operator; set when the graph is frozen if not given. */
  public Duration checkpointInterval() {
    return checkpointInterval;
  }

  void setCheckpointInterval(Duration interval) {
    this.checkpointInterval = interval;
  }

  /**
   * How often this stream has a batch: the batch interval, or the slide of the window it comes
   * from. Set when the graph is frozen.
   */
  public Duration slide() {
    return slide;
  }

  void setSlide(Duration slide) {
    this.slide = slide;
  }

  /** Whether batch {@code batchMs} of a job started at {@code startMs} is one of this stream's batches. */
  public boolean hasBatchAt(long batchMs, long startMs) {
    return (batchMs - startMs) % slide.millis() == 0;
  }

  /** Kind, parents, partitions and codec, in a stable form: what the fingerprint compares. */
  public String signature() {
    StringBuilder sb = new StringBuilder(kind.displayName()).append('(');
    for (int i = 0; i < parents.size(); i++) {
      sb.append(i == 0 ? "" : ",").append(parents.get(i).id());
    }
    sb.append(")");
    if (partitions > 0) {
      sb.append(" partitions=").append(partitions);
    }
    sb.append(" codec=").append(codec.name());
    if (function instanceof StateSpec<?, ?, ?, ?> spec) {
      sb.append(" state=").append(spec.codec().name());
    }
    if (function instanceof WindowSpec window) {
      sb.append(window.describe());
    }
    return sb.toString();
  }

  @Override
  public String toString() {
    return id();
  }
}
