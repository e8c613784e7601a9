package io.sluice.runtime;

import com.google.common.hash.Hashing;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import io.sluice.api.Codec;
import io.sluice.api.Codecs;
import io.sluice.api.Functions.ReduceFunction;
import io.sluice.api.Pair;
import io.sluice.api.Reducers;
import io.sluice.codec.AsciiStringCodec;
import io.sluice.codec.BytesInput;
import io.sluice.codec.ChunkEncoder;
import io.sluice.codec.RecordCodecs;
import io.sluice.graph.OperatorNode;
import io.sluice.graph.WindowSpec;
import io.sluice.state.PartitionState;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How a shuffle operator splits its input records into keys and values, combines values, and
 * builds its output records. Keys are partitioned and grouped by their encoded bytes, so equal
 * keys meet whatever their Java {@code hashCode}.
 */
final class ShuffleOperator {
  /**
   * After this many records a map task checks whether combining in one table pays: with nearly as
   * many keys as records (a large key space), each record costs a lookup in a large hash table for
   * little saving in the shuffle, so the task stops combining, as Trino's adaptive partial
   * aggregation does. A sum of longs goes on in {@link BucketedSums} if the task's previous run
   * wrote enough records for that to pay (see {@link #MIN_RECORDS_PER_KEY_TO_BUCKET}), or if it has
   * no previous run in this JVM.
   */
  private static final long COMBINE_PROBE_RECORDS = 100_000;
  /**
   * Summing in buckets pays when it expects at least this many records per key: each record costs
   * an append and a sum in the cache, each key written an encoding and, in the state task, a
   * lookup. At a million keys, 1.6 records per key (R = 200k) came out even, 2.7 clearly ahead.
   */
  private static final double MIN_RECORDS_PER_KEY_TO_BUCKET = 2;
  /** Map tasks that write records by region of the state table write 2^this regions. */
  private static final int REGION_BITS = 6;
  /** Combining stops when more than this share of the probed records had distinct keys. */
  private static final double COMBINE_MAX_DISTINCT_RATIO = 0.5;
  /** How a map task combined its records: in one table, in {@link BucketedSums}, or not at all. */
  enum Combining { IN_ONE_TABLE, IN_BUCKETS, NOT }

  /**
   * How a map task's run went, what its next run in the JVM can expect: the records it wrote, how
   * it combined them when it ended, and how the next run should start. A run that did not combine
   * in one table counts its keys (those it summed in buckets, or those of its first records) and
   * tells from them how its next run should combine, as the probe would: where a task's keys
   * change, its next run follows them, without a probe in runs whose keys did not. (Probing again
   * every tenth run, as a task did before, cost that run 100-300 ms at a million keys: the probe's
   * code was compiled for the task's first run only.)
   */
  record MapRun(long records, Combining combining, Combining next) {}

