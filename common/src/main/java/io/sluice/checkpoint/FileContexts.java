package io.sluice.checkpoint;

import java.io.IOException;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileSystem;

/**
 * One {@link FileContext} per file system for the whole JVM, as {@link FileSystem#get} keeps one
 * client: the renames that commit metadata files, outputs and the executor directory need
 * FileContext's {@code Options.Rename}, and on HDFS each FileContext brings a client of its own.
 * A JVM here (an AM, an executor, a local runner) runs as one user, so the file system's URI is the key.
 */
public final class FileContexts {
  private static final Map<URI, FileContext> BY_FILE_SYSTEM = new ConcurrentHashMap<>();

  private FileContexts() {}

  /** The context for {@code fs}, created with its configuration the first time. */
  public static FileContext of(FileSystem fs) throws IOException {
    FileContext fc = BY_FILE_SYSTEM.get(fs.getUri());
    if (fc == null) {
      FileContext created = FileContext.getFileContext(fs.getUri(), fs.getConf());
      fc = BY_FILE_SYSTEM.putIfAbsent(fs.getUri(), created);
      if (fc == null) {
        fc = created;
      }
    }
    return fc;
  }
}
