package io.sluice.api;

import io.sluice.api.Functions.MapFunction;
import io.sluice.api.Functions.ReduceFunction;
import io.sluice.api.Functions.UpdateFunction;

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

  /**
   * Keeps a state per key across batches, in state partitions that stay on their executor and are
   * snapshotted to the checkpoint directory. Each batch, {@code f} is called for the keys with
   * values in it (the cost follows the batch, not the state), and the stream carries every key's
   * state after the batch. Needs a checkpoint directory.
   */
  <S> PairDStream<K, S> updateStateByKey(UpdateFunction<V, S> f);

  <S> PairDStream<K, S> updateStateByKey(UpdateFunction<V, S> f, int partitions);

  /**
   * Keeps a state per key like {@link #updateStateByKey}, but calls the spec's function once per
   * record of the batch (and once for each key whose state times out), and carries what it returns.
   * The cost of a batch follows the batch's records only, unless {@code stateSnapshots()} is used.
   */
  <S, M> MapWithStateDStream<K, V, S, M> mapWithState(StateSpec<K, V, S, M> spec);

  /**
   * Snapshots this stateful stream's state every {@code interval}, a multiple of the batch
   * interval; by default the smallest multiple that is at least 10 s.
   */
  PairDStream<K, V> checkpoint(Duration interval);
}
