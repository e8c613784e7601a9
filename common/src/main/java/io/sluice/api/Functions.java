package io.sluice.api;

import java.util.List;

/** The function types that operators take; each may throw, which fails the task. */
public final class Functions {
  private Functions() {}

  /** One record to one record. */
  @FunctionalInterface
  public interface MapFunction<T, R> {
    R apply(T value) throws Exception;
  }

  /** One record to zero or more records. */
  @FunctionalInterface
  public interface FlatMapFunction<T, R> {
    Iterable<R> apply(T value) throws Exception;
  }

  /** Keeps the records for which it returns true. */
  @FunctionalInterface
  public interface FilterFunction<T> {
    boolean test(T value) throws Exception;
  }

  /** One record to a key and a value. */
  @FunctionalInterface
  public interface PairFunction<T, K, V> {
    Pair<K, V> apply(T value) throws Exception;
  }

  /** An associative and commutative combination of two values. */
  @FunctionalInterface
  public interface ReduceFunction<T> {
    T apply(T left, T right) throws Exception;
  }

  /** Turns one partition of a batch into output records, knowing which batch it is. */
  @FunctionalInterface
  public interface PartitionFunction<T, R> {
    Iterable<R> apply(BatchInfo batch, List<T> partition) throws Exception;
  }

  /**
   * The new state of a key from the batch's values for it and its previous state; an empty result
   * removes the key. Called only for keys that have values in the batch.
   */
  @FunctionalInterface
  public interface UpdateFunction<V, S> {
    java.util.Optional<S> apply(List<V> values, java.util.Optional<S> state) throws Exception;
  }

  /** Receives every record of a batch on the driver. */
  @FunctionalInterface
  public interface BatchFunction<T> {
    void apply(BatchInfo batch, List<T> records) throws Exception;
  }

  /**
   * The function of {@code mapWithState}: called once per record of the batch with its key and
   * value, and once with no value for a key whose state times out; returns the record for the
   * mapped stream, or null for none.
   */
  @FunctionalInterface
  public interface MappingFunction<K, V, S, M> {
    M apply(K key, java.util.Optional<V> value, State<S> state) throws Exception;
  }
}
