package io.sluice.graph;

import io.sluice.api.Codec;
import io.sluice.api.Codecs;
import io.sluice.api.Functions.MapFunction;
import io.sluice.api.Duration;
import io.sluice.api.Functions.ReduceFunction;
import io.sluice.api.Functions.UpdateFunction;
import io.sluice.api.Pair;
import io.sluice.api.MapWithStateDStream;
import io.sluice.api.PairDStream;
import io.sluice.api.StateSpec;
import java.util.List;
import java.util.Map;

/** A handle on an operator whose records are pairs. */
final class PairDStreamImpl<K, V> extends DStreamImpl<Pair<K, V>> implements PairDStream<K, V> {

  PairDStreamImpl(GraphBuilder builder, OperatorNode node) {
    super(builder, node);
  }

  @Override
  public PairDStream<K, V> uid(String id) {
    setUid(id);
    return this;
  }

  @Override
  public PairDStream<K, V> withCodecs(Codec<K> keyCodec, Codec<V> valueCodec) {
    node.setCodec(Codecs.pair(keyCodec, valueCodec));
    return this;
  }

  @Override
  public <W> PairDStream<K, W> mapValues(MapFunction<V, W> f) {
    return new PairDStreamImpl<>(builder, builder.add(OperatorKind.MAP_VALUES, List.of(node), f, 0, Map.of(), Codecs.auto()));
  }

  @Override
  public PairDStream<K, V> reduceByKey(ReduceFunction<V> f) {
    return reduceByKey(f, builder.defaultParallelism());
  }

  @Override
  public PairDStream<K, V> reduceByKey(ReduceFunction<V> f, int partitions) {
    return new PairDStreamImpl<>(builder, builder.add(OperatorKind.REDUCE_BY_KEY, List.of(node), f, partitions, Map.of(), node.codec()));
  }

  @Override
  public PairDStream<K, List<V>> groupByKey() {
    return groupByKey(builder.defaultParallelism());
  }

  @Override
  public <S> PairDStream<K, S> updateStateByKey(UpdateFunction<V, S> f) {
    return updateStateByKey(f, builder.defaultParallelism());
  }

  @Override
  public <S> PairDStream<K, S> updateStateByKey(UpdateFunction<V, S> f, int partitions) {
    return new PairDStreamImpl<>(builder, builder.add(OperatorKind.UPDATE_STATE_BY_KEY, List.of(node), f, partitions,
        Map.of(), Codecs.auto()));
  }

  @Override
  public <S, M> MapWithStateDStream<K, V, S, M> mapWithState(StateSpec<K, V, S, M> spec) {
    int partitions = spec.partitionCount() > 0 ? spec.partitionCount() : builder.defaultParallelism();
    return new MapWithStateDStreamImpl<>(builder,
        builder.add(OperatorKind.MAP_WITH_STATE, List.of(node), spec, partitions, Map.of(), Codecs.auto()));
  }

  @Override
  public PairDStream<K, V> reduceByKeyAndWindow(ReduceFunction<V> f, Duration length, Duration slide) {
    return reduceByKeyAndWindow(f, null, length, slide, builder.defaultParallelism());
  }

  @Override
  public PairDStream<K, V> reduceByKeyAndWindow(ReduceFunction<V> f, Duration length, Duration slide, int partitions) {
    return reduceByKeyAndWindow(f, null, length, slide, partitions);
  }

  @Override
  public PairDStream<K, V> reduceByKeyAndWindow(ReduceFunction<V> f, ReduceFunction<V> inverse, Duration length,
      Duration slide) {
    return reduceByKeyAndWindow(f, inverse, length, slide, builder.defaultParallelism());
  }

  @Override
  public PairDStream<K, V> reduceByKeyAndWindow(ReduceFunction<V> f, ReduceFunction<V> inverse, Duration length,
      Duration slide, int partitions) {
    return new PairDStreamImpl<>(builder, builder.add(OperatorKind.REDUCE_BY_KEY_AND_WINDOW, List.of(node),
        WindowSpec.of(f, inverse, length, slide), partitions, Map.of(), node.codec()));
  }

  @Override
  public PairDStream<K, V> checkpoint(Duration interval) {
    setCheckpointInterval(interval);
    return this;
  }

  @Override
  public PairDStream<K, List<V>> groupByKey(int partitions) {
    return new PairDStreamImpl<>(builder, builder.add(OperatorKind.GROUP_BY_KEY, List.of(node), null, partitions, Map.of(), Codecs.auto()));
  }
}
