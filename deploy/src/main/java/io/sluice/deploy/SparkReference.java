package io.sluice.deploy;

import com.google.common.io.MoreFiles;
import com.google.common.io.RecursiveDeleteOption;
import io.sluice.api.SluiceException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

/**
 * Runs one configuration of the benchmark on Spark Streaming with {@code deploy/bin/spark-reference}
 * (the {@code spark-reference} Maven profile's module), so that {@code sluice bench --spark-reference}
 * measures the reference beside Sluice in the same hour: on these machines the same build's
 * figures change by a factor of two or more from one hour to the next.
 */
final class SparkReference {
  /** What the reference printed for one configuration. */
  record Row(long medianMs, long p95Ms, long maxDelayMs, String invariant) {}

  /**
   * A driver recovery on Spark Streaming: from the kill to the first batch the restarted driver
   * completed, and to its context restored from the checkpoint (its JVM and Spark started), and what
   * its outputs show (see {@link #describeOutputs}).
   */
  record Recovery(long killToFirstMs, long killToRestoredMs, String outputs) {}

  private static final int TAIL_LINES = 5;
  /** Batches the restarted driver completes before it stops: the ones it re-runs, and then some. */
  private static final int BATCHES_AFTER_RESTART = 10;
  /** Batches the first driver is told to run: more than it lives for. */
  private static final int BATCHES_UNTIL_KILLED = 1_000_000;
  private static final Pattern OUTPUT = Pattern.compile("output batch=(\\d+) keys=\\d+ total=\\d+ invariant (\\w+)");
  private static final Pattern RESTORED = Pattern.compile("^JVM started at \\d+, context restored at (\\d+)$");
  private static final Pattern COMPLETED = Pattern.compile("^batch \\d+ of \\d+: .*, completed at (\\d+)$");
  private final Path script;

  private SparkReference(Path script) {
    this.script = script;
  }

  /**
   * The reference of the checkout at {@code deployDir} (the directory {@code deploy/bin/sluice} runs
   * from, or null when not run that way); an error saying what to do when it is not built.
   */
  static SparkReference of(String deployDir) {
    if (deployDir == null) {
      throw new SluiceException("--spark-reference runs deploy/bin/spark-reference: run the bench with "
          + "deploy/bin/sluice from a checkout");
    }
    Path deploy = Path.of(deployDir);
    if (!Files.exists(deploy.resolve("spark-reference/target/runtime-classpath.txt"))) {
      throw new SluiceException("--spark-reference: the Spark reference is not built; run 'mvn -B -Pspark-reference "
          + "package -DskipTests' in " + deploy.getParent() + " first");
    }
    return new SparkReference(deploy.resolve("bin/spark-reference"));
  }

  Row run(long vocabulary, long lines, String setting, int batches, int warmup) throws IOException, InterruptedException {
    Process process = start(vocabulary, lines, setting, batches, warmup);
    Row[] row = new Row[1];
    String tail = readLines(process, line -> {
      if (line.startsWith("| Spark Streaming |")) {
        row[0] = parseRow(line);
      }
    });
    int exit = process.waitFor();
    if (row[0] == null) {
      throw new SluiceException("spark-reference failed for K=" + vocabulary + " R=" + lines + " setting " + setting
          + " (exit " + exit + "): " + tail);
    }
    return row[0];
  }

