package io.sluice.am;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.sluice.checkpoint.FileContexts;
import io.sluice.proto.ExecutorDirectory;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The executors of the running attempt, kept in the application's staging directory so that the
 * next attempt can find and adopt them. Losing it only costs speed: the next attempt then starts
 * new executors and restores their state from the snapshots. So it is written in the background,
 * newest directory first and unchanged ones not at all: a restarted AM adopting its executors one
 * after another does not wait for a file write per executor.
 */
final class ExecutorDirectoryFile {
  private static final Logger LOG = LoggerFactory.getLogger(ExecutorDirectoryFile.class);
  static final String NAME = "executors.pb";

  private final Configuration conf;
  private final Path path;
  private final ExecutorService writer = Executors.newSingleThreadExecutor(
      new ThreadFactoryBuilder().setNameFormat("sluice-executor-directory").setDaemon(true).build());
  @GuardedBy("this")
  private ExecutorDirectory latest;
  /** What the file holds as far as this AM knows: read from it, or written to it. */
  @GuardedBy("this")
  private ExecutorDirectory inFile;

  ExecutorDirectoryFile(Configuration conf, String stagingDir) {
    this.conf = conf;
    this.path = new Path(stagingDir, NAME);
  }

  /** Records {@code directory} as the newest; the file gets it soon, or a newer one. */
  synchronized void write(ExecutorDirectory directory) {
    boolean flushQueued = latest != null;
    latest = directory;
    if (!flushQueued) {
      writer.execute(this::flush);
    }
  }

  private void flush() {
    ExecutorDirectory directory;
    synchronized (this) {
      directory = latest;
      latest = null;
      if (directory.equals(inFile)) {
        return;
      }
    }
    // Replaced by one rename, so a reader sees the old or the new directory, never half of one.
    Path temp = new Path(path.getParent(), "_" + NAME + ".tmp");
    try {
      FileSystem fs = path.getFileSystem(conf);
      try (OutputStream out = fs.create(temp, true)) {
        directory.writeTo(out);
      }
      FileContexts.of(fs).rename(temp, path, Options.Rename.OVERWRITE);
      synchronized (this) {
        inFile = directory;
      }
    } catch (IOException e) {
      LOG.warn("Could not record the executors in {} ({}); a restarted AM will start new ones", path, e.toString());
    }
  }

  /** Waits until the directories recorded so far are in the file (or failed to be written). */
  void awaitWritten() throws InterruptedException, ExecutionException {
    writer.submit(() -> {}).get();
  }

  /** The executors the previous attempt recorded; none when it recorded nothing. */
  ExecutorDirectory read() throws IOException {
    FileSystem fs = path.getFileSystem(conf);
    if (!fs.exists(path)) {
      return ExecutorDirectory.getDefaultInstance();
    }
    try (InputStream in = fs.open(path)) {
      ExecutorDirectory recorded = ExecutorDirectory.parseFrom(in);
      synchronized (this) {
        inFile = recorded;
      }
      return recorded;
    }
  }
}
