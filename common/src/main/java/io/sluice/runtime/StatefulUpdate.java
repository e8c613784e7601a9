package io.sluice.runtime;

import io.sluice.api.BatchInfo;
import io.sluice.api.Codec;
import io.sluice.api.Codecs;
import io.sluice.api.Duration;
import io.sluice.api.Functions.MappingFunction;
import io.sluice.api.Functions.UpdateFunction;
import io.sluice.api.Pair;
import io.sluice.api.State;
import io.sluice.api.StateSpec;
import io.sluice.codec.RecordCodecs;
import io.sluice.graph.OperatorKind;
import io.sluice.graph.OperatorNode;
import io.sluice.proto.SnapshotWritten;
import io.sluice.proto.StateAccess;
import io.sluice.proto.StateSize;
import io.sluice.proto.TaskResult;
import io.sluice.state.BackgroundSnapshots;
import io.sluice.state.IdleKeys;
import io.sluice.state.PartitionState;
import io.sluice.state.SnapshotFiles;
import io.sluice.state.StateStores;
import io.sluice.state.TimedState;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reduce side of {@code updateStateByKey}, {@code mapWithState} and the windowed operators, in its own reduce task or
 * inside the reduce task of its parent shuffle: brings the partition's state to the version the
 * driver expects (undoing a batch that never completed, or restoring it from snapshots when this
 * JVM does not hold it), calls the user's function for the batch's keys only, snapshots when
 * asked, and emits what the operator carries.
 *
 * <p>{@code mapWithState} with an idle timeout keeps each key's state with the batch of its last
 * record (put as a {@link TimedState}, kept as a stamp beside the state), so that idle keys can time
 * out; without one, the state alone. Its calls emit the
 * mapped records, and the whole state goes to {@code stateSnapshots()} only when the application
 * reads that stream.
 */
final class StatefulUpdate {
  private static final Logger LOG = LoggerFactory.getLogger(StatefulUpdate.class);
  /** Where the operator's records go; {@code snapshots} is null when nothing reads the state stream. */
  record Outputs(Emitter main, Emitter snapshots) {}

  /** What an update of a state partition reports: its snapshots written since its last task, and its size. */
  record Applied(List<SnapshotWritten> snapshots, StateSize size) {
    void addTo(TaskResult.Builder result) {
      result.addAllSnapshots(snapshots).addStateSizes(size);
    }
  }

  private final OperatorNode node;
  private final boolean mapsWithState;
  /**
   * Whether each mapWithState entry holds, beside its state, the batch that last updated it: only
   * with an idle timeout, which needs it. Without one an entry holds the state alone, which a long
   * state keeps unboxed; a pair per key updated per batch, promoted with the partition, cost young
   * collections of 100-260 ms at a million keys.
   */
  private final boolean timed;
  /** mapWithState's idle timeout; 0 when {@link #timed} is not set. */
  private final long timeoutMs;
  private final ShuffleOperator shuffle;
  /** How snapshots hold a state, as they are restored; {@link #snapshotCodec} for writing them. */
  private final Codec<Object> stateCodec;
  /** Null unless the operator is windowed. */
  private final WindowedUpdate windowed;

  @SuppressWarnings("unchecked")
  StatefulUpdate(OperatorNode node) {
    this.node = node;
    this.shuffle = new ShuffleOperator(node);
    this.mapsWithState = node.kind() == OperatorKind.MAP_WITH_STATE;
    this.timeoutMs = mapsWithState
        ? ((StateSpec<?, ?, ?, ?>) node.function()).idleTimeout().map(Duration::millis).orElse(0L) : 0;
    this.timed = timeoutMs > 0;
    this.windowed = node.kind().isWindowed() ? new WindowedUpdate(node, shuffle) : null;
    if (windowed != null) {
      this.stateCodec = windowed.stateCodec();
    } else if (mapsWithState) {
      StateSpec<?, ?, ?, ?> spec = (StateSpec<?, ?, ?, ?>) node.function();
      this.stateCodec = new LastUpdatedCodec((Codec<Object>) spec.codec(), 0, timed);
    } else {
      Codec<?> own = node.codec();
      this.stateCodec = own instanceof Codecs.PairCodec<?, ?> pc ? (Codec<Object>) pc.values() : Codecs.auto();
    }
  }

