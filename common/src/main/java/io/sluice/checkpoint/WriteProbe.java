package io.sluice.checkpoint;

import java.io.IOException;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A one-byte file written, synced and deleted in a checkpoint directory: it proves that the file
 * system stores data there, not only names (HDFS without a live DataNode takes the name and fails
 * the data), and sets up the client's write path before the first real file needs it.
 */
public final class WriteProbe {
  private WriteProbe() {}

  /** Writes {@code file}, syncs it as metadata files are synced, and deletes it. */
  public static void writeAndDelete(FileSystem fs, Path file) throws IOException {
    try (FSDataOutputStream out = fs.create(file, true)) {
      out.write(0);
      out.hsync();
    }
    fs.delete(file, false);
  }
}
