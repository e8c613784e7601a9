package io.sluice.checkpoint;

import io.sluice.api.SluiceException;
import io.sluice.proto.MetadataCheckpoint;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.zip.CRC32C;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;

/**
 * The metadata checkpoint files of one checkpoint directory, {@code metadata-<sequence>}.
 *
 * <p>Each file is a header (magic, format version, payload length, CRC32C of the payload) and a
 * {@link MetadataCheckpoint}. A file is written under a temporary name, synced, and renamed, so a
 * reader never sees a partial file under a final name; readers still check length and checksum and
 * fall back to the previous file, since a disk or an operator can damage one later. An existing
 * file is never replaced, so of two drivers racing for one sequence number exactly one writes it.
 * Confined to the driver's thread.
 */
public final class MetadataStore {
  public static final String FILE_PREFIX = "metadata-";
  private static final byte[] MAGIC = "SLUICEMD".getBytes(StandardCharsets.US_ASCII);
  private static final int FORMAT_VERSION = 1;
  private static final int HEADER_BYTES = MAGIC.length + 12;

  private final FileSystem fs;
  private final Path dir;
  private final int retained;
  /**
   * Whether a write has listed the directory: after that first listing a write deletes the one
   * file that fell out of the retained count by its name, where a listing per write was two more
   * calls to the NameNode per batch and job.
   */
  private boolean listed;
  /** Once {@link #listed}, every metadata file up to this sequence number is deleted. */
  private long prunedThrough;

  /** A metadata file and what it holds. */
  public record Loaded(Path path, MetadataCheckpoint checkpoint) {}

  public MetadataStore(FileSystem fs, Path dir, int retained) {
    if (retained < 2) {
      throw new SluiceException("at least 2 metadata checkpoint files must be kept (got " + retained + ")");
    }
    this.fs = fs;
    this.dir = dir;
    this.retained = retained;
  }

  public Path directory() {
    return dir;
  }

  public FileSystem fileSystem() {
    return fs;
  }

  /** How many metadata files are kept. */
  public int retained() {
    return retained;
  }

  /**
   * Creates the directory if needed and proves it writable with a {@link WriteProbe}, or says why
   * it is not: a file system that takes names but cannot store data fails here, and the first
   * metadata file of a restarted driver does not pay for setting up the client's write path.
   *
   * @return whether the directory was created by this call
   */
  public boolean ensureWritable() {
    Path probe = new Path(dir, "._write-probe");
    try {
      boolean created = !fs.exists(dir);
      fs.mkdirs(dir);
      WriteProbe.writeAndDelete(fs, probe);
      return created;
    } catch (IOException e) {
      throw new SluiceException("checkpoint directory " + dir + " is not writable (" + firstLine(e)
          + "); choose another with --checkpoint or fix its permissions", e);
    }
  }

  /** Another writer (a driver of another epoch) has written the file of this sequence number. */
  public static final class SequenceTakenException extends IOException {
    private static final long serialVersionUID = 1L;

    SequenceTakenException(Path target) {
      super(target + " exists already: another driver wrote this sequence number");
    }
  }

  /**
   * Writes {@code checkpoint} as the file of its sequence number and drops files beyond the
   * retained count. Throws {@link SequenceTakenException} when that file exists: an existing file
   * is never replaced.
   */
  public Path write(MetadataCheckpoint checkpoint) throws IOException {
    byte[] payload = checkpoint.toByteArray();
    Path target = new Path(dir, fileName(checkpoint.getSequence()));
    // Per epoch, so that two drivers racing for one sequence number never write into the same file.
    Path temp = new Path(dir, "." + target.getName() + ".epoch" + checkpoint.getEpoch() + ".tmp");
    try (FSDataOutputStream out = fs.create(temp, true)) {
      out.write(MAGIC);
      out.writeInt(FORMAT_VERSION);
      out.writeInt(payload.length);
      out.writeInt(crc(payload));
      out.write(payload);
      out.hsync();
    }
    try {
      // Rename.NONE fails when the target exists, on every file system (a plain rename replaces it on some).
      FileContexts.of(fs).rename(temp, target, Options.Rename.NONE);
    } catch (FileAlreadyExistsException e) {
      fs.delete(temp, false);
      throw new SequenceTakenException(target);
    }
    prune(checkpoint.getSequence());
    return target;
  }

  /**
   * Sets up the client that metadata writes (and, in the same JVM, output commits) rename with,
   * ahead of the first write: on HDFS a FileContext brings a client of its own, which a restarted
   * driver would otherwise set up in the middle of its recovery.
   */
  public void prepareForWrites() throws IOException {
    FileContexts.of(fs);
  }

  public static String fileName(long sequence) {
    return String.format("%s%019d", FILE_PREFIX, sequence);
  }

  /** The highest sequence number among the files, damaged ones included; 0 when there are none. */
  public long highestSequence() throws IOException {
    List<Path> files = list();
    return files.isEmpty() ? 0 : sequenceOf(files.get(0));
  }

  private static long sequenceOf(Path file) {
    return Long.parseLong(file.getName().substring(FILE_PREFIX.length()));
  }

