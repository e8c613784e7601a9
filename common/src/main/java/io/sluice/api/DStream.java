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
