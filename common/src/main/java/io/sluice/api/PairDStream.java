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
   * Every {@code slide}, the values of each key in the batches of the last {@code length}, combined
   * with {@code f}. Both durations must be multiples of this stream's slide interval. Each key's
   * per-batch combined values are kept in state partitions, so a batch moves only its own data; a
   * key whose values have all left the window is dropped.
   */
  PairDStream<K, V> reduceByKeyAndWindow(ReduceFunction<V> f, Duration length, Duration slide);

  PairDStream<K, V> reduceByKeyAndWindow(ReduceFunction<V> f, Duration length, Duration slide, int partitions);

  /**
   * As {@link #reduceByKeyAndWindow(ReduceFunction, Duration, Duration)}, with each key's window
   * value updated incrementally: {@code f} adds the batch entering the window, {@code inverse}
   * takes out the one leaving it ({@code inverse(f(a, b), b)} must equal {@code a}).
   */
  PairDStream<K, V> reduceByKeyAndWindow(ReduceFunction<V> f, ReduceFunction<V> inverse, Duration length,
      Duration slide);

  PairDStream<K, V> reduceByKeyAndWindow(ReduceFunction<V> f, ReduceFunction<V> inverse, Duration length,
      Duration slide, int partitions);

  @Override
  PairDStream<K, V> checkpoint(Duration interval);
}
