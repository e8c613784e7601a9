package io.sluice.am;

import io.sluice.runtime.Clock;
import java.io.File;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An application class-data (AppCDS) archive that lets a restarted AM skip most of its class
 * loading: a restarted AM is on the recovery's critical path, and loading and verifying its 7,000
 * classes (Hadoop's clients, gRPC) took most of its start-up.
 *
 * <p>The AM's container runs {@link #LAUNCH_SCRIPT}, which looks in the application's directory on
 * the node ({@code $LOCAL_DIRS}, kept across attempts until the application ends). If an earlier
 * attempt left an archive there, the JVM maps it; if not, the JVM records the classes it loads,
 * and this class dumps them into an archive from a child JVM once the first batch has completed,
 * at the lowest CPU priority. A JDK archive only matches the same jars at the same paths, so the
 * archive's class path is the AM's jars by their real paths in the node's file cache, which stay
 * the same for every attempt of the application on that node; a restarted AM on another node
 * finds no archive and starts as the first one did. An archive that does not match is ignored by
 * the JVM, so the worst case is a start without it.
 */
final class ClassDataArchive implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ClassDataArchive.class);
  /** The AM container's start script, localized next to the jars. */
  static final String LAUNCH_SCRIPT = "sluice-am-launch.sh";
  /** The system property that tells the AM its archive directory. */
  static final String DIR_PROPERTY = "sluice.am.classDataDir";
  static final String ARCHIVE = "am.jsa";
  static final String CLASSPATH_FILE = "am.classpath";
  /**
   * What a dump needs beyond the AM itself: a JDK 17 dump of the AM's classes peaks at about 350 MB
   * of resident memory, and the container's memory limit counts it with the AM.
   */
  static final long DUMP_MEMORY_MB = 400;

  private final Path dir;
  private final Clock clock;
  private volatile Process dump;

  ClassDataArchive(Path dir, Clock clock) {
    this.dir = dir;
    this.clock = clock;
  }

  /** The archive directory this JVM was started with, if its container ran {@link #LAUNCH_SCRIPT}. */
  static Optional<ClassDataArchive> ofThisJvm(Clock clock) {
    return Optional.ofNullable(System.getProperty(DIR_PROPERTY)).map(d -> new ClassDataArchive(Path.of(d), clock));
  }

  /**
   * The start script: maps the archive and its class path if both are there, else records the
   * loaded classes for {@link #writeInBackground}. Bash, because YARN runs container commands with it.
   */
  static String launchScript() {
    return String.join("\n",
        "#!/bin/bash",
        "# Starts the Sluice AM (arguments: JVM options, main class). A restarted attempt maps the class-data",
        "# archive that an earlier attempt of this application wrote on this node.",
        "dir=\"${LOCAL_DIRS%%,*}/sluice-class-data\"",
        "mkdir -p \"$dir\"",
        "if [ -f \"$dir/" + ARCHIVE + "\" ] && [ -f \"$dir/" + CLASSPATH_FILE + "\" ]; then",
        "  exec \"$JAVA_HOME/bin/java\" -XX:SharedArchiveFile=\"$dir/" + ARCHIVE + "\" -cp \"$(cat \"$dir/"
            + CLASSPATH_FILE + "\"):$CLASSPATH\" -D" + DIR_PROPERTY + "=\"$dir\" \"$@\"",
        "fi",
        "exec \"$JAVA_HOME/bin/java\" -XX:DumpLoadedClassList=\"$dir/am-$$.classlist\" -D" + DIR_PROPERTY
            + "=\"$dir\" \"$@\"",
        "");
  }

  /** Whether this JVM was started with the archive an earlier attempt wrote. */
  static boolean startedFromArchive() {
    return ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
        .anyMatch(a -> a.startsWith("-XX:SharedArchiveFile="));
  }

  /**
   * Dumps the classes this JVM loaded into the archive for later attempts, on a thread of its own,
   * unless this JVM already runs from one or its container has no room for the dump; tells
   * {@code written} where the archive is once it is there.
   */
  void writeInBackground(long containerMemoryMb, Consumer<Path> written) {
    if (startedFromArchive() || Files.exists(dir.resolve(ARCHIVE))) {
      written.accept(dir.resolve(ARCHIVE));
      return;
    }
    long pid = ProcessHandle.current().pid();
    Path classList = dir.resolve("am-" + pid + ".classlist");
    if (!Files.isRegularFile(classList)) {
      LOG.info("No class-data archive for restarted AMs: this JVM recorded no class list at {}", classList);
      return;
    }
    OptionalLong rss = residentMemoryMb();
    if (rss.isEmpty() || containerMemoryMb - rss.getAsLong() < DUMP_MEMORY_MB) {
      LOG.info("No class-data archive for restarted AMs: writing one needs about {} MB beyond the AM's {} MB, and "
          + "the AM container has {} MB (raise sluice.am.memoryMb)", DUMP_MEMORY_MB, rss.orElse(-1), containerMemoryMb);
      return;
    }
    Thread t = new Thread(() -> write(classList, pid, written), "sluice-class-data-archive");
    t.setDaemon(true);
    t.start();
  }

  private void write(Path classList, long pid, Consumer<Path> written) {
    long start = clock.monotonicNanos();
    Path list = dir.resolve("am-" + pid + ".dump.classlist");
    Path archive = dir.resolve("am-" + pid + ".jsa");
    Path classpath = dir.resolve("am-" + pid + ".classpath");
    Path log = dir.resolve("am-" + pid + ".dump.log");
    try {
      // The JVM still appends to its class list; a line cut in the middle would stop the dump.
      Files.writeString(list, completeLines(Files.readString(classList, StandardCharsets.UTF_8)));
      String cp = String.join(File.pathSeparator, dumpClasspath(System.getProperty("java.class.path")));
      List<String> command = new ArrayList<>();
      if (new File("/usr/bin/nice").canExecute()) {
        command.addAll(List.of("/usr/bin/nice", "-n", "19"));
      }
      command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xshare:dump", "-XX:SharedClassListFile=" + list, "-XX:SharedArchiveFile=" + archive,
          "-Xmx64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", cp));
      LOG.info("Writing the class-data archive for restarted AMs in the background, at the lowest CPU priority");
      dump = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      int exit = dump.waitFor();
      if (exit != 0 || !Files.isRegularFile(archive)) {
        LOG.warn("No class-data archive for restarted AMs: the dump exited with {}; see {}", exit, log);
        return;
      }
      Files.writeString(classpath, cp);
      // The archive first: the start script uses it only once its class path is there too.
      moveAtomically(archive, dir.resolve(ARCHIVE));
      moveAtomically(classpath, dir.resolve(CLASSPATH_FILE));
      LOG.info("Wrote the class-data archive for restarted AMs in {} ms ({} MB): {}", TimeUnit.NANOSECONDS.toMillis(clock.monotonicNanos() - start),
          Files.size(dir.resolve(ARCHIVE)) >> 20, dir.resolve(ARCHIVE));
      Files.deleteIfExists(log);
      written.accept(dir.resolve(ARCHIVE));
    } catch (IOException e) {
      LOG.warn("No class-data archive for restarted AMs: {}", e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      deleteQuietly(list);
      deleteQuietly(archive);
      deleteQuietly(classpath);
    }
  }

  /** Stops a dump still running, so that it does not outlive a finished AM. */
  @Override
  public void close() {
    Process p = dump;
    if (p != null && p.isAlive()) {
      p.destroyForcibly();
      try {
        p.waitFor(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * The archive's class path: the jars of {@code javaClassPath} in order, by their real paths (the
   * container's links point into the node's file cache), without directories, which a JDK archive
   * cannot hold; those still follow on the class path of the JVM that maps the archive.
   */
  static List<String> dumpClasspath(String javaClassPath) {
    Set<String> jars = new LinkedHashSet<>();
    for (String entry : javaClassPath.split(File.pathSeparator)) {
      Path p = Path.of(entry);
      if (entry.endsWith(".jar") && Files.isRegularFile(p)) {
        try {
          jars.add(p.toRealPath().toString());
        } catch (IOException e) {
          // Gone since this JVM started: the archive can do without it.
        }
      }
    }
    return List.copyOf(jars);
  }

  /** The text up to its last line break. */
  static String completeLines(String text) {
    return text.substring(0, text.lastIndexOf('\n') + 1);
  }

  private static OptionalLong residentMemoryMb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          return OptionalLong.of(Long.parseLong(line.replaceAll("\\D", "")) >> 10);
        }
      }
    } catch (IOException | NumberFormatException e) {
      // Not Linux: no way to tell whether the dump fits.
    }
    return OptionalLong.empty();
  }

  private static void moveAtomically(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      // Left in the application's directory, which YARN deletes when the application ends.
    }
  }
}
