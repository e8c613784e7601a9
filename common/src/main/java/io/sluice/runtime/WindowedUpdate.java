package io.sluice.runtime;

import io.sluice.api.Codec;
import io.sluice.api.Functions.ReduceFunction;
import io.sluice.api.Pair;
import io.sluice.graph.OperatorNode;
import io.sluice.graph.WindowSpec;
import io.sluice.state.PartitionState;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The state update of the windowed operators. Each key's state is its combined value per batch
 * still in the window (the shuffle has already combined the batch's values per key), plus, with an
 * inverse function, the window's running value. A batch adds its values to the keys it has ({@link
 * #add}, per key, as {@link StatefulUpdate} groups the batch's records into the partition); at
 * each slide the partition is scanned once ({@link #slide}): values that left the window are
 * dropped (and taken out of the running value), keys left with nothing are removed, and every
 * other key's window value is emitted.
 */
final class WindowedUpdate {
  private final OperatorNode node;
  private final WindowSpec spec;
  private final Codec<Object> stateCodec;

  WindowedUpdate(OperatorNode node, ShuffleOperator shuffle) {
    this.node = node;
    this.spec = (WindowSpec) node.function();
    this.stateCodec = new KeyWindowCodec(shuffle.valueCodec(), spec.inverse() != null);
  }

  /** How the state of one key is written to snapshots. */
  Codec<Object> stateCodec() {
    return stateCodec;
  }

  /**
   * A key's window after the batch's {@code value} of it was added: its window so far is {@code
   * window}, or null for a key new to the partition.
   */
  KeyWindow add(Object window, Object value, long batchMs) throws Exception {
    KeyWindow kept = window == null ? KeyWindow.EMPTY : ((KeyWindow) window).dropUpTo(leftMs(batchMs), spec.inverse());
    return kept.add(batchMs, value, spec);
  }

  /**
   * At a slide, after the batch's values were added: drops the values that left the window, removes
   * the keys left with nothing, and emits every other key's window value. Scans the partition: keys
   * with no value in this batch may have values leaving the window.
   */
  void slide(PartitionState state, long batchMs, Emitter out) throws Exception {
    long leftMs = leftMs(batchMs);
    List<byte[]> emptied = new ArrayList<>();
    for (int slot = state.nextSlot(-1); slot >= 0; slot = state.nextSlot(slot)) {
      KeyWindow before = (KeyWindow) state.stateAt(slot);
      KeyWindow now = before.dropUpTo(leftMs, spec.inverse());
      if (now.isEmpty()) {
        emptied.add(state.encodedKeyAt(slot));
        continue;
      }
      if (now != before) {
        state.replaceAt(slot, now);
      }
      emit(state.keyAt(slot), now.value(spec), out);
    }
    state.removeAll(emptied);
  }

  /** Values of batches at or before this time can be in no window from batch {@code batchMs} on. */
  private long leftMs(long batchMs) {
    return batchMs - spec.length().millis();
  }

  private void emit(Object key, Object value, Emitter out) throws Exception {
    switch (node.kind()) {
      case WINDOW -> {
        for (long i = (Long) value; i > 0; i--) {
          out.emit(key);
        }
      }
      case REDUCE_BY_WINDOW -> out.emit(value);
      case REDUCE_BY_KEY_AND_WINDOW, COUNT_BY_VALUE_AND_WINDOW -> out.emit(Pair.of(key, value));
      default -> throw new IllegalStateException(node + " is not windowed");
    }
  }

  /**
   * One key's values per batch, oldest first, and the running value when there is an inverse.
   * Immutable, so that the partition's undo log can keep the state from before a batch.
   */
  static final class KeyWindow {
    static final KeyWindow EMPTY = new KeyWindow(new long[0], new Object[0], null);

    private final long[] batchTimes;
    private final Object[] values;
    private final Object running;

    KeyWindow(long[] batchTimes, Object[] values, Object running) {
      this.batchTimes = batchTimes;
      this.values = values;
      this.running = running;
    }

    boolean isEmpty() {
      return batchTimes.length == 0;
    }

    KeyWindow add(long batchMs, Object value, WindowSpec spec) throws Exception {
      long[] times = Arrays.copyOf(batchTimes, batchTimes.length + 1);
      Object[] vals = Arrays.copyOf(values, values.length + 1);
      times[times.length - 1] = batchMs;
      vals[vals.length - 1] = value;
      Object run = spec.inverse() == null ? null : isEmpty() ? value : spec.reduce().apply(running, value);
      return new KeyWindow(times, vals, run);
    }

    /** Without the values of batches up to {@code batchMs}, taken out of the running value; this when none. */
    KeyWindow dropUpTo(long batchMs, ReduceFunction<Object> inverse) throws Exception {
      int n = 0;
      while (n < batchTimes.length && batchTimes[n] <= batchMs) {
        n++;
      }
      if (n == 0) {
        return this;
      }
      if (n == batchTimes.length) {
        return EMPTY;
      }
      Object run = running;
      if (inverse != null) {
        for (int i = 0; i < n; i++) {
          run = inverse.apply(run, values[i]);
        }
      }
      return new KeyWindow(Arrays.copyOfRange(batchTimes, n, batchTimes.length),
          Arrays.copyOfRange(values, n, values.length), run);
    }

    /** The window's value: the running one, or the values combined oldest first. */
    Object value(WindowSpec spec) throws Exception {
      if (spec.inverse() != null) {
        return running;
      }
      Object v = values[0];
      for (int i = 1; i < values.length; i++) {
        v = spec.reduce().apply(v, values[i]);
      }
      return v;
    }
  }

  /** Writes a key's window as its batch count, then (batch time, value) each, then the running value. */
  private record KeyWindowCodec(Codec<Object> values, boolean withRunning) implements Codec<Object> {
    @Override
    public String name() {
      return "window(" + values.name() + (withRunning ? ",running" : "") + ")";
    }

    @Override
    public void write(Object value, DataOutput out) throws IOException {
      KeyWindow w = (KeyWindow) value;
      out.writeInt(w.batchTimes.length);
      for (int i = 0; i < w.batchTimes.length; i++) {
        out.writeLong(w.batchTimes[i]);
        values.write(w.values[i], out);
      }
      if (withRunning) {
        values.write(w.running, out);
      }
    }

    @Override
    public Object read(DataInput in) throws IOException {
      int n = in.readInt();
      long[] times = new long[n];
      Object[] vals = new Object[n];
      for (int i = 0; i < n; i++) {
        times[i] = in.readLong();
        vals[i] = values.read(in);
      }
      return new KeyWindow(times, vals, withRunning ? values.read(in) : null);
    }
  }
}
