package io.sluice.runtime;

import org.apache.hadoop.fs.Path;

/**
 * Where {@code saveAsTextFiles} writes: tasks write part files into a hidden directory per batch
 * and epoch, and the driver commits it by one rename to {@code prefix-<batch time>[.suffix]}.
 */
public final class OutputPaths {
  private OutputPaths() {}

  public static Path committed(String prefix, String suffix, long batchMs) {
    return new Path(prefix + "-" + batchMs + (suffix == null || suffix.isEmpty() ? "" : "." + suffix));
  }

  private static final String UNCOMMITTED = "_uncommitted-";
  private static final String EPOCH = "-epoch";

  /** Hidden (leading underscore) so that readers of the parent directory skip it, as Hadoop tools do. */
  public static Path uncommitted(String prefix, String suffix, long batchMs, long epoch) {
    Path target = committed(prefix, suffix, batchMs);
    return new Path(target.getParent(), UNCOMMITTED + target.getName() + EPOCH + epoch);
  }

  static boolean isUncommitted(Path p) {
    return p.getName().startsWith(UNCOMMITTED) && p.getName().lastIndexOf(EPOCH) > 0;
  }

  /** The epoch of the driver that wrote an {@link #uncommitted} directory. */
  static long epochOf(Path uncommitted) {
    String name = uncommitted.getName();
    return Long.parseLong(name.substring(name.lastIndexOf(EPOCH) + EPOCH.length()));
  }
}
