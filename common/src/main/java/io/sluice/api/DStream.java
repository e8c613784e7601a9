package io.sluice.api;

import io.sluice.api.Functions.BatchFunction;
import io.sluice.api.Functions.FilterFunction;
import io.sluice.api.Functions.FlatMapFunction;
import io.sluice.api.Functions.MapFunction;
import io.sluice.api.Functions.PairFunction;
import io.sluice.api.Functions.PartitionFunction;
import io.sluice.api.Functions.ReduceFunction;

/**
 * A discretized stream: one batch of records of type {@code T} per batch interval.
 *
 * <p>Every operator has a stable id, given with {@link #uid} or derived from its kind and position
 * in the graph; the ids are part of the checkpoint's graph fingerprint.
 */
public interface DStream<T> {

  /** This stream's operator id. */
  String id();

  /** Names this operator; the id must be unique in the graph. */
  DStream<T> uid(String id);

  /**
   * The codec for this stream's records when they cross a JVM boundary; by default {@link
   * Codecs#auto()}.
   */
  DStream<T> withCodec(Codec<T> codec);

  <R> DStream<R> map(MapFunction<T, R> f);

  <R> DStream<R> flatMap(FlatMapFunction<T, R> f);

  DStream<T> filter(FilterFunction<T> f);

  <K, V> PairDStream<K, V> mapToPair(PairFunction<T, K, V> f);

  /** The records of this stream and of {@code other}. */
  DStream<T> union(DStream<T> other);

  /** Applies {@code f} to each partition of every batch, with the batch's time and epoch. */
  <R> DStream<R> transform(PartitionFunction<T, R> f);

  /** A stream with one record per non-empty batch: all records combined with {@code f}. */
  DStream<T> reduce(ReduceFunction<T> f);

  /** A stream with one record per batch: the number of records in it. */
  DStream<Long> count();

  /** Each distinct record of a batch with its number of occurrences. */
  PairDStream<T, Long> countByValue();

  /**
   * The records of the last {@code length} of batches, every batch. As {@link #window(Duration,
   * Duration)} with the batch interval as the slide.
   */
  DStream<T> window(Duration length);

  /**
   * Every {@code slide}, the records of the batches in the last {@code length}. Both must be
   * multiples of this stream's slide (the batch interval for a stream without a window), which is
   * checked at start. Downstream outputs run every {@code slide}. The window's records are kept in
   * state partitions, once per distinct record with its count, and snapshotted like the state of
   * {@code updateStateByKey}; the order of records within a window is not kept.
   */
  DStream<T> window(Duration length, Duration slide);

  /** Every {@code slide}, the records of the last {@code length} combined with {@code f}; nothing for an empty window. */
  DStream<T> reduceByWindow(ReduceFunction<T> f, Duration length, Duration slide);

  /**
   * As {@link #reduceByWindow(ReduceFunction, Duration, Duration)}, updated incrementally: the
   * batches entering the window are added with {@code f}, those leaving it taken out with {@code
   * inverse}, so a long window costs no more than a short one.
   */
  DStream<T> reduceByWindow(ReduceFunction<T> f, ReduceFunction<T> inverse, Duration length, Duration slide);

  /** Every {@code slide}, each distinct record of the last {@code length} with its number of occurrences. */
  PairDStream<T, Long> countByValueAndWindow(Duration length, Duration slide);

  PairDStream<T, Long> countByValueAndWindow(Duration length, Duration slide, int partitions);

  /**
   * Snapshots this stateful stream's state every {@code interval}, a multiple of its slide
   * interval; by default the smallest multiple that is at least 10 s.
   */
  DStream<T> checkpoint(Duration interval);

  /** Hands every batch's records, with the batch time and driver epoch, to {@code f} on the driver. */
  void foreachBatch(BatchFunction<T> f);

  /**
   * Writes each batch as text files (one record per line) to the directory {@code
   * prefix-<batch time in ms>}, committed once by an atomic rename.
   */
  void saveAsTextFiles(String prefix);

  /** As {@link #saveAsTextFiles(String)}, into {@code prefix-<batch time in ms>.suffix}. */
  void saveAsTextFiles(String prefix, String suffix);
}
