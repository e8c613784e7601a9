package io.sluice.api;

/** The mapped stream of {@code mapWithState}, from which its state can also be read. */
public interface MapWithStateDStream<K, V, S, M> extends DStream<M> {

  /** Every key's state after each batch (scanning the whole state: use it where it is needed). */
  PairDStream<K, S> stateSnapshots();

  /** As {@link PairDStream#checkpoint(Duration)}: how often the state is snapshotted. */
  MapWithStateDStream<K, V, S, M> checkpoint(Duration interval);

  @Override
  MapWithStateDStream<K, V, S, M> uid(String id);
}
