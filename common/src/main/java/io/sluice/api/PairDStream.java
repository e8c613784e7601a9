package io.sluice.api;

import io.sluice.api.Functions.MapFunction;
import io.sluice.api.Functions.ReduceFunction;

/** A stream of key-value pairs, with the operators that group by key. */
public interface PairDStream<K, V> extends DStream<Pair<K, V>> {

  @Override
  PairDStream<K, V> uid(String id);

  /** The codecs for keys and values when they cross a JVM boundary. */
  PairDStream<K, V> withCodecs(Codec<K> keyCodec, Codec<V> valueCodec);

  <W> PairDStream<K, W> mapValues(MapFunction<V, W> f);

  /** Combines the values of each key within a batch, before and after the shuffle. */
  PairDStream<K, V> reduceByKey(ReduceFunction<V> f);

  /** As {@link #reduceByKey(ReduceFunction)}, hash partitioned into {@code partitions}. */
  PairDStream<K, V> reduceByKey(ReduceFunction<V> f, int partitions);

  /** All values of each key within a batch. */
  PairDStream<K, java.util.List<V>> groupByKey();

  PairDStream<K, java.util.List<V>> groupByKey(int partitions);
}
