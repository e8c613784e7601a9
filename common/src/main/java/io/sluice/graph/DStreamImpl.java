package io.sluice.graph;

import io.sluice.api.Codec;
import io.sluice.api.Codecs;
import io.sluice.api.DStream;
import io.sluice.api.Duration;
import io.sluice.api.Functions.BatchFunction;
import io.sluice.api.Functions.FilterFunction;
import io.sluice.api.Functions.FlatMapFunction;
import io.sluice.api.Functions.MapFunction;
import io.sluice.api.Functions.PairFunction;
import io.sluice.api.Functions.PartitionFunction;
import io.sluice.api.Functions.ReduceFunction;
import io.sluice.api.PairDStream;
import io.sluice.api.SluiceException;
import java.util.List;
import java.util.Map;

/** A handle on one operator node while the graph is built. */
class DStreamImpl<T> implements DStream<T> {
  final GraphBuilder builder;
  final OperatorNode node;

  DStreamImpl(GraphBuilder builder, OperatorNode node) {
    this.builder = builder;
    this.node = node;
  }

  @Override
  public String id() {
    return node.id();
  }

  @Override
  public DStream<T> uid(String id) {
    setUid(id);
    return this;
  }

  void setUid(String id) {
    if (id == null || id.isBlank() || !id.matches("[A-Za-z0-9._-]+")) {
      throw new SluiceException("uid \"" + id + "\" is not valid: use letters, digits, '.', '_' and '-'");
    }
    node.setUid(id);
  }

  @Override
  public DStream<T> withCodec(Codec<T> codec) {
    node.setCodec(codec);
    return this;
  }

  <R> DStream<R> narrow(OperatorKind kind, Object f) {
    return new DStreamImpl<>(builder, builder.add(kind, List.of(node), f, 0, Map.of(), Codecs.auto()));
  }

  @Override
  public <R> DStream<R> map(MapFunction<T, R> f) {
    return narrow(OperatorKind.MAP, f);
  }

  @Override
  public <R> DStream<R> flatMap(FlatMapFunction<T, R> f) {
    return narrow(OperatorKind.FLAT_MAP, f);
  }

  @Override
  public DStream<T> filter(FilterFunction<T> f) {
    return new DStreamImpl<>(builder, builder.add(OperatorKind.FILTER, List.of(node), f, 0, Map.of(), node.codec()));
  }

  @Override
  public <K, V> PairDStream<K, V> mapToPair(PairFunction<T, K, V> f) {
    return new PairDStreamImpl<>(builder, builder.add(OperatorKind.MAP_TO_PAIR, List.of(node), f, 0, Map.of(), Codecs.auto()));
  }

  @Override
  public DStream<T> union(DStream<T> other) {
    if (!(other instanceof DStreamImpl<T> o) || o.builder != builder) {
      throw new SluiceException("union needs a stream of the same application");
    }
    return new DStreamImpl<>(builder, builder.add(OperatorKind.UNION, List.of(node, o.node), null, 0, Map.of(), node.codec()));
  }

  @Override
  public <R> DStream<R> transform(PartitionFunction<T, R> f) {
    return narrow(OperatorKind.TRANSFORM, f);
  }

  @Override
  public DStream<T> reduce(ReduceFunction<T> f) {
    return new DStreamImpl<>(builder, builder.add(OperatorKind.REDUCE, List.of(node), f, 1, Map.of(), node.codec()));
  }

  @Override
  public DStream<Long> count() {
    return new DStreamImpl<>(builder, builder.add(OperatorKind.COUNT, List.of(node), null, 1, Map.of(), Codecs.LONG));
  }

  @Override
  public PairDStream<T, Long> countByValue() {
    return new PairDStreamImpl<>(builder, builder.add(OperatorKind.COUNT_BY_VALUE, List.of(node), null,
        builder.defaultParallelism(), Map.of(), Codecs.pair(node.codec(), Codecs.LONG)));
  }

  @Override
  public DStream<T> window(Duration length) {
    return window(length, builder.batchInterval());
  }

  @Override
  public DStream<T> window(Duration length, Duration slide) {
    return new DStreamImpl<>(builder, builder.add(OperatorKind.WINDOW, List.of(node), WindowSpec.counting(length, slide),
        builder.defaultParallelism(), Map.of(), node.codec()));
  }

  @Override
  public DStream<T> reduceByWindow(ReduceFunction<T> f, Duration length, Duration slide) {
    return reduceByWindow(f, null, length, slide);
  }

  @Override
  public DStream<T> reduceByWindow(ReduceFunction<T> f, ReduceFunction<T> inverse, Duration length, Duration slide) {
    return new DStreamImpl<>(builder, builder.add(OperatorKind.REDUCE_BY_WINDOW, List.of(node),
        WindowSpec.of(f, inverse, length, slide), 1, Map.of(), node.codec()));
  }

  @Override
  public PairDStream<T, Long> countByValueAndWindow(Duration length, Duration slide) {
    return countByValueAndWindow(length, slide, builder.defaultParallelism());
  }

  @Override
  public PairDStream<T, Long> countByValueAndWindow(Duration length, Duration slide, int partitions) {
    return new PairDStreamImpl<>(builder, builder.add(OperatorKind.COUNT_BY_VALUE_AND_WINDOW, List.of(node),
        WindowSpec.counting(length, slide), partitions, Map.of(), Codecs.pair(node.codec(), Codecs.LONG)));
  }

  @Override
  public DStream<T> checkpoint(Duration interval) {
    setCheckpointInterval(interval);
    return this;
  }

  void setCheckpointInterval(Duration interval) {
    if (!node.kind().isStateful()) {
      throw new SluiceException("checkpoint(" + interval + ") on " + node.id() + ", which keeps no state; call it on "
          + "the stream a stateful or windowed operator returns");
    }
    node.setCheckpointInterval(interval);
  }

  @Override
  public void foreachBatch(BatchFunction<T> f) {
    builder.add(OperatorKind.FOREACH_BATCH, List.of(node), f, 0, Map.of(), node.codec());
  }

  @Override
  public void saveAsTextFiles(String prefix) {
    saveAsTextFiles(prefix, "");
  }

  @Override
  public void saveAsTextFiles(String prefix, String suffix) {
    if (prefix == null || prefix.isBlank()) {
      throw new SluiceException("saveAsTextFiles needs a path prefix");
    }
    builder.add(OperatorKind.SAVE_AS_TEXT, List.of(node), null, 0, Map.of("prefix", prefix, "suffix", suffix), node.codec());
  }
}