  /** The encoded form of a key, as the shuffle and the state partition know it. */
  ByteBuffer encodeKey(Object key) {
    return ByteBuffer.wrap(RecordCodecs.encode(shuffle.keyCodec(), key, node.id()));
  }

  /**
   * Runs the update on the records of the batch's shuffle blocks for this partition, written by
   * this operator's own shuffle or, when {@code fusedInto} is not null, by the parent shuffle whose
   * reduce task it runs in.
   */
  Applied runOnBlocks(Iterable<ShuffleChunk> blocks, ShuffleOperator fusedInto, int partition, BatchInfo batch,
      StateAccess access, StateStores stores, Configuration conf, Outputs out) throws Exception {
    ShuffleOperator grouping = fusedInto == null ? shuffle : fusedInto;
    if (node.kind() == OperatorKind.UPDATE_STATE_BY_KEY) {
      return applyToPartition(partition, batch, access, stores, conf, out,
          state -> updateFromRecords(state, blocks, grouping));
    }
    long batchMs = batch.time().millis();
    if (mapsWithState) {
      return applyToPartition(partition, batch, access, stores, conf, out,
          state -> mapFromRecords(state, blocks, grouping, batchMs, out.main()));
    }
    boolean slideDue = node.hasBatchAt(batchMs, batch.startTime().millis());
    return applyToPartition(partition, batch, access, stores, conf, out, state -> {
      // A windowed shuffle combines: one value per key.
      updateSlotsFromRecords(state, blocks, grouping, false,
          (slot, added, key, values) -> windowed.add(added ? null : state.stateAt(slot), values.get(0), batchMs));
      if (slideDue) {
        windowed.slide(state, batchMs, out.main());
      }
    });
  }

  /**
   * Runs the update of {@code updateStateByKey} or {@code mapWithState} with the batch's values per
   * key ({@code batchValues}: encoded key to a list of values).
   */
  Applied run(Map<ByteBuffer, Object> batchValues, int partition, BatchInfo batch,
      StateAccess access, StateStores stores, Configuration conf, Outputs out) throws Exception {
    long batchMs = batch.time().millis();
    return applyToPartition(partition, batch, access, stores, conf, out, state -> {
      if (mapsWithState) {
        map(state, batchValues, batchMs, out.main());
      } else {
        updateGrouped(state, batchValues);
      }
    });
  }

  /** The batch's changes to a state partition. */
  private interface StateChange {
    void apply(PartitionState state) throws Exception;
  }

