package io.sluice.api;

import io.sluice.api.Functions.MappingFunction;
import java.util.Optional;

/**
 * What {@link PairDStream#mapWithState} does: its function, and optionally an idle timeout, a
 * partition count and a codec for the state. Immutable; each setter returns a new spec.
 */
public final class StateSpec<K, V, S, M> {
  private final MappingFunction<K, V, S, M> function;
  private final Optional<Duration> timeout;
  private final int partitions;
  private final Codec<S> stateCodec;

  private StateSpec(MappingFunction<K, V, S, M> function, Optional<Duration> timeout, int partitions,
      Codec<S> stateCodec) {
    this.function = function;
    this.timeout = timeout;
    this.partitions = partitions;
    this.stateCodec = stateCodec;
  }

  public static <K, V, S, M> StateSpec<K, V, S, M> function(MappingFunction<K, V, S, M> function) {
    return new StateSpec<>(function, Optional.empty(), 0, Codecs.auto());
  }

  /**
   * Keys that received no record for {@code idle} (a multiple of the batch interval) are called one
   * last time with no value and {@link State#isTimingOut()} true, then removed.
   */
  public StateSpec<K, V, S, M> timeout(Duration idle) {
    return new StateSpec<>(function, Optional.of(idle), partitions, stateCodec);
  }

  /** State partitions (default: the job's default parallelism). */
  public StateSpec<K, V, S, M> partitions(int count) {
    return new StateSpec<>(function, timeout, count, stateCodec);
  }

  /** How the state is written into snapshots (default: {@link Codecs#auto()}). */
  public StateSpec<K, V, S, M> stateCodec(Codec<S> codec) {
    return new StateSpec<>(function, timeout, partitions, codec);
  }

  public MappingFunction<K, V, S, M> mappingFunction() {
    return function;
  }

  public Optional<Duration> idleTimeout() {
    return timeout;
  }

  /** 0 when not set. */
  public int partitionCount() {
    return partitions;
  }

  public Codec<S> codec() {
    return stateCodec;
  }
}
