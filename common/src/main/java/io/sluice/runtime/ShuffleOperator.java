package io.sluice.runtime;

import com.google.common.hash.Hashing;
import com.google.common.io.ByteArrayDataOutput;
import com.google.common.io.ByteStreams;
import io.sluice.api.Codec;
import io.sluice.api.Codecs;
import io.sluice.api.Functions.ReduceFunction;
import io.sluice.api.Pair;
import io.sluice.codec.RecordCodecs;
import io.sluice.graph.OperatorNode;
import io.sluice.graph.WindowSpec;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How a shuffle operator splits its input records into keys and values, combines values, and
 * builds its output records. Keys are partitioned and grouped by their encoded bytes, so equal
 * keys meet whatever their Java {@code hashCode}.
 */
final class ShuffleOperator {
  private static final ReduceFunction<Object> SUM = (a, b) -> (Long) a + (Long) b;

  private final OperatorNode node;
  private final Codec<Object> keyCodec;
  private final Codec<Object> valueCodec;
  /** Null for groupByKey, which keeps every value. */
  private final ReduceFunction<Object> combiner;

  @SuppressWarnings("unchecked")
  ShuffleOperator(OperatorNode node) {
    this.node = node;
    Codec<?> parentCodec = node.parents().get(0).codec();
    Codec<Object> input = (Codec<Object>) parentCodec;
    Codec<Object> inputKeys = Codecs.auto();
    Codec<Object> inputValues = Codecs.auto();
    if (parentCodec instanceof Codecs.PairCodec<?, ?> pc) {
      inputKeys = (Codec<Object>) pc.keys();
      inputValues = (Codec<Object>) pc.values();
    }
    switch (node.kind()) {
      case REDUCE_BY_KEY -> {
        keyCodec = inputKeys;
        valueCodec = inputValues;
        combiner = (ReduceFunction<Object>) node.function();
      }
      case GROUP_BY_KEY, UPDATE_STATE_BY_KEY, MAP_WITH_STATE -> {
        keyCodec = inputKeys;
        valueCodec = inputValues;
        combiner = null;
      }
      case REDUCE_BY_KEY_AND_WINDOW -> {
        keyCodec = inputKeys;
        valueCodec = inputValues;
        combiner = ((WindowSpec) node.function()).reduce();
      }
      case REDUCE_BY_WINDOW -> {
        keyCodec = RecordCodecs.UNIT;
        valueCodec = input;
        combiner = ((WindowSpec) node.function()).reduce();
      }
      case COUNT_BY_VALUE, WINDOW, COUNT_BY_VALUE_AND_WINDOW -> {
        keyCodec = input;
        valueCodec = (Codec<Object>) (Codec<?>) Codecs.LONG;
        combiner = SUM;
      }
      case REDUCE -> {
        keyCodec = RecordCodecs.UNIT;
        valueCodec = input;
        combiner = (ReduceFunction<Object>) node.function();
      }
      case COUNT -> {
        keyCodec = RecordCodecs.UNIT;
        valueCodec = (Codec<Object>) (Codec<?>) Codecs.LONG;
        combiner = SUM;
      }
      default -> throw new IllegalArgumentException(node + " is not a shuffle");
    }
  }

  private Object keyOf(Object record) {
    return switch (node.kind()) {
      case REDUCE_BY_KEY, GROUP_BY_KEY, UPDATE_STATE_BY_KEY, MAP_WITH_STATE, REDUCE_BY_KEY_AND_WINDOW ->
          ((Pair<?, ?>) record).key();
      case COUNT_BY_VALUE, WINDOW, COUNT_BY_VALUE_AND_WINDOW -> record;
      default -> null;
    };
  }