  private final OperatorNode node;
  private final Codec<Object> keyCodec;
  private final Codec<Object> valueCodec;
  /** How this shuffle's blocks hold values: {@link #valueCodec}, or {@link BlockLongs} around it. */
  private final Codec<Object> blockValueCodec;
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
        combiner = WindowSpec.SUM;
      }
      case REDUCE -> {
        keyCodec = RecordCodecs.UNIT;
        valueCodec = input;
        combiner = (ReduceFunction<Object>) node.function();
      }
      case COUNT -> {
        keyCodec = RecordCodecs.UNIT;
        valueCodec = (Codec<Object>) (Codec<?>) Codecs.LONG;
        combiner = WindowSpec.SUM;
      }
      default -> throw new IllegalArgumentException(node + " is not a shuffle");
    }
    blockValueCodec = valueCodec == Codecs.auto() || valueCodec == (Codec<?>) Codecs.LONG
        ? new BlockLongs(valueCodec) : valueCodec;
  }

  /**
   * The values of a shuffle block as {@code codec} writes them, except that a {@code Long} is a
   * zigzag varint: a count of 1 takes two bytes instead of nine, and at a million keys, where a map
   * task sees each key a few times, a word count's blocks are mostly small counts. Blocks live only for their
   * batch, inside one version of the application, so no file holds this form.
   */
  private static final class BlockLongs implements Codec<Object> {
    private static final int LONG_TAG = 0;
    private static final int OTHER_TAG = 1;
    private final Codec<Object> codec;

    BlockLongs(Codec<Object> codec) {
      this.codec = codec;
    }

    @Override
    public String name() {
      return codec.name();
    }

    @Override
    public void write(Object value, DataOutput out) throws IOException {
      if (value instanceof Long l) {
        out.writeByte(LONG_TAG);
        long zigzag = CodedOutputStream.encodeZigZag64(l);
        while ((zigzag & ~0x7fL) != 0) {
          out.writeByte((int) ((zigzag & 0x7f) | 0x80));
          zigzag >>>= 7;
        }
        out.writeByte((int) zigzag);
      } else {
        out.writeByte(OTHER_TAG);
        codec.write(value, out);
      }
    }

    @Override
    public Object read(DataInput in) throws IOException {
      int tag = in.readByte();
      if (tag == OTHER_TAG) {
        return codec.read(in);
      }
      if (tag != LONG_TAG) {
        throw new IOException("corrupt shuffle value: unknown tag " + tag);
      }
      long zigzag = 0;
      for (int shift = 0; shift < 70; shift += 7) {
        byte b = in.readByte();
        zigzag |= (long) (b & 0x7f) << shift;
        if (b >= 0) {
          return CodedInputStream.decodeZigZag64(zigzag);
        }
      }
      throw new IOException("corrupt shuffle value: a varint longer than ten bytes");
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

  /**
   * The map side: combines (or collects) records per key, then writes one block per partition.
   * Combining in one table stops when it does not pay (see {@link #COMBINE_PROBE_RECORDS}): what
   * was combined is written, and later records go to their blocks as they come, or for a sum of
   * longs to {@link BucketedSums} until the task ends; the reduce side combines anyway. The task's
   * next run in this JVM starts as this one tells ({@link MapRun#next}).
   */
  OperatorEmitter writer(ShuffleStore store, long batchMs, String taskId, int incomingEdges, Runnable onWritten) {
    return new Writer(store, batchMs, taskId, incomingEdges, onWritten);
  }

  /**
   * The distinct keys expected among {@code records} records when the first {@code probed} held
   * {@code distinct}. Keys drawn uniformly from K give K(1 - e^(-n/K)) distinct keys in n records
   * (the coupon collector's count): K is solved for from the probe, then the count taken at
   * {@code records}.
   */
  static double expectedDistinctKeys(long probed, long distinct, long records) {
    if (distinct >= probed) {
      return records;
    }
    double low = distinct;
    double high = 2.0 * distinct;
    while (distinctKeys(high, probed) < distinct) {
      low = high;
      high *= 2;
    }
    for (int i = 0; i < 60; i++) {
      double middle = (low + high) / 2;
      if (distinctKeys(middle, probed) < distinct) {
        low = middle;
      } else {
        high = middle;
      }
    }
    return Math.min(records, distinctKeys((low + high) / 2, records));
  }

  /**
   * Whether combining in one table would have passed the probe, for keys like the {@code distinct}
   * of {@code records} records: at most {@link #COMBINE_MAX_DISTINCT_RATIO} of the probe's records
   * expected distinct.
   */
  static boolean oneTablePays(long records, long distinct) {
    return expectedDistinctKeys(records, distinct, COMBINE_PROBE_RECORDS)
        <= COMBINE_PROBE_RECORDS * COMBINE_MAX_DISTINCT_RATIO;
  }

  /** The distinct keys expected in {@code draws} uniform draws from {@code keySpace} keys: K(1 - e^(-n/K)). */
  private static double distinctKeys(double keySpace, long draws) {
    return keySpace * -Math.expm1(-draws / keySpace);
  }

  private final class Writer extends OperatorEmitter {
    private final ShuffleStore store;
    private final long batchMs;
    private final String taskId;
    private final Runnable onWritten;
    private final BlockWriter blocks;
    /** Null once combining in one table stopped, and for a shuffle that keeps every value. */
    private CombiningTable combined;
    /** Where a sum of longs goes on combining once {@link #combined} stopped; else null. */
    private BucketedSums bucketed;
    /** The keys of the first records of a run that writes them as they come and could combine; else null. */
    private LinearCounter firstKeys;
    private final MapRun lastRun;
    private long records;

    Writer(ShuffleStore store, long batchMs, String taskId, int incomingEdges, Runnable onWritten) {
      super(node.id(), incomingEdges);
      this.store = store;
      this.batchMs = batchMs;
      this.taskId = taskId;
      this.onWritten = onWritten;
      this.blocks = new BlockWriter(store.buffers());
      this.lastRun = store.lastRun(node.id(), taskId);
      if (combiner == null) {
        return;
      }
      Combining start = lastRun == null ? Combining.IN_ONE_TABLE : lastRun.next();
      switch (start) {
        case IN_ONE_TABLE -> combined = new CombiningTable(combiner);
        case IN_BUCKETS -> bucketed = new BucketedSums(store.buffers());
        case NOT -> firstKeys = new LinearCounter(COMBINE_PROBE_RECORDS);
      }
    }

    private void combineAfterTable(boolean inBuckets) {
      combined = null;
      if (inBuckets) {
        bucketed = new BucketedSums(store.buffers());
      }
    }

    @Override
    public void emit(Object record) throws Exception {
      try {
        Object key = keyOf(record);
        Object value = valueOf(record);
        records++;
        if (combined == null) {
          if (bucketed == null || !bucketed.add(key, value)) {
            blocks.append(key, value);
            if (firstKeys != null && records <= COMBINE_PROBE_RECORDS) {
              firstKeys.add(blocks.lastKeyHash());
            }
          }
          return;
        }
        combined.add(key, value);
        if (records == COMBINE_PROBE_RECORDS && combined.size() > records * COMBINE_MAX_DISTINCT_RATIO) {
          boolean bucketsPay = bucketsPay(lastRun == null ? 0 : lastRun.records(), COMBINE_PROBE_RECORDS, combined.size());
          writeCombined();
          combineAfterTable(bucketsPay);
        }
      } catch (Exception e) {
        throw failure(e);
      }
    }

    private void writeCombined() throws Exception {
      if (combined != null) {
        combined.forEach(blocks::append);
      }
      if (bucketed != null) {
        bucketed.drain(blocks::appendPackedByRegion);
        bucketed = null;
      }
    }

    /**
     * Whether a run of {@code expected} records should sum in buckets, given {@code distinct} keys
     * among {@code counted} records. A first run in this JVM does not know how many records it
     * will get ({@code expected} 0), and does: it is where a stateful operator's keys are all new,
     * which the state task adds fastest in the order of its table (at K = 1M, R = 1M the first
     * batch's state tasks got 5M records for 500,000 keys each without it, 1M with it), and a run
     * with too few records per key for buckets loses little.
     */
    private boolean bucketsPay(long expected, long counted, long distinct) {
      return combiner == (Object) Reducers.longSum() && (expected == 0
          || expected / expectedDistinctKeys(counted, distinct, expected) >= MIN_RECORDS_PER_KEY_TO_BUCKET);
    }

    /** How the next run should start, for {@code distinct} keys among {@code counted} of this run's records. */
    private Combining nextFor(long counted, long distinct) {
      if (oneTablePays(counted, distinct)) {
        return Combining.IN_ONE_TABLE;
      }
      return bucketsPay(records, counted, distinct) ? Combining.IN_BUCKETS : Combining.NOT;
    }

    @Override
    void flush() throws Exception {
      // Before writeCombined, which lets go of the table and the buckets.
      Combining combining = combined != null ? Combining.IN_ONE_TABLE
          : bucketed != null ? Combining.IN_BUCKETS : Combining.NOT;
      BucketedSums summed = bucketed;
      writeCombined();
      Combining next = switch (combining) {
        case IN_ONE_TABLE -> Combining.IN_ONE_TABLE;
        // Buckets that took no record (keys that do not pack) tell nothing: probe again.
        case IN_BUCKETS -> summed.recordsTaken() == 0 ? Combining.IN_ONE_TABLE
            : nextFor(summed.recordsTaken(), summed.keysSummed());
        // Counted from its start, or not combining at all: since its probe, or without a combiner.
        case NOT -> firstKeys == null ? Combining.NOT
            : nextFor(Math.min(records, COMBINE_PROBE_RECORDS), Math.round(firstKeys.estimate()));
      };
      store.noteRun(node.id(), taskId, new MapRun(records, combining, next));
      for (int p = 0; p < node.partitions(); p++) {
        List<ShuffleChunk> block = blocks.block(p);
        if (!block.isEmpty()) {
          store.put(batchMs, node.id(), taskId, p, block);
        }
      }
      onWritten.run();
    }
  }

  /**
   * One block per partition of (length, key, length, value) records, in chunks that each hold
   * whole records. Each key and value is encoded once into a reused buffer and copied into its
   * block's chunk ({@link PooledChunks}): no allocation per record.
   */
  private final class BlockWriter {
    private final ShuffleBuffers buffers;
    private final ChunkEncoder keys = new ChunkEncoder();
    private final ChunkEncoder values = new ChunkEncoder();
    /** The characters of a packed key, for {@link #appendPackedByRegion}. */
    private final byte[] packedChars = new byte[CombiningTable.PACKED_CHARS];
    private final PooledChunks[] partitions = new PooledChunks[node.partitions()];
    /** Per partition, the records of {@link #appendByRegion} by region; null until one comes. */
    private PooledChunks[][] regions;
    private int lastKeyHash;

    BlockWriter(ShuffleBuffers buffers) {
      this.buffers = buffers;
    }

    void append(Object key, Object value) {
      int p = encode(key, value);
      if (partitions[p] == null) {
        partitions[p] = new PooledChunks(buffers);
      }
      appendTo(partitions[p]);
    }

    /**
     * {@link #appendByRegion} of a key given as its {@link CombiningTable#packedTag packed tag} and a
     * sum: a key codec that can write ASCII bytes ({@link AsciiStringCodec}: the built-in ones)
     * writes them without a {@code String} made for it.
     */
    void appendPackedByRegion(long packedTag, long sum) {
      int length = CombiningTable.unpackInto(packedTag, packedChars);
      if (keyCodec instanceof AsciiStringCodec ascii) {
        keys.encodeAscii(ascii, packedChars, length);
      } else {
        keys.encode(keyCodec, new String(packedChars, 0, length, StandardCharsets.US_ASCII), node.id());
      }
      appendByRegion(encodeValue(sum));
    }

    /**
     * Appends the record in {@link #keys} and {@link #values}, of partition {@code p}, after the
     * others of its key's region of a state table (the high bits of
     * {@link PartitionState#keyHash}), so that a stateful reduce task looks the block's keys up a
     * region of its table at a time, each in the CPU's cache, where in the order they came each
     * lookup of a large partition misses it. For many records of distinct keys only: each region
     * takes an array of its own.
     */
    private void appendByRegion(int p) {
      if (regions == null) {
        regions = new PooledChunks[node.partitions()][1 << REGION_BITS];
      }
      int r = PartitionState.keyHash(keys.array(), 0, keys.size()) >>> (Integer.SIZE - REGION_BITS);
      if (regions[p][r] == null) {
        regions[p][r] = new PooledChunks(buffers);
      }
      appendTo(regions[p][r]);
    }

    /** Encodes a record into {@link #keys} and {@link #values}; returns its partition. */
    private int encode(Object key, Object value) {
      keys.encode(keyCodec, key, node.id());
      return encodeValue(value);
    }

    /** Encodes a record's value into {@link #values}, its key being in {@link #keys}; returns its partition. */
    private int encodeValue(Object value) {
      values.encode(blockValueCodec, value, node.id());
      lastKeyHash = Hashing.murmur3_32_fixed().hashBytes(keys.array(), 0, keys.size()).asInt();
      return Math.floorMod(lastKeyHash, node.partitions());
    }

    /** The hash that partitioned the last record appended. */
    int lastKeyHash() {
      return lastKeyHash;
    }

    /** Partition {@code p}'s chunks, none when it got no record: those appended in order, then by region. */
    List<ShuffleChunk> block(int p) {
      List<ShuffleChunk> block = new ArrayList<>(partitions[p] == null ? List.of() : partitions[p].finish());
      if (regions != null) {
        for (PooledChunks region : regions[p]) {
          if (region != null) {
            block.addAll(region.finish());
          }
        }
      }
      return block;
    }

    /** Appends a record from {@link #keys} and {@link #values} to a partition's (or region's) chunks. */
    private void appendTo(PooledChunks block) {
      byte[] chunk = block.room(2 * ChunkEncoder.MAX_FRAMING_BYTES + keys.size() + values.size());
      block.wrote(values.copyChunkTo(chunk, keys.copyChunkTo(chunk, block.used())));
    }
  }

  /** The reduce side: merges the blocks of every map task by key and emits the output records. */
  void read(Iterable<ShuffleChunk> blocks, Emitter out) throws Exception {
    Map<ByteBuffer, Object> merged = merge(blocks);
    if (merged.isEmpty() && node.kind() == io.sluice.graph.OperatorKind.COUNT) {
      out.emit(0L);
    }
    for (Map.Entry<ByteBuffer, Object> e : merged.entrySet()) {
      out.emit(output(decodeKey(e.getKey()), e.getValue()));
    }
    out.finish();
  }

  Codec<Object> keyCodec() {
    return keyCodec;
  }

  /** A key as records carry it, from the encoded form the shuffle and the state group by. */
  Object decodeKey(ByteBuffer encoded) {
    return RecordCodecs.decode(keyCodec, encoded.array());
  }

  Codec<Object> valueCodec() {
    return valueCodec;
  }

  /** Values of each key across the blocks: combined, or as a list where there is no combiner. */
  Map<ByteBuffer, Object> merge(Iterable<ShuffleChunk> blocks) throws Exception {
    Map<ByteBuffer, Object> merged = new LinkedHashMap<>();
    forEachRecord(blocks, (bytes, keyOffset, keyLength, value) -> {
      ByteBuffer key = ByteBuffer.wrap(Arrays.copyOfRange(bytes, keyOffset, keyOffset + keyLength));
      if (combiner == null) {
        @SuppressWarnings("unchecked")
        List<Object> values = (List<Object>) merged.computeIfAbsent(key, k -> new ArrayList<>());
        values.add(value);
      } else {
        Combined combined = (Combined) merged.computeIfAbsent(key, k -> new Combined());
        combined.value = combined.empty ? value : combiner.apply(combined.value, value);
        combined.empty = false;
      }
    });
    if (combiner != null) {
      merged.replaceAll((key, combined) -> ((Combined) combined).value);
    }
    return merged;
  }

  /**
   * A key's combined value while its blocks are merged: one map lookup per record, where a get and
   * a put would hash the key twice (the combiner may throw checked exceptions, so Map.merge cannot take it).
   */
  private static final class Combined {
    boolean empty = true;
    Object value;
  }

  /** Whether this shuffle combines the values of a key (else it keeps them all). */
  boolean combines() {
    return combiner != null;
  }

  /** The combination of two values of a key; only for a shuffle that {@link #combines()}. */
  Object combineValues(Object previous, Object value) throws Exception {
    return combiner.apply(previous, value);
  }

  /**
   * Receives the records of shuffle blocks one by one, each key still encoded in {@code
   * bytes[keyOffset, keyOffset + keyLength)}, which stays valid after the call (it is the block)
   * until the task's {@link ShuffleInput} is closed.
   */
  interface RecordVisitor {
    void visit(byte[] bytes, int keyOffset, int keyLength, Object value) throws Exception;
  }

  /** Reads the blocks' (key, value) records in order, without grouping them or copying their keys. */
  void forEachRecord(Iterable<ShuffleChunk> blocks, RecordVisitor visitor) throws Exception {
    for (ShuffleChunk chunk : blocks) {
      byte[] block = chunk.bytes();
      BytesInput in = new BytesInput(block, chunk.length());
      while (in.hasRemaining()) {
        int keyLength = in.readVarint();
        int keyOffset = in.position();
        in.skipFully(keyLength);
        int length = in.readVarint();
        int before = in.position();
        Object value = blockValueCodec.read(in);
        if (in.position() - before != length) {
          throw new IOException("corrupt shuffle block of " + node.id() + ": codec " + valueCodec.name() + " read "
              + (in.position() - before) + " bytes of a " + length + "-byte value");
        }
        visitor.visit(block, keyOffset, keyLength, value);
      }
    }
  }
}