  /**
   * Brings the partition to the version the batch needs, applies {@code change} (undone if it
   * fails, so that the batch can run again on the same state), takes a snapshot when asked, and
   * emits. The snapshot is taken here and copied, encoded and written in the background; the
   * snapshots this reports are the partition's previous one, which an earlier task took, if written
   * by now.
   */
  private Applied applyToPartition(int partition, BatchInfo batch, StateAccess access,
      StateStores stores, Configuration conf, Outputs out, StateChange change) throws Exception {
    long batchMs = batch.time().millis();
    PartitionState state = stores.partition(node.id(), partition);
    synchronized (state) {
      if (timed) {
        state.keepStamps();
      }
      // The partition's last snapshot is of the state as its last task left it.
      stores.snapshots().copyBeforeChange(node.id(), partition);
      long keptAtMs = access.getReplayKeptAtBatchMs();
      if (keptAtMs > 0 && keepsPartitionAt(state, partition, keptAtMs, stores, conf)) {
        LOG.info("Kept {} partition {} at batch {}: the replay of batch {} leaves it in place", node.id(), partition,
            keptAtMs, batchMs);
        finish(out);
        return applied(state, partition, stores);
      }
      ensureVersion(state, partition, access, stores, conf);
      state.beginUpdate();
      try {
        change.apply(state);
      } catch (Exception | Error e) {
        state.rollBack();
        throw e;
      }
      state.setVersionMs(batchMs);
      BackgroundSnapshots.Request request = null;
      SnapshotFiles.Taken snapshot = null;
      if (!access.getSnapshotPath().isEmpty()) {
        // One snapshot of a partition is on its way at a time, and the next copies into the arrays of the last.
        stores.snapshots().awaitWritten(node.id(), partition);
        long base = state.snapshotMs();
        // The driver counts on a delta following its last snapshot; after a restore or a restart it may not.
        boolean full = access.getFullSnapshot() || base != access.getDeltaBaseBatchMs();
        snapshot = SnapshotFiles.take(state, full, snapshotCodec(batchMs), node.id());
        request = new BackgroundSnapshots.Request(node.id(), partition, access.getSnapshotPath(), batchMs, full,
            full ? 0 : base);
      }
      // In a replay whose records nothing reads (keptAtMs set), the scan of the whole state would be for nothing.
      if (keptAtMs == 0) {
        if (mapsWithState) {
          if (out.snapshots() != null) {
            for (int slot = state.nextSlot(-1); slot >= 0; slot = state.nextSlot(slot)) {
              out.snapshots().emit(Pair.of(state.keyAt(slot), state.unstampedStateAt(slot)));
            }
          }
        } else if (windowed == null) {
          emitEveryEntry(state, out.main());
        }
      }
      finish(out);
      Applied applied = applied(state, partition, stores);
      if (request != null) {
        stores.snapshots().write(request, snapshot, conf);
      }
      return applied;
    }
  }

  /**
   * Whether the partition is at batch {@code keptAtMs}, the last completed one, or one uncompleted
   * batch ahead, which is undone here: then a replay leaves it as it is. An executor that outlived
   * a failed batch, or an AM, keeps its partitions so, and only the partitions of a lost executor
   * are restored and replayed.
   */
  private boolean keepsPartitionAt(PartitionState state, int partition, long keptAtMs, StateStores stores,
      Configuration conf) {
    if (state.versionMs() == keptAtMs) {
      return true;
    }
    if (state.undoableToMs() != keptAtMs) {
      return false;
    }
    // The snapshot that batch took is not of the state the partition keeps.
    stores.snapshots().drop(node.id(), partition, conf);
    state.rollBack();
    return true;
  }

  /** Ends the task's output: the state snapshots stream (only mapWithState's can be read), then the rest. */
  private void finish(Outputs out) throws Exception {
    if (out.snapshots() != null) {
      out.snapshots().finish();
    }
    out.main().finish();
  }

  /**
   * What the task reports once it cannot fail any more: the partition's size and its earlier
   * snapshot if written by now (a failed task leaves that to the partition's next one).
   */
  private Applied applied(PartitionState state, int partition, StateStores stores) {
    List<SnapshotWritten> reports = new ArrayList<>();
    stores.snapshots().writtenUnreported(node.id(), partition).ifPresent(o -> reports.add(o.report()));
    return new Applied(reports, StateSize.newBuilder().setNodeId(node.id()).setPartition(partition)
        .setKeys(state.size()).setChangedKeys(state.changedByLastUpdate()).build());
  }

  /** Emits every entry of the partition as a (key, state) pair: what updateStateByKey emits. */
  private static void emitEveryEntry(PartitionState state, Emitter out) throws Exception {
    for (int slot = state.nextSlot(-1); slot >= 0; slot = state.nextSlot(slot)) {
      out.emit(Pair.of(state.keyAt(slot), state.stateAt(slot)));
    }
  }

  /** Stands for a null value of a key whose values are combined while the batch is grouped. */
  private static final Object NULL_VALUE = new Object();

  /** How many records {@link #updateFromRecords} looks up, and how many entries it updates, at a time. */
  private static final int LOOKUP_BATCH = 256;