  private Object valueOf(Object record) {
    return switch (node.kind()) {
      case REDUCE_BY_KEY, GROUP_BY_KEY, UPDATE_STATE_BY_KEY, MAP_WITH_STATE, REDUCE_BY_KEY_AND_WINDOW ->
          ((Pair<?, ?>) record).value();
      case COUNT_BY_VALUE, COUNT, WINDOW, COUNT_BY_VALUE_AND_WINDOW -> 1L;
      default -> record;
    };
  }

  private Object output(Object key, Object value) {
    return switch (node.kind()) {
      case REDUCE_BY_KEY, GROUP_BY_KEY, COUNT_BY_VALUE -> Pair.of(key, value);
      default -> value;
    };
  }

  private int partitionOf(byte[] key) {
    return Math.floorMod(Hashing.murmur3_32_fixed().hashBytes(key).asInt(), node.partitions());
  }

  /** The map side: combines (or collects) records per key, then writes one block per partition. */
  Emitter writer(ShuffleStore store, long batchMs, String taskId, Runnable onWritten) {
    return new Emitter() {
      private final Map<Object, Object> combined = new HashMap<>();
      private final ByteArrayDataOutput[] grouped = new ByteArrayDataOutput[node.partitions()];

      @Override
      public void emit(Object record) throws Exception {
        Object key = keyOf(record);
        Object value = valueOf(record);
        if (combiner == null) {
          append(grouped, key, value);
        } else {
          Object previous = combined.get(key);
          combined.put(key, previous == null ? value : combiner.apply(previous, value));
        }
      }

      @Override
      public void finish() {
        ByteArrayDataOutput[] buffers = grouped;
        combined.forEach((k, v) -> append(buffers, k, v));
        for (int p = 0; p < buffers.length; p++) {
          if (buffers[p] != null) {
            store.put(batchMs, node.id(), taskId, p, buffers[p].toByteArray());
          }
        }
        onWritten.run();
      }
    };
  }

  private void append(ByteArrayDataOutput[] buffers, Object key, Object value) {
    byte[] k = RecordCodecs.encode(keyCodec, key, node.id());
    int p = partitionOf(k);
    if (buffers[p] == null) {
      buffers[p] = ByteStreams.newDataOutput();
    }
    RecordCodecs.writeChunk(buffers[p], k);
    RecordCodecs.writeChunk(buffers[p], RecordCodecs.encode(valueCodec, value, node.id()));
  }

  /** The reduce side: merges the blocks of every map task by key and emits the output records. */
  void read(List<byte[]> blocks, Emitter out) throws Exception {
    Map<ByteBuffer, Object> merged = merge(blocks);
    if (merged.isEmpty() && node.kind() == io.sluice.graph.OperatorKind.COUNT) {
      out.emit(0L);
    }
    for (Map.Entry<ByteBuffer, Object> e : merged.entrySet()) {
      out.emit(output(RecordCodecs.decode(keyCodec, e.getKey().array()), e.getValue()));
    }
    out.finish();
  }

  Codec<Object> keyCodec() {
    return keyCodec;
  }

  Codec<Object> valueCodec() {
    return valueCodec;
  }

  /** Values of each key across the blocks: combined, or as a list where there is no combiner. */
  Map<ByteBuffer, Object> merge(List<byte[]> blocks) throws Exception {
    Map<ByteBuffer, Object> merged = new LinkedHashMap<>();
    for (byte[] block : blocks) {
      DataInputStream in = new DataInputStream(new ByteArrayInputStream(block));
      while (in.available() > 0) {
        ByteBuffer key = ByteBuffer.wrap(RecordCodecs.readChunk(in));
        Object value = RecordCodecs.decode(valueCodec, RecordCodecs.readChunk(in));
        if (combiner == null) {
          @SuppressWarnings("unchecked")
          List<Object> values = (List<Object>) merged.computeIfAbsent(key, k -> new ArrayList<>());
          values.add(value);
        } else {
          Object previous = merged.get(key);
          merged.put(key, previous == null ? value : combiner.apply(previous, value));
        }
      }
    }
    return merged;
  }
}
