package io.sluice.state;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.sluice.api.Codec;
import io.sluice.api.Pair;
import io.sluice.checkpoint.CorruptCheckpointException;
import io.sluice.codec.BytesOutput;
import io.sluice.codec.ChunkEncoder;
import io.sluice.codec.RecordCodecs;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import java.util.zip.CheckedOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * State snapshot files: a header (magic, version, batch time, full or delta), entries (put with
 * key and state, or remove with key), and a CRC32C of everything before it. A full snapshot holds
 * every key; a delta the keys changed or removed since the previous snapshot. Written under a
 * temporary name and renamed, read back only when the checksum holds.
 */
public final class SnapshotFiles {
  private static final Logger LOG = LoggerFactory.getLogger(SnapshotFiles.class);
  private static final byte[] MAGIC = "SLUICEST".getBytes(StandardCharsets.US_ASCII);
  private static final int FORMAT_VERSION = 2;
  /** The format before varint lengths and {@code Long} puts: read, no longer written. */
  private static final int FORMAT_VERSION_INT_LENGTHS = 1;
  /** Magic, version, batch time, full flag. */
  private static final int HEADER_BYTES = 8 + 4 + 8 + 1;
  private static final byte PUT = 1;
  private static final byte REMOVE = 2;
  /**
   * A put of a {@code Long} state, written as the number: a codec gives back the value it encoded,
   * so restoring the number is restoring what the state codec would have decoded.
   */
  private static final byte PUT_LONG = 3;
  private static final int STAGING_BYTES = 1 << 16;
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private SnapshotFiles() {}

  /** What a written snapshot holds. */
  public record Written(long bytes, long keys) {}

  /**
   * What a snapshot holds, taken by the task so that the task can go on changing the state while
   * the file is encoded and written: a {@link PartitionState#copyForSnapshot copy} of the
   * partition's entries, and the keys removed since the last snapshot. The copy is made by {@link
   * #copyEntries}, after the task and before the partition next changes: the writer makes it in the
   * time between batches, where a task would spend 20-30 ms of its batch on a partition of 500,000
   * keys. States of the immutable types the codecs know, and {@code long} states, are encoded from
   * the copy later; any other state is encoded when copied, as the application may change it in
   * place.
   */
  public static final class Taken {
    private final boolean full;
    private final long batchMs;
    private final Codec<Object> stateCodec;
    private final String operatorId;
    private final PartitionState source;
    /** The partition's snapshot generation when taken, which {@link #copyEntries} gives the copy. */
    private final int generation;
    private final List<byte[]> removedKeys;
    @GuardedBy("this")
    private PartitionState entries;
    /** By slot: the encoding of a state the application may change in place, made when copied. */
    @GuardedBy("this")
    private Map<Integer, byte[]> encodedStates;

    private Taken(PartitionState source, boolean full, Codec<Object> stateCodec, String operatorId) {
      this.full = full;
      this.batchMs = source.versionMs();
      this.stateCodec = stateCodec;
      this.operatorId = operatorId;
      this.source = source;
      this.generation = source.generation();
      this.removedKeys = full ? List.of() : source.removedKeys().stream().map(ByteBuffer::array).toList();
    }

    /**
     * Copies the partition's entries for the file, once: before anything changes the partition
     * after the take, or the file would hold those changes.
     */
    public synchronized void copyEntries() {
      if (entries == null) {
        entries = source.copyForSnapshot(generation);
        encodedStates = source.mayHoldObjectStates() ? encodeMutableStates() : Map.of();
      }
    }

    private synchronized PartitionState entries() {
      return entries;
    }

    private synchronized Map<Integer, byte[]> encodedStates() {
      return encodedStates;
    }

    private Map<Integer, byte[]> encodeMutableStates() {
      Map<Integer, byte[]> encoded = new HashMap<>();
      ChunkEncoder encoder = new ChunkEncoder();
      for (int slot = next(entries, full, -1); slot >= 0; slot = next(entries, full, slot)) {
        Object value = entries.stateAt(slot);
        if (!isImmutable(value)) {
          encoded.put(slot, Arrays.copyOf(encoder.encode(stateCodec, value, operatorId).array(), encoder.size()));
        }
      }
      return encoded;
    }
  }

  private static boolean isImmutable(Object value) {
    return value == null || value instanceof Long || value instanceof String || value instanceof Integer
        || value instanceof Double || value instanceof Boolean || value instanceof Float || value instanceof Short
        || value instanceof Byte || value instanceof Character
        || value instanceof Pair<?, ?> p && isImmutable(p.key()) && isImmutable(p.value())
        || value instanceof TimedState t && isImmutable(t.state());
  }