  /**
   * updateStateByKey straight from the shuffle's records (see {@link #updateSlotsFromRecords}): the
   * function runs once per key of the batch, and its result replaces the state in place.
   */
  @SuppressWarnings("unchecked")
  private void updateFromRecords(PartitionState state, Iterable<ShuffleChunk> blocks, ShuffleOperator grouping)
      throws Exception {
    UpdateFunction<Object, Object> f = (UpdateFunction<Object, Object>) node.function();
    updateSlotsFromRecords(state, blocks, grouping, false, (slot, added, key, values) ->
        f.apply(values, added ? Optional.empty() : Optional.of(state.stateAt(slot))).orElse(REMOVE));
  }

  /**
   * mapWithState straight from the shuffle's records (see {@link #updateSlotsFromRecords}): the
   * function runs once per value of each key of the batch, then idle keys time out.
   */
  private void mapFromRecords(PartitionState state, Iterable<ShuffleChunk> blocks, ShuffleOperator grouping,
      long batchMs, Emitter mapped) throws Exception {
    IdleKeys idle = idleKeys(state);
    updateSlotsFromRecords(state, blocks, grouping, true, (slot, added, key, values) -> {
      Object next = mapKey(state, added ? -1 : slot, key, values, batchMs, mapped);
      if (added && idle != null && next != REMOVE) {
        idle.add(state.encodedKeyAt(slot), batchMs);
      }
      return next;
    });
    timeOutIdleKeys(state, idle, batchMs, mapped);
  }

  /**
   * mapWithState's calls for one key of the batch, one per value; returns the entry the key is to
   * have after them, or {@link #REMOVE}. {@code slot} is the key's entry, -1 for a key new to the partition.
   */
  @SuppressWarnings("unchecked")
  private Object mapKey(PartitionState state, int slot, Object key, List<Object> values, long batchMs, Emitter mapped)
      throws Exception {
    MappingFunction<Object, Object, Object, Object> f =
        ((StateSpec<Object, Object, Object, Object>) node.function()).mappingFunction();
    KeyState s = slot < 0 ? new KeyState(null, false, false) : new KeyState(state.unstampedStateAt(slot), true, false);
    for (Object value : values) {
      emitIfPresent(f.apply(key, Optional.of(value), s), mapped);
    }
    if (!s.exists) {
      return REMOVE;
    }
    return timed ? new TimedState(batchMs, s.value) : s.value;
  }

  /** What a {@link SlotUpdate} returns for a key to be removed from the partition. */
  private static final Object REMOVE = new Object();

  /** Computes the next state of an entry that has values in the batch. */
  private interface SlotUpdate {
    /**
     * The next state of the entry at {@code slot} ({@code added}: a key new to the partition, which
     * gets its first) from the batch's {@code values} of its key, or {@link #REMOVE}. {@code key} is
     * the decoded key if the key was added or the update reads keys, else null.
     */
    Object apply(int slot, boolean added, Object key, List<Object> values) throws Exception;
  }

  /**
   * A stateful update straight from the shuffle's records: each record is grouped into its key's
   * slot of the state (one lookup, no copy of the key), then {@code update} runs once per key of the
   * batch on that slot and its result replaces the state in place. A key new to the partition gets
   * its entry as its records are grouped (see {@link RecordGrouper}), and its decoded key and first
   * state once {@code update} gives one. Keys are looked up, and entries
   * read (with their decoded keys when {@code readsKeys}), {@link #LOOKUP_BATCH} at a time, so that
   * the cache misses of a large partition overlap.
   */
  private void updateSlotsFromRecords(PartitionState state, Iterable<ShuffleChunk> blocks, ShuffleOperator grouping,
      boolean readsKeys, SlotUpdate update) throws Exception {
    RecordGrouper grouper = new RecordGrouper(state, grouping);
    List<byte[]> emptied = new ArrayList<>();
    try {
      grouping.forEachRecord(blocks, grouper);
      grouper.lookUpBuffered();
      grouper.addAbsentKeys();
      int[] touched = grouper.touched;
      for (int from = 0; from < grouper.touchedCount; from += LOOKUP_BATCH) {
        int to = Math.min(from + LOOKUP_BATCH, grouper.touchedCount);
        state.warmSlots(touched, from, to, readsKeys);
        for (int i = from; i < to; i++) {
          int slot = touched[i];
          boolean added = state.awaitsStateAt(slot);
          Object key = added ? shuffle.decodeKey(ByteBuffer.wrap(state.encodedKeyAt(slot)))
              : readsKeys ? state.keyAt(slot) : null;
          Object next = update.apply(slot, added, key, values(grouping, state.pendingAt(slot)));
          if (next == REMOVE) {
            emptied.add(state.encodedKeyAt(slot));
          } else if (added) {
            state.setFirstStateAt(slot, key, next);
          } else {
            state.replaceAt(slot, next);
          }
        }
      }
    } finally {
      for (int i = 0; i < grouper.touchedCount; i++) {
        state.setPendingAt(grouper.touched[i], null);
      }
    }
    state.removeAll(emptied);
  }

