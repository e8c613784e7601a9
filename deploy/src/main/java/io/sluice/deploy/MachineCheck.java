package io.sluice.deploy;

import io.sluice.source.WordGenerator;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * How fast the machine is at the moment, as one time: the benchmark's figures move with the speed
 * of the shared machine it runs on (the same build's K = 10k R = 1M median took 286 ms one hour and
 * 437 ms the next), and this time, taken just before each configuration, says which figures were
 * taken on a slow machine. Two threads at once, as the benchmark's two executors, each do the two
 * things a batch spends its time on: generate, split and count the workload's lines (the map task
 * at K = 10k), then read a table four times larger than the CPU's caches at random (the state
 * lookups at K = 1M). It runs in a JVM of its own, whose heap holds nothing else: in the
 * benchmark's JVM, beside the embedded cluster, the same work took anywhere from 60 to 370 ms from
 * one call to the next. The median of five runs, after five that let the JIT compile it (the first
 * take three to five times as long); on a machine half as fast it doubles.
 */
final class MachineCheck {
  static final int LINES = 100_000;
  static final long VOCABULARY = 10_000;
  static final int RANDOM_READS = 2_000_000;
  /** As many as the benchmark's executors, one per core of the machines it was made for. */
  static final int THREADS = 2;
  /** 64 MiB: more than the last-level cache of the machines this runs on. */
  private static final int TABLE_LONGS = 8 << 20;
  private static final int RUNS = 5;

  private MachineCheck() {}

  /** Runs the check in a new JVM on this JVM's class path; returns its median time in milliseconds. */
  static long medianMs() throws IOException, InterruptedException {
    String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
    Process check = new ProcessBuilder(java, "-Xmx256m", "-XX:+UseSerialGC", "-cp",
        System.getProperty("java.class.path"), MachineCheck.class.getName())
        // Not merged into the output: a JVM's notice there (such as "Picked up JAVA_TOOL_OPTIONS")
        // would be read as the time, and fail the check.
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String output;
    try (BufferedReader r = new BufferedReader(new InputStreamReader(check.getInputStream(), StandardCharsets.UTF_8))) {
      output = r.readLine();
    }
    if (!check.waitFor(60, TimeUnit.SECONDS) || check.exitValue() != 0 || output == null || !output.matches("\\d+")) {
      check.destroyForcibly();
      throw new IOException("the machine check failed: " + output);
    }
    return Long.parseLong(output);
  }

  /** Prints the median time of {@link #RUNS} runs, in milliseconds. */
  public static void main(String[] args) throws Exception {
    long[] table = new long[TABLE_LONGS];
    Arrays.setAll(table, i -> i);
    ExecutorService threads = Executors.newFixedThreadPool(THREADS);
    try {
      for (int i = 0; i < RUNS; i++) {
        timeOneRun(threads, table);
      }
      long[] times = new long[RUNS];
      for (int i = 0; i < RUNS; i++) {
        times[i] = timeOneRun(threads, table);
      }
      Arrays.sort(times);
      System.out.println(times[RUNS / 2]);
    } finally {
      threads.shutdownNow();
    }
  }

  /** Runs the work on every thread at once; returns the time until the last one finished. */
  private static long timeOneRun(ExecutorService threads, long[] table) throws Exception {
    long start = System.nanoTime();
    List<Future<Long>> runs = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      runs.add(threads.submit(() -> countWords() + readAtRandom(table)));
    }
    for (Future<Long> run : runs) {
      // Checked so that the work is not optimized away, and cannot go wrong unnoticed.
      if (run.get() < (long) LINES * WordGenerator.WORDS_PER_LINE) {
        throw new IllegalStateException("machine check counted too few words");
      }
    }
    return (System.nanoTime() - start) / 1_000_000;
  }

  /** Counts the words of batch 0's first {@link #LINES} lines per word, as the workload's map task does; returns their total. */
  private static long countWords() {
    Map<String, long[]> counts = new HashMap<>();
    for (int j = 0; j < LINES; j++) {
      for (String word : WordGenerator.line(0, j, VOCABULARY).split(" ")) {
        counts.computeIfAbsent(word, w -> new long[1])[0]++;
      }
    }
    return counts.values().stream().mapToLong(c -> c[0]).sum();
  }

  private static long readAtRandom(long[] table) {
    SplittableRandom random = new SplittableRandom(42);
    long sum = 0;
    for (int i = 0; i < RANDOM_READS; i++) {
      sum += table[random.nextInt(TABLE_LONGS)];
    }
    return sum;
  }
}