  /**
   * Takes a snapshot of the state at its current version: every entry when {@code full}, otherwise
   * the entries changed and the keys removed since the last snapshot. Later changes are relative to
   * it, and may be made once its {@link Taken#copyEntries entries are copied}.
   */
  public static Taken take(PartitionState state, boolean full, Codec<Object> stateCodec, String operatorId) {
    Taken taken = new Taken(state, full, stateCodec, operatorId);
    state.markSnapshotted();
    LOG.info("Snapshot of batch {} taken: {} of {} keys", taken.batchMs, full ? "all" : "the changed", state.size());
    return taken;
  }

  /** The slot after {@code slot} whose entry a full snapshot, or a delta, holds. */
  private static int next(PartitionState state, boolean full, int slot) {
    return full ? state.nextSlot(slot) : state.nextChangedSlot(slot);
  }

  /** Called before each piece of a snapshot file is handed to the file system; may wait. */
  @FunctionalInterface
  public interface Pacing {
    void beforePiece() throws InterruptedException;
  }

  /** Writes a snapshot without pauses; see {@link #write(Taken, Path, Configuration, Pacing)}. */
  public static Written write(Taken snapshot, Path path, Configuration conf) throws IOException {
    return write(snapshot, path, conf, () -> {});
  }

  /**
   * Encodes a snapshot and writes it, with its checksum, under a temporary name, then renames it to
   * {@code path}. Streamed to the file as it is encoded, in pieces of 64 KiB, each after {@code
   * pacing} let it go: a large snapshot is never held encoded in memory. The entries are copied
   * (if the partition's next task has not) once the file is begun and {@code pacing} lets the first
   * piece go. A snapshot is written once: its copy of the entries then goes back to its partition,
   * written or not.
   */
  public static Written write(Taken snapshot, Path path, Configuration conf, Pacing pacing) throws IOException {
    try {
      return writeFile(snapshot, path, conf, pacing);
    } finally {
      PartitionState entries = snapshot.entries();
      if (entries != null) {
        snapshot.source.recycle(entries);
      }
    }
  }

  private static Written writeFile(Taken snapshot, Path path, Configuration conf, Pacing pacing) throws IOException {
    long startNs = System.nanoTime();
    long startCpuNs = THREADS.getCurrentThreadCpuTime();
    FileSystem fs = path.getFileSystem(conf);
    Path temp = new Path(path.getParent(), "." + path.getName() + ".tmp");
    CRC32C crc = new CRC32C();
    long bytes;
    long keys;
    long writtenNs;
    try (FSDataOutputStream file = fs.create(temp, true)) {
      // The file is begun at once; the copy, like each piece, waits for the pacing.
      awaitPacing(pacing);
      snapshot.copyEntries();
      keys = encode(snapshot, paced(new CheckedOutputStream(file, crc), pacing));
      file.writeInt((int) crc.getValue());
      bytes = file.getPos();
      writtenNs = System.nanoTime();
    }
    long closedNs = System.nanoTime();
    fs.delete(path, false);
    if (!fs.rename(temp, path)) {
      throw new IOException("could not rename " + temp + " to " + path);
    }
    long doneNs = System.nanoTime();
    // CPU time apart from wall time tells a slow encoding from a thread waiting for a core or for HDFS.
    LOG.info("Snapshot {}: {} keys, {} bytes in {} ms, {} ms of CPU (written {} ms, closed {} ms, renamed {} ms)",
        path, keys, bytes, (doneNs - startNs) / 1_000_000,
        (THREADS.getCurrentThreadCpuTime() - startCpuNs) / 1_000_000, (writtenNs - startNs) / 1_000_000,
        (closedNs - writtenNs) / 1_000_000, (doneNs - closedNs) / 1_000_000);
    return new Written(bytes, keys);
  }