  /**
   * Groups a batch's shuffle records into the slots of the keys' state entries, looking keys up
   * {@link #LOOKUP_BATCH} at a time. A key the partition does not hold is added to it, awaiting its
   * state, while the table has room; once it has none, such records wait until every record was
   * looked up, and the table grows once for all their keys. Records may come in the order of the
   * keys' hashes, which is the order of the table: growing as they come would crowd the keys into
   * the part of the table already passed, where linear probes then run for thousands of slots.
   */
  private static final class RecordGrouper implements ShuffleOperator.RecordVisitor {
    private final PartitionState state;
    private final ShuffleOperator grouping;
    private final Records buffered = new Records(LOOKUP_BATCH);
    private final int[] found = new int[LOOKUP_BATCH];
    /** The records whose keys the partition did not hold when they were looked up. */
    private final Records absent = new Records(LOOKUP_BATCH);
    /** The slots holding values of this batch, each once; the first {@link #touchedCount}. */
    int[] touched = new int[1024];
    int touchedCount;

    RecordGrouper(PartitionState state, ShuffleOperator grouping) {
      this.state = state;
      this.grouping = grouping;
    }

    @Override
    public void visit(byte[] bytes, int keyOffset, int keyLength, Object value) throws Exception {
      buffered.add(bytes, keyOffset, keyLength, value);
      if (buffered.count == LOOKUP_BATCH) {
        lookUpBuffered();
      }
    }

    /** Groups the records buffered so far into the slots of the keys the partition holds. */
    void lookUpBuffered() throws Exception {
      Records r = buffered;
      state.slotsOf(r.keyBytes, r.keyOffsets, r.keyLengths, r.count, found);
      for (int i = 0; i < r.count; i++) {
        if (found[i] >= 0) {
          group(found[i], r.values[i]);
        } else if (state.hasRoomFor(1)) {
          // Looked up again: an earlier record of this lookup may have added the key. Adding one
          // moves no entry, so the slots found stay valid.
          group(state.slotAddingKey(r.keyBytes[i], r.keyOffsets[i], r.keyLengths[i]), r.values[i]);
        } else {
          absent.add(r.keyBytes[i], r.keyOffsets[i], r.keyLengths[i], r.values[i]);
        }
      }
      r.clear();
    }

    /** Adds the keys of the records looked up and not found, and groups those records; after the last record. */
    void addAbsentKeys() throws Exception {
      Records r = absent;
      if (r.count == 0) {
        return;
      }
      state.reserve(distinctKeys(r));
      for (int i = 0; i < r.count; i++) {
        group(state.slotAddingKey(r.keyBytes[i], r.keyOffsets[i], r.keyLengths[i]), r.values[i]);
      }
      r.clear();
      // The table grew: the slots grouped so far moved.
      touchedCount = 0;
      for (int slot = state.nextSlot(-1); slot >= 0; slot = state.nextSlot(slot)) {
        if (state.pendingAt(slot) != null) {
          touch(slot);
        }
      }
    }