  /** Metadata files, newest first. */
  public List<Path> list() throws IOException {
    FileStatus[] statuses;
    try {
      // One call to the NameNode, not two: the driver lists before every metadata write.
      statuses = fs.listStatus(dir, p -> p.getName().startsWith(FILE_PREFIX));
    } catch (FileNotFoundException e) {
      return List.of();
    }
    return Arrays.stream(statuses).map(FileStatus::getPath)
        .sorted(Comparator.comparing(Path::getName).reversed()).toList();
  }

  /**
   * The newest file that reads back whole. Each damaged newer file is reported to {@code warnings}.
   * Empty only when the directory holds no metadata file at all; when files exist and none is
   * valid this throws rather than let a job silently start fresh.
   */
  public Optional<Loaded> readNewestValid(Consumer<String> warnings) throws IOException {
    return survey(warnings, false).newest();
  }

  /**
   * What a starting driver reads from the directory: the newest valid file (as {@link
   * #readNewestValid}), and the highest epoch and sequence number of any file. The newest file need
   * not hold the highest epoch: a zombie driver can write after a newer one, and a new epoch must be
   * above both.
   */
  public record Survey(Optional<Loaded> newest, long highestEpoch, long highestSequence) {}

  /** Reads the directory for a starting driver, listing it once and each file once. */
  public Survey survey(Consumer<String> warnings) throws IOException {
    return survey(warnings, true);
  }

  /** With {@code wholeDirectory} false, stops at the newest valid file (then the highest epoch is not known). */
  private Survey survey(Consumer<String> warnings, boolean wholeDirectory) throws IOException {
    List<Path> files = list();
    Loaded newest = null;
    long highestEpoch = 0;
    List<String> problems = new ArrayList<>();
    for (Path p : files) {
      try {
        MetadataCheckpoint checkpoint = read(p);
        if (newest == null) {
          newest = new Loaded(p, checkpoint);
        }
        highestEpoch = Math.max(highestEpoch, checkpoint.getEpoch());
      } catch (CorruptCheckpointException e) {
        // Damaged files behind the newest valid one cannot hold a usable epoch, and are not read from.
        if (newest == null) {
          warnings.accept("metadata checkpoint " + p + " is unusable (" + e.getMessage() + "); trying the previous one");
          problems.add(e.getMessage());
        }
      }
      if (newest != null && !wholeDirectory) {
        break;
      }
    }
    if (newest == null && !files.isEmpty()) {
      throw new SluiceException("no valid metadata checkpoint in " + dir + " (" + files.size()
          + " files, all damaged: " + problems.get(0) + "); restore the directory or start with a new one");
    }
    return new Survey(Optional.ofNullable(newest), highestEpoch, files.isEmpty() ? 0 : sequenceOf(files.get(0)));
  }

  /** Reads and verifies one metadata file. */
  public MetadataCheckpoint read(Path path) throws IOException {
    byte[] bytes;
    try (var in = fs.open(path); ByteArrayOutputStream buf = new ByteArrayOutputStream()) {
      in.transferTo(buf);
      bytes = buf.toByteArray();
    } catch (org.apache.hadoop.fs.ChecksumException e) {
      // The file system's own checksums (HDFS blocks, local .crc files) caught it first.
      throw new CorruptCheckpointException("checksum mismatch");
    }
    if (bytes.length < HEADER_BYTES) {
      throw new CorruptCheckpointException("truncated: " + bytes.length + " bytes, shorter than the header");
    }
    try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(bytes))) {
      byte[] magic = new byte[MAGIC.length];
      in.readFully(magic);
      if (!Arrays.equals(magic, MAGIC)) {
        throw new CorruptCheckpointException("not a Sluice metadata file");
      }
      int version = in.readInt();
      if (version != FORMAT_VERSION) {
        throw new CorruptCheckpointException("format version " + version + " is not supported (this Sluice reads "
            + FORMAT_VERSION + ")");
      }
      int length = in.readInt();
      int expectedCrc = in.readInt();
      if (length != bytes.length - HEADER_BYTES) {
        throw new CorruptCheckpointException("truncated: payload of " + (bytes.length - HEADER_BYTES)
            + " bytes, header says " + length);
      }
      byte[] payload = new byte[length];
      in.readFully(payload);
      if (crc(payload) != expectedCrc) {
        throw new CorruptCheckpointException("checksum mismatch");
      }
      return MetadataCheckpoint.parseFrom(payload);
    } catch (EOFException e) {
      throw new CorruptCheckpointException("truncated");
    }
  }

  /** Deletes the files beyond the {@code retained} newest, {@code written} being the newest. */
  private void prune(long written) throws IOException {
    long through = written - retained;
    if (listed && through - prunedThrough <= retained) {
      for (long sequence = prunedThrough + 1; sequence <= through; sequence++) {
        fs.delete(new Path(dir, fileName(sequence)), false);
      }
      prunedThrough = Math.max(prunedThrough, through);
      return;
    }
    List<Path> files = list();
    List<Path> kept = files.subList(0, Math.min(retained, files.size()));
    for (Path old : files.subList(kept.size(), files.size())) {
      fs.delete(old, false);
    }
    prunedThrough = kept.isEmpty() ? through : Math.min(through, sequenceOf(kept.get(kept.size() - 1)) - 1);
    listed = true;
  }

  private static int crc(byte[] payload) {
    CRC32C crc = new CRC32C();
    crc.update(payload);
    return (int) crc.getValue();
  }

  private static String firstLine(Throwable e) {
    String m = String.valueOf(e.getMessage());
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
