package io.sluice.deploy;

import io.sluice.api.SluiceException;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * Runs one configuration of the benchmark on Spark Streaming with {@code deploy/bin/spark-reference}
 * (the {@code spark-reference} Maven profile's module), so that {@code sluice bench --spark-reference}
 * measures the reference beside Sluice in the same hour: on these machines the same build's
 * figures change by a factor of two or more from one hour to the next.
 */
final class SparkReference {
  /** What the reference printed for one configuration. */
  record Row(long medianMs, long p95Ms, long maxDelayMs, String invariant) {}

  private static final int TAIL_LINES = 5;
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
    Process process = new ProcessBuilder(List.of(script.toString(), "--vocabulary", Long.toString(vocabulary),
        "--lines", Long.toString(lines), "--checkpoint-setting", setting, "--batches", Integer.toString(batches),
        "--warmup", Integer.toString(warmup))).redirectErrorStream(true).start();
    Row row = null;
    Deque<String> tail = new ArrayDeque<>();
    try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        if (line.startsWith("| Spark Streaming |")) {
          row = parseRow(line);
        }
        tail.addLast(line);
        if (tail.size() > TAIL_LINES) {
          tail.removeFirst();
        }
      }
    }
    int exit = process.waitFor();
    if (row == null) {
      throw new SluiceException("spark-reference failed for K=" + vocabulary + " R=" + lines + " setting " + setting
          + " (exit " + exit + "): " + String.join(" / ", tail));
    }
    return row;
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