    /**
     * About how many distinct keys {@code records} hold ({@link LinearCounter}). Keys counted short
     * merely make the table grow as they come.
     */
    private static int distinctKeys(Records records) {
      LinearCounter counter = new LinearCounter(records.count);
      for (int i = 0; i < records.count; i++) {
        counter.add(PartitionState.keyHash(records.keyBytes[i], records.keyOffsets[i], records.keyLengths[i]));
      }
      return (int) Math.min(records.count, Math.ceil(counter.estimate() * 1.01));
    }

    private void group(int slot, Object value) throws Exception {
      Object sofar = state.pendingAt(slot);
      if (sofar == null) {
        touch(slot);
      }
      state.setPendingAt(slot, collect(grouping, sofar, value));
    }

    private void touch(int slot) {
      if (touchedCount == touched.length) {
        touched = Arrays.copyOf(touched, touchedCount * 2);
      }
      touched[touchedCount++] = slot;
    }
  }

  /** Shuffle records by reference: each key in its block, as {@link ShuffleOperator.RecordVisitor} gets it, and the value. */
  private static final class Records {
    byte[][] keyBytes;
    int[] keyOffsets;
    int[] keyLengths;
    Object[] values;
    int count;

    Records(int capacity) {
      keyBytes = new byte[capacity][];
      keyOffsets = new int[capacity];
      keyLengths = new int[capacity];
      values = new Object[capacity];
    }

    void add(byte[] bytes, int keyOffset, int keyLength, Object value) {
      if (count == values.length) {
        int capacity = count * 2;
        keyBytes = Arrays.copyOf(keyBytes, capacity);
        keyOffsets = Arrays.copyOf(keyOffsets, capacity);
        keyLengths = Arrays.copyOf(keyLengths, capacity);
        values = Arrays.copyOf(values, capacity);
      }
      keyBytes[count] = bytes;
      keyOffsets[count] = keyOffset;
      keyLengths[count] = keyLength;
      values[count] = value;
      count++;
    }

    /** Forgets the records, and lets go of their blocks and values. */
    void clear() {
      Arrays.fill(keyBytes, 0, count, null);
      Arrays.fill(values, 0, count, null);
      count = 0;
    }
  }

  /** Adds {@code value} to what the batch has for a key so far ({@code null}: nothing yet). */
  @SuppressWarnings("unchecked")
  private static Object collect(ShuffleOperator grouping, Object sofar, Object value) throws Exception {
    if (grouping.combines()) {
      Object v = sofar == null ? value : grouping.combineValues(sofar == NULL_VALUE ? null : sofar, value);
      return v == null ? NULL_VALUE : v;
    }
    List<Object> list = sofar == null ? new ArrayList<>(2) : (List<Object>) sofar;
    list.add(value);
    return list;
  }

  /** The values an update function is called with, from what {@link #collect} gathered. */
  @SuppressWarnings("unchecked")
  private static List<Object> values(ShuffleOperator grouping, Object collected) {
    if (grouping.combines()) {
      return Collections.singletonList(collected == NULL_VALUE ? null : collected);
    }
    return (List<Object>) collected;
  }

  @SuppressWarnings("unchecked")
  private void updateGrouped(PartitionState state, Map<ByteBuffer, Object> batchValues) throws Exception {
    UpdateFunction<Object, Object> f = (UpdateFunction<Object, Object>) node.function();
    for (Map.Entry<ByteBuffer, Object> e : batchValues.entrySet()) {
      int old = state.slotOf(e.getKey());
      Object key = old >= 0 ? state.keyAt(old) : shuffle.decodeKey(e.getKey());
      Optional<Object> updated = f.apply((List<Object>) e.getValue(),
          old < 0 ? Optional.empty() : Optional.of(state.stateAt(old)));
      if (updated.isPresent()) {
        state.put(e.getKey(), key, updated.get());
      } else {
        state.remove(e.getKey());
      }
    }
  }