  /**
   * The workload of WORKLOAD.md's recovery on Spark Streaming, setting A: a driver killed with
   * {@code kill -9} once it has completed {@code killAfter} batches, restarted at once from its
   * checkpoint directory with {@code getOrCreate}, as a supervisor would. Spark's restart needs no
   * YARN: nothing waits for a new container.
   */
  Recovery recover(long vocabulary, long lines, int killAfter) throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("spark-reference-recovery-");
    try {
      List<String> outputs = new ArrayList<>();
      Process first = start(vocabulary, lines, "A", BATCHES_UNTIL_KILLED, 0, "--checkpoint-dir", dir.toString());
      long[] killedAtMs = {0};
      int[] completed = {0};
      String tail = readLines(first, line -> {
        if (OUTPUT.matcher(line).find()) {
          outputs.add(line);
        } else if (COMPLETED.matcher(line).find() && ++completed[0] == killAfter) {
          // SIGKILL through the handle: Process.destroyForcibly would also close the output this still reads.
          first.toHandle().destroyForcibly();
          killedAtMs[0] = System.currentTimeMillis();
        }
      });
      first.waitFor();
      if (killedAtMs[0] == 0) {
        throw new SluiceException("spark-reference ended before its " + killAfter + "th batch: " + tail);
      }
      Process restarted = start(vocabulary, lines, "A", BATCHES_AFTER_RESTART, 0, "--checkpoint-dir", dir.toString(),
          "--resume");
      long[] firstCompletedMs = {0};
      long[] restoredMs = {0};
      tail = readLines(restarted, line -> {
        Matcher done = COMPLETED.matcher(line);
        Matcher restored = RESTORED.matcher(line);
        if (OUTPUT.matcher(line).find()) {
          outputs.add(line);
        } else if (restored.find()) {
          restoredMs[0] = Long.parseLong(restored.group(1));
        } else if (done.find() && firstCompletedMs[0] == 0) {
          firstCompletedMs[0] = Long.parseLong(done.group(1));
        }
      });
      int exit = restarted.waitFor();
      if (exit != 0 || firstCompletedMs[0] == 0) {
        throw new SluiceException("spark-reference's restarted driver failed (exit " + exit + "): " + tail);
      }
      return new Recovery(firstCompletedMs[0] - killedAtMs[0], restoredMs[0] - killedAtMs[0], describeOutputs(outputs));
    } finally {
      MoreFiles.deleteRecursively(dir, RecursiveDeleteOption.ALLOW_INSECURE);
    }
  }

  /**
   * What the output lines of a run before and after a recovery show: the batches output twice, the
   * ones never output below the last, and whether every total held the invariant.
   */
  static String describeOutputs(List<String> lines) {
    TreeMap<Long, Integer> times = new TreeMap<>();
    boolean held = true;
    for (String line : lines) {
      Matcher m = OUTPUT.matcher(line);
      if (m.find()) {
        times.merge(Long.parseLong(m.group(1)), 1, Integer::sum);
        held &= m.group(2).equals("held");
      }
    }
    List<Long> repeated = times.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
    long last = times.isEmpty() ? -1 : times.lastKey();
    List<Long> lost = LongStream.rangeClosed(0, last).filter(b -> !times.containsKey(b)).boxed().toList();
    return (repeated.isEmpty() ? "none repeated" : "batch " + join(repeated) + " repeated")
        + (lost.isEmpty() ? ", none lost" : ", batch " + join(lost) + " lost")
        + (held ? ", invariant held" : ", invariant VIOLATED");
  }

  private static String join(List<Long> batches) {
    return batches.stream().map(String::valueOf).collect(Collectors.joining(", "));
  }

  private Process start(long vocabulary, long lines, String setting, int batches, int warmup, String... more)
      throws IOException {
    List<String> command = new ArrayList<>(List.of(script.toString(), "--vocabulary", Long.toString(vocabulary),
        "--lines", Long.toString(lines), "--checkpoint-setting", setting, "--batches", Integer.toString(batches),
        "--warmup", Integer.toString(warmup)));
    command.addAll(List.of(more));
    return new ProcessBuilder(command).redirectErrorStream(true).start();
  }

  /**
   * Passes each line the process prints to {@code onLine} until it ends; returns its last lines,
   * joined. Kills the process if reading or {@code onLine} fails, so that no Spark driver outlives
   * the bench's error.
   */
  private static String readLines(Process process, Consumer<String> onLine) throws IOException {
    Deque<String> tail = new ArrayDeque<>();
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        onLine.accept(line);
        tail.addLast(line);
        if (tail.size() > TAIL_LINES) {
          tail.removeFirst();
        }
      }
    } catch (IOException | RuntimeException e) {
      process.toHandle().destroyForcibly();
      throw e;
    }
    return String.join(" / ", tail);
  }

  /** The figures of the row {@code spark-reference} prints, whose cells follow {@code sluice bench}'s. */
  static Row parseRow(String line) {
    String[] cells = line.split("\\|");
    if (cells.length < 14) {
      throw new SluiceException("spark-reference printed a row this bench does not read: " + line);
    }
    return new Row(millis(cells[5]), millis(cells[6]), millis(cells[8]), cells[13].trim());
  }

  private static long millis(String cell) {
    String text = cell.trim();
    if (!text.endsWith(" ms")) {
      throw new SluiceException("spark-reference printed " + text + " where a time in ms belongs");
    }
    return Long.parseLong(text.substring(0, text.length() - 3));
  }
}
