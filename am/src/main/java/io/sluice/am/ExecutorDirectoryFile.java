package io.sluice.am;

import io.sluice.proto.ExecutorDirectory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The executors of the running attempt, kept in the application's staging directory so that the
 * next attempt can find and adopt them. Losing it only costs speed: the next attempt then starts
 * new executors and restores their state from the snapshots.
 */
final class ExecutorDirectoryFile {
  private static final Logger LOG = LoggerFactory.getLogger(ExecutorDirectoryFile.class);
  static final String NAME = "executors.pb";

  private final Configuration conf;
  private final Path path;

  ExecutorDirectoryFile(Configuration conf, String stagingDir) {
    this.conf = conf;
    this.path = new Path(stagingDir, NAME);
  }

  /** Replaces the file by one rename, so a reader sees the old or the new directory, never half of one. */
  synchronized void write(ExecutorDirectory directory) {
    Path temp = new Path(path.getParent(), "_" + NAME + ".tmp");
    try {
      FileSystem fs = path.getFileSystem(conf);
      try (OutputStream out = fs.create(temp, true)) {
        directory.writeTo(out);
      }
      FileContext.getFileContext(path.toUri(), conf).rename(temp, path, Options.Rename.OVERWRITE);
    } catch (IOException e) {
      LOG.warn("Could not record the executors in {} ({}); a restarted AM will start new ones", path, e.toString());
    }
  }

  /** The executors the previous attempt recorded; none when it recorded nothing. */
  ExecutorDirectory read() throws IOException {
    FileSystem fs = path.getFileSystem(conf);
    if (!fs.exists(path)) {
      return ExecutorDirectory.getDefaultInstance();
    }
    try (InputStream in = fs.open(path)) {
      return ExecutorDirectory.parseFrom(in);
    }
  }
}