  @SuppressWarnings("unchecked")
  private void map(PartitionState state, Map<ByteBuffer, Object> batchValues, long batchMs, Emitter mapped)
      throws Exception {
    IdleKeys idle = idleKeys(state);
    for (Map.Entry<ByteBuffer, Object> e : batchValues.entrySet()) {
      int old = state.slotOf(e.getKey());
      Object key = old >= 0 ? state.keyAt(old) : shuffle.decodeKey(e.getKey());
      Object next = mapKey(state, old, key, (List<Object>) e.getValue(), batchMs, mapped);
      if (next == REMOVE) {
        state.remove(e.getKey());
        continue;
      }
      state.put(e.getKey(), key, next);
      if (old < 0 && idle != null) {
        idle.add(state.encodedKeyAt(state.slotOf(e.getKey())), batchMs);
      }
    }
    timeOutIdleKeys(state, idle, batchMs, mapped);
  }

  /** How a snapshot of batch {@code batchMs} writes a state. */
  private Codec<Object> snapshotCodec(long batchMs) {
    return stateCodec instanceof LastUpdatedCodec mapped ? new LastUpdatedCodec(mapped.states, batchMs, timed) : stateCodec;
  }

  /**
   * How snapshots hold a mapWithState entry, with an idle timeout or without: the batch that last
   * updated its key, then its state (as a pair of the two would be). An entry without a timeout
   * has no such batch and is written with the snapshot's, so that a job can add or drop the timeout
   * across a restart; a long state is written as a long instead, which {@link #entriesAsTimed}
   * makes an entry of a timed state when restored.
   */
  private static final class LastUpdatedCodec implements Codec<Object> {
    private final Codec<Object> states;
    private final long batchMs;
    /** Whether entries are read as {@link TimedState}s, or as their states alone. */
    private final boolean timed;

    LastUpdatedCodec(Codec<Object> states, long batchMs, boolean timed) {
      this.states = states;
      this.batchMs = batchMs;
      this.timed = timed;
    }

    @Override
    public String name() {
      return "pair(" + Codecs.LONG.name() + "," + states.name() + ")";
    }

    @Override
    public void write(Object entry, java.io.DataOutput out) throws java.io.IOException {
      if (entry instanceof TimedState t) {
        Codecs.LONG.write(t.lastMs(), out);
        states.write(t.state(), out);
      } else {
        Codecs.LONG.write(batchMs, out);
        states.write(entry, out);
      }
    }

    @Override
    public Object read(java.io.DataInput in) throws java.io.IOException {
      long lastMs = Codecs.LONG.read(in);
      Object state = states.read(in);
      return timed ? new TimedState(lastMs, state) : state;
    }
  }

  /**
   * Gives each entry restored as a long, from a snapshot of this operator without an idle timeout,
   * the restored batch as its last update: a timeout added across a restart counts from there.
   */
  private static void entriesAsTimed(PartitionState state) {
    for (int slot = state.nextSlot(-1); slot >= 0; slot = state.nextSlot(slot)) {
      if (state.hasLongStateAt(slot)) {
        state.replaceAt(slot, new TimedState(state.versionMs(), state.longStateAt(slot)));
      }
    }
  }

  /**
   * The partition's keys by when they may time out, built by one scan of the partition when it has
   * none (at its first timed batch in this JVM, and after a rollback or a restore); null without an
   * idle timeout.
   */
  private IdleKeys idleKeys(PartitionState state) {
    if (!timed) {
      return null;
    }
    IdleKeys idle = state.idleKeys();
    if (idle == null || idle.timeoutMs() != timeoutMs) {
      idle = new IdleKeys(timeoutMs);
      for (int slot = state.nextSlot(-1); slot >= 0; slot = state.nextSlot(slot)) {
        idle.add(state.encodedKeyAt(slot), state.stampAt(slot));
      }
      state.setIdleKeys(idle);
    }
    return idle;
  }