  /**
   * Writes a snapshot's header and entries to {@code to}; returns how many keys it holds. Entries
   * are encoded into a staging buffer, which goes to the file whenever the next entry would take it
   * past {@link #STAGING_BYTES}: the pieces that {@link Pacing} lets go. Its varints and array
   * copies are those of the shuffle's block writers, compiled by the time an executor writes its
   * first snapshot; protobuf's stream encoder, which wrote the same bytes before, was compiled only
   * then: its compilations took 0.4-0.6 s per executor (the JIT's tasks, on two busy cores) beside
   * the batch after the first snapshot.
   */
  private static long encode(Taken snapshot, OutputStream to) throws IOException {
    long keys = 0;
    BytesOutput out = new BytesOutput(STAGING_BYTES);
    out.write(MAGIC);
    out.writeInt(FORMAT_VERSION);
    out.writeLong(snapshot.batchMs);
    out.writeBoolean(snapshot.full);
    ChunkEncoder values = new ChunkEncoder();
    PartitionState entries = snapshot.entries();
    Map<Integer, byte[]> encodedStates = snapshot.encodedStates();
    byte[] shortKey = new byte[PartitionState.INLINE_KEY_BYTES];
    for (int slot = next(entries, snapshot.full, -1); slot >= 0; slot = next(entries, snapshot.full, slot)) {
      int keyLength = entries.encodedKeyLengthAt(slot);
      keys++;
      if (entries.hasLongStateAt(slot)) {
        // A packed key takes two longs' room, whatever its length.
        handOverIfFull(out, to,
            1 + BytesOutput.MAX_VARINT_BYTES + Math.max(keyLength, 2 * Long.BYTES) + BytesOutput.MAX_VARLONG_BYTES);
        out.write(PUT_LONG);
        if (entries.hasInlineKeyAt(slot)) {
          // The commonest entry, a short key with a long state: the key goes from its row as it is packed.
          out.writeVarint(keyLength);
          out.writePacked(entries.inlineKeyLowAt(slot), entries.inlineKeyHighAt(slot), keyLength);
        } else {
          writeBytes(out, entries.encodedKeyAt(slot, shortKey), keyLength);
        }
        out.writeVarlong(CodedOutputStream.encodeZigZag64(entries.longStateAt(slot)));
        continue;
      }
      byte[] key = entries.encodedKeyAt(slot, shortKey);
      byte[] state = encodedStates.get(slot);
      int stateLength;
      if (state != null) {
        stateLength = state.length;
      } else {
        values.encode(snapshot.stateCodec, entries.stateAt(slot), snapshot.operatorId);
        state = values.array();
        stateLength = values.size();
      }
      handOverIfFull(out, to, 1 + 2 * BytesOutput.MAX_VARINT_BYTES + keyLength + stateLength);
      out.write(PUT);
      writeBytes(out, key, keyLength);
      writeBytes(out, state, stateLength);
    }
    for (byte[] key : snapshot.removedKeys) {
      handOverIfFull(out, to, 1 + BytesOutput.MAX_VARINT_BYTES + key.length);
      out.write(REMOVE);
      writeBytes(out, key, key.length);
    }
    handOver(out, to);
    return keys;
  }

  /** Hands what is staged in {@code out} to the file if {@code bytes} more would take it past {@link #STAGING_BYTES}. */
  private static void handOverIfFull(BytesOutput out, OutputStream to, int bytes) throws IOException {
    if (out.size() + bytes > STAGING_BYTES) {
      handOver(out, to);
    }
  }

  private static void handOver(BytesOutput out, OutputStream to) throws IOException {
    if (out.size() > 0) {
      to.write(out.array(), 0, out.size());
      out.reset();
    }
  }

  /** The first {@code length} of {@code bytes}, after their length as a varint. */
  private static void writeBytes(BytesOutput out, byte[] bytes, int length) {
    out.writeVarint(length);
    out.write(bytes, 0, length);
  }

