package io.sluice.state;

import io.sluice.api.Codec;
import io.sluice.checkpoint.CorruptCheckpointException;
import io.sluice.codec.BytesOutput;
import io.sluice.codec.ChunkEncoder;
import io.sluice.codec.RecordCodecs;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
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
  private static final int FORMAT_VERSION = 1;
  private static final byte PUT = 1;
  private static final byte REMOVE = 2;
  private static final int STAGING_BYTES = 1 << 16;
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private SnapshotFiles() {}

  /** What a written snapshot holds. */
  public record Written(long bytes, long keys) {}

  public static Written write(PartitionState state, boolean full, long batchMs, Codec<Object> stateCodec, Path path,
      Configuration conf, String operatorId) throws IOException {
    long startNs = System.nanoTime();
    long startCpuNs = THREADS.getCurrentThreadCpuTime();
    FileSystem fs = path.getFileSystem(conf);
    Path temp = new Path(path.getParent(), "." + path.getName() + ".tmp");
    CRC32C crc = new CRC32C();
    long keys = 0;
    long bytes;
    long writtenNs;
    // Streamed to the file as it is encoded: a full snapshot of a large partition is never held in memory.
    try (FSDataOutputStream file = fs.create(temp, true)) {
      CheckedOutputStream checked = new CheckedOutputStream(file, crc);
      // Records are encoded into this buffer and handed to the file 64 KiB at a time.
      BytesOutput out = new BytesOutput(STAGING_BYTES + 1024);
      out.write(MAGIC);
      out.writeInt(FORMAT_VERSION);
      out.writeLong(batchMs);
      out.writeBoolean(full);
      ChunkEncoder values = new ChunkEncoder();
      Iterable<PartitionState.Entry> puts = full ? state.entries() : state.changedEntries();
      for (PartitionState.Entry e : puts) {
        out.writeByte(PUT);
        RecordCodecs.writeChunk(out, e.encodedKey(), e.encodedKey().length);
        values.encode(stateCodec, e.state(), operatorId).writeTo(out);
        keys++;
        if (out.size() >= STAGING_BYTES) {
          checked.write(out.array(), 0, out.size());
          out.reset();
        }
      }
      if (!full) {
        for (ByteBuffer key : state.removedKeys()) {
          out.writeByte(REMOVE);
          RecordCodecs.writeChunk(out, key.array(), key.array().length);
        }
      }
      checked.write(out.array(), 0, out.size());
      file.writeInt((int) crc.getValue());
      bytes = file.getPos();
      writtenNs = System.nanoTime();
    }
    long closedNs = System.nanoTime();
    fs.delete(path, false);
    if (!fs.rename(temp, path)) {
      throw new IOException("could not rename " + temp + " to " + path);
    }
    state.markSnapshotted();
    long doneNs = System.nanoTime();
    // CPU time apart from wall time tells a slow encoding from a thread waiting for a core or for HDFS.
    LOG.info("Snapshot {}: {} keys, {} bytes in {} ms, {} ms of CPU (written {} ms, closed {} ms, renamed {} ms)", path,
        keys, bytes, (doneNs - startNs) / 1_000_000, (THREADS.getCurrentThreadCpuTime() - startCpuNs) / 1_000_000,
        (writtenNs - startNs) / 1_000_000, (closedNs - writtenNs) / 1_000_000,
        (doneNs - closedNs) / 1_000_000);
    return new Written(bytes, keys);
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
    state.markSnapshotted();
    state.setVersionMs(batchMs);
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
    if (bytes.length < MAGIC.length + 4 + 8 + 1 + 4) {
      throw new CorruptCheckpointException("state snapshot " + path + " is truncated");
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, bytes.length - 4);
    if ((int) crc.getValue() != ByteBuffer.wrap(bytes, bytes.length - 4, 4).getInt()) {
      throw new CorruptCheckpointException("state snapshot " + path + " is corrupt (checksum mismatch)");
    }
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes, 0, bytes.length - 4))) {
      byte[] magic = new byte[MAGIC.length];
      in.readFully(magic);
      if (!Arrays.equals(magic, MAGIC) || in.readInt() != FORMAT_VERSION) {
        throw new CorruptCheckpointException("state snapshot " + path + " is not in a format this Sluice reads");
      }
      long batchMs = in.readLong();
      in.readBoolean();
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
      return batchMs;
    } catch (EOFException e) {
      throw new CorruptCheckpointException("state snapshot " + path + " is truncated");
    }
  }
}