  /**
   * mapWithState's last call for each key idle for its timeout or longer, whose entry is then
   * removed. Looks only at the keys {@code idle} has due by this batch: an idle key has no record in
   * the batch to find it by, and a scan of the partition every batch would cost O(state) rather than
   * O(keys in the batch).
   */
  @SuppressWarnings("unchecked")
  private void timeOutIdleKeys(PartitionState state, IdleKeys idle, long batchMs, Emitter mapped) throws Exception {
    if (idle == null) {
      return;
    }
    MappingFunction<Object, Object, Object, Object> f =
        ((StateSpec<Object, Object, Object, Object>) node.function()).mappingFunction();
    for (byte[] key : idle.takeDue(batchMs)) {
      int slot = state.slotOf(key, 0, key.length);
      if (slot < 0) {
        continue;
      }
      long lastMs = state.stampAt(slot);
      if (batchMs - lastMs < timeoutMs) {
        idle.add(key, lastMs);
        continue;
      }
      emitIfPresent(f.apply(state.keyAt(slot), Optional.empty(), new KeyState(state.unstampedStateAt(slot), true, true)),
          mapped);
      // Removed at once, found by its key: a key listed twice then finds itself gone.
      state.remove(ByteBuffer.wrap(key));
    }
    if (idle.outgrows(state.size())) {
      state.setIdleKeys(null);
    }
  }

  private static void emitIfPresent(Object record, Emitter out) throws Exception {
    if (record != null) {
      out.emit(record);
    }
  }

  /** The state of one key during the calls of one batch. */
  private static final class KeyState implements State<Object> {
    private Object value;
    private boolean exists;
    private final boolean timingOut;

    KeyState(Object value, boolean exists, boolean timingOut) {
      this.value = value;
      this.exists = exists;
      this.timingOut = timingOut;
    }

    @Override
    public boolean exists() {
      return exists;
    }

    @Override
    public Object get() {
      if (!exists) {
        throw new java.util.NoSuchElementException("the key has no state; check exists() first");
      }
      return value;
    }

    @Override
    public void update(Object state) {
      if (timingOut) {
        throw new IllegalStateException("the state of a key that is timing out cannot be updated");
      }
      value = state;
      exists = true;
    }

    @Override
    public void remove() {
      value = null;
      exists = false;
    }

    @Override
    public boolean isTimingOut() {
      return timingOut;
    }
  }

  private void ensureVersion(PartitionState state, int partition, StateAccess access, StateStores stores,
      Configuration conf) throws Exception {
    if (state.versionMs() == access.getBaseBatchMs()) {
      return;
    }
    // Whatever happens below, a snapshot the partition took last is not of the state it will hold.
    stores.snapshots().drop(node.id(), partition, conf);
    if (state.undoableToMs() == access.getBaseBatchMs()) {
      // A batch that never completed ran here under an earlier driver.
      state.rollBack();
      return;
    }
    if (access.getStartEmpty()) {
      state.clear();
      state.setVersionMs(access.getBaseBatchMs());
      return;
    }
    if (access.getRestoreFilesCount() == 0) {
      if (access.getBaseBatchMs() != 0) {
        throw new IllegalStateException("state of " + node.id() + " partition " + partition + " is at batch "
            + state.versionMs() + " but the batch needs it at " + access.getBaseBatchMs() + " and there is no snapshot");
      }
      state.clear();
      return;
    }
    long started = System.nanoTime();
    long restored = SnapshotFiles.restore(state, access.getRestoreFilesList(), shuffle.keyCodec(), stateCodec, conf);
    LOG.info("Restored {} partition {} at batch {} from {} snapshot files: {} keys in {} ms", node.id(), partition,
        restored, access.getRestoreFilesCount(), state.size(), (System.nanoTime() - started) / 1_000_000L);
    if (timed) {
      entriesAsTimed(state);
    }
    if (restored != access.getBaseBatchMs()) {
      throw new IllegalStateException("the snapshot of " + node.id() + " partition " + partition + " holds batch "
          + restored + " but the batch needs the state at " + access.getBaseBatchMs());
    }
  }
}