  private static OutputStream paced(OutputStream out, Pacing pacing) {
    return new FilterOutputStream(out) {
      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        awaitPacing(pacing);
        out.write(b, off, len);
      }
    };
  }

  private static void awaitPacing(Pacing pacing) throws InterruptedIOException {
    try {
      pacing.beforePiece();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while writing a snapshot");
    }
  }

  /**
   * Rebuilds {@code state} from a chain of snapshot files (a full one, then deltas); returns the
   * batch time of the newest. Keys are decoded with {@code keyCodec}.
   */
  public static long restore(PartitionState state, List<String> files, Codec<Object> keyCodec, Codec<Object> stateCodec,
      Configuration conf) throws IOException {
    state.clear();
    long batchMs = 0;
    for (String file : files) {
      batchMs = apply(state, new Path(file), keyCodec, stateCodec, conf);
    }
    state.setVersionMs(batchMs);
    state.markSnapshotted();
    return batchMs;
  }

  private static long apply(PartitionState state, Path path, Codec<Object> keyCodec, Codec<Object> stateCodec,
      Configuration conf) throws IOException {
    byte[] bytes;
    try (InputStream in = path.getFileSystem(conf).open(path)) {
      bytes = in.readAllBytes();
    } catch (org.apache.hadoop.fs.ChecksumException e) {
      // The file system's own checksums (HDFS blocks, local .crc files) caught it first.
      throw new CorruptCheckpointException("state snapshot " + path + " is corrupt (checksum mismatch)");
    }
    // The header (magic, version, batch time, full flag) and the checksum; an empty partition has nothing more.
    if (bytes.length < HEADER_BYTES + 4) {
      throw new CorruptCheckpointException("state snapshot " + path + " is truncated");
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, bytes.length - 4);
    if ((int) crc.getValue() != ByteBuffer.wrap(bytes, bytes.length - 4, 4).getInt()) {
      throw new CorruptCheckpointException("state snapshot " + path + " is corrupt (checksum mismatch)");
    }
    ByteBuffer header = ByteBuffer.wrap(bytes, 0, HEADER_BYTES);
    byte[] magic = new byte[MAGIC.length];
    header.get(magic);
    int version = header.getInt();
    if (!Arrays.equals(magic, MAGIC) || (version != FORMAT_VERSION && version != FORMAT_VERSION_INT_LENGTHS)) {
      throw new CorruptCheckpointException("state snapshot " + path + " is not in a format this Sluice reads");
    }
    long batchMs = header.getLong();
    int entriesLength = bytes.length - 4 - HEADER_BYTES;
    try {
      if (version == FORMAT_VERSION) {
        state.reserve(newKeys(state, bytes, entriesLength, path));
        applyEntries(state, CodedInputStream.newInstance(bytes, HEADER_BYTES, entriesLength), path, keyCodec, stateCodec);
      } else {
        applyIntLengthEntries(state, new DataInputStream(new ByteArrayInputStream(bytes, HEADER_BYTES, entriesLength)),
            path, keyCodec, stateCodec);
      }
    } catch (EOFException | InvalidProtocolBufferException e) {
      throw new CorruptCheckpointException("state snapshot " + path + " is truncated");
    }
    return batchMs;
  }

  /**
   * How many of the entries put keys that the partition does not hold, so that its table can take
   * them before they come. A file lists its keys in the order of the table they were taken from,
   * which is the order of their own slots in any table; put in that order into a table that still
   * has to grow, they all crowd its first slots, and each probe runs past every key before it: a
   * restore of 500,000 keys took 9 s instead of a fraction of one.
   */
  private static int newKeys(PartitionState state, byte[] bytes, int entriesLength, Path path) throws IOException {
    CodedInputStream in = CodedInputStream.newInstance(bytes, HEADER_BYTES, entriesLength);
    int count = 0;
    while (!in.isAtEnd()) {
      byte op = in.readRawByte();
      int keyLength = in.readUInt32();
      int keyAt = HEADER_BYTES + in.getTotalBytesRead();
      in.skipRawBytes(keyLength);
      switch (op) {
        case PUT -> in.skipRawBytes(in.readUInt32());
        case PUT_LONG -> in.readSInt64();
        case REMOVE -> { }
        default -> throw new CorruptCheckpointException("state snapshot " + path + " has an unknown entry type " + op);
      }
      if (op != REMOVE && state.slotOf(bytes, keyAt, keyLength) < 0) {
        count++;
      }
    }
    return count;
  }

  private static void applyEntries(PartitionState state, CodedInputStream in, Path path, Codec<Object> keyCodec,
      Codec<Object> stateCodec) throws IOException {
    while (!in.isAtEnd()) {
      byte op = in.readRawByte();
      ByteBuffer key = ByteBuffer.wrap(in.readRawBytes(in.readUInt32()));
      switch (op) {
        case PUT -> state.put(key, RecordCodecs.decode(keyCodec, key.array()),
            RecordCodecs.decode(stateCodec, in.readRawBytes(in.readUInt32())));
        case PUT_LONG -> state.put(key, RecordCodecs.decode(keyCodec, key.array()), in.readSInt64());
        case REMOVE -> state.remove(key);
        default -> throw new CorruptCheckpointException("state snapshot " + path + " has an unknown entry type " + op);
      }
    }
  }

  private static void applyIntLengthEntries(PartitionState state, DataInputStream in, Path path, Codec<Object> keyCodec,
      Codec<Object> stateCodec) throws IOException {
    while (in.available() > 0) {
      byte op = in.readByte();
      ByteBuffer key = ByteBuffer.wrap(RecordCodecs.readChunk(in));
      if (op == PUT) {
        Object value = RecordCodecs.decode(stateCodec, RecordCodecs.readChunk(in));
        state.put(key, RecordCodecs.decode(keyCodec, key.array()), value);
      } else if (op == REMOVE) {
        state.remove(key);
      } else {
        throw new CorruptCheckpointException("state snapshot " + path + " has an unknown entry type " + op);
      }
    }
  }
}
