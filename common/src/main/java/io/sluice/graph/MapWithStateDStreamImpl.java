package io.sluice.graph;

import io.sluice.api.Codecs;
import io.sluice.api.Duration;
import io.sluice.api.MapWithStateDStream;
import io.sluice.api.PairDStream;
import java.util.List;
import java.util.Map;

/** A handle on a {@code mapWithState} operator. */
final class MapWithStateDStreamImpl<K, V, S, M> extends DStreamImpl<M> implements MapWithStateDStream<K, V, S, M> {

  MapWithStateDStreamImpl(GraphBuilder builder, OperatorNode node) {
    super(builder, node);
  }

  @Override
  public PairDStream<K, S> stateSnapshots() {
    return new PairDStreamImpl<>(builder,
        builder.add(OperatorKind.STATE_SNAPSHOTS, List.of(node), null, 0, Map.of(), Codecs.auto()));
  }

  @Override
  public MapWithStateDStream<K, V, S, M> checkpoint(Duration interval) {
    setCheckpointInterval(interval);
    return this;
  }

  @Override
  public MapWithStateDStream<K, V, S, M> uid(String id) {
    setUid(id);
    return this;
  }
}
