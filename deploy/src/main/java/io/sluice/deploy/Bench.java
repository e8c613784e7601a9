package io.sluice.deploy;

import io.sluice.api.Duration;
import io.sluice.api.SluiceException;
import io.sluice.checkpoint.MetadataStore;
import io.sluice.examples.GeneratedWordCount;
import io.sluice.graph.SettingKeys;
import io.sluice.proto.BatchStats;
import io.sluice.proto.MetadataCheckpoint;
import io.sluice.proto.StageStats;
import io.sluice.runtime.Clock;
import io.sluice.runtime.StageStatsText;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;

/**
 * {@code sluice bench}: the workload of WORKLOAD.md ({@link GeneratedWordCount}) on the embedded
 * cluster with two executors, per (K, R, checkpoint setting): processing time statistics after
 * the warm-up, the largest scheduling delay, throughput, checkpoint size, and the invariant
 * total = 10 R (b + 1) checked on every batch's committed output; optionally the recovery time
 * from a kill -9 of the AM to the commit of the first batch the next AM completed.
 */
final class Bench {
  private static final Pattern LINE = Pattern.compile("batch=(\\d+) keys=(\\d+) total=(\\d+)");
  /** How many batches past its kill point the recovery run waits for the AM's class-data archive. */
  private static final int ARCHIVE_WAIT_BATCHES = 20;
  /** The recoveries kill their process once this many batches are committed. */
  private static final int KILL_AFTER_BATCHES = 15;
  /**
   * The state probe's resumed application discards this many batches: its executors restore the
   * seeded state, and it runs the batch times that passed while it started, one by one; at R = 1M
   * that backlog (about 15 s) took more than 25 batches to clear.
   */
  private static final int PROBE_DISCARDED_BATCHES = 45;
  /** How often a run prints the batches committed since its last progress line. */
  private static final long PROGRESS_INTERVAL_MS = 5_000;

  /**
   * What to run; {@code idleTimeout} is mapWithState's, or null for none; {@code extraConf} are settings
   * every application gets besides the workload's own (JVM options to profile with, say); {@code
   * sparkReference} runs each configuration on Spark Streaming first, or is null.
   */
  record Options(List<Long> lines, List<Long> vocabularies, List<String> settings, int batches, int warmup,
      boolean recovery, boolean executorRecovery, boolean stateProbe, int executorMemoryMb, String operator,
      String idleTimeout,
      Map<String, String> extraConf, SparkReference sparkReference, boolean batchStages) {}

  /** One configuration's figures. */
  record Result(long vocabulary, long lines, String setting, long medianMs, long p95Ms, long meanMs, long maxDelayMs,
      long checkpointBytes, boolean invariantHeld, long stateKeys, String snapshotAdds, String eachSnapshotBatch,
      String eachBatchAfterOne, String stages, String cpuStolen, String note) {}

  /** The state probe's figures for one R: the batches' vocabulary, and the keys the state held. */
  record ProbeResult(long vocabulary, long lines, Timing timing, long stateKeys,
      boolean invariantHeld, String note) {}

  /** Processing-time statistics of measured batches. */
  record Timing(long medianMs, long p95Ms, long meanMs, long maxDelayMs) {
    static Timing of(List<BatchStats> measured) {
      List<Long> processing = measured.stream().map(BatchStats::getProcessingMs).sorted().toList();
      return new Timing(percentile(processing, 50), percentile(processing, 95),
          (long) processing.stream().mapToLong(Long::longValue).average().orElse(0),
          measured.stream().mapToLong(BatchStats::getSchedulingDelayMs).max().orElse(0));
    }
  }

  private final PrintWriter out;
  private final Options options;
  private final Clock clock = Clock.SYSTEM;

  Bench(PrintWriter out, Options options) {
    this.out = out;
    this.options = options;
  }

  boolean run(Path base) throws Exception {
    List<Result> results = new ArrayList<>();
    List<String> recoveries = new ArrayList<>();
    List<String> executorRecoveries = new ArrayList<>();
    List<ProbeResult> probes = new ArrayList<>();
    Map<Result, SparkReference.Row> references = new LinkedHashMap<>();
    List<String> referenceRecoveries = new ArrayList<>();
    out.printf("# sluice bench: %d batches of 1 s per configuration, the first %d discarded; 2 executors of %d MiB;"
        + " state kept by %s%s; Java %s, %d CPUs%n", options.batches(), options.warmup(), options.executorMemoryMb(),
        options.operator(), options.idleTimeout() == null ? "" : ", idle timeout " + options.idleTimeout(),
        Runtime.version(), Runtime.getRuntime().availableProcessors());
    try (EmbeddedCluster cluster = EmbeddedCluster.start(base);
        SluiceClient client = new SluiceClient(cluster.conf())) {
      for (long k : options.vocabularies()) {
        for (long r : options.lines()) {
          for (String setting : options.settings()) {
            SparkReference.Row reference = options.sparkReference() == null ? null : runReference(k, r, setting);
            Result result = runOne(client, cluster.fileSystem(), k, r, setting);
            results.add(result);
            out.println("  " + row(result));
            out.println("    stages (medians): " + result.stages());
            out.flush();
            if (reference != null) {
              references.put(result, reference);
            }
          }
        }
        if (options.recovery()) {
          if (options.sparkReference() != null) {
            referenceRecoveries.add(referenceRecovery(k, options.lines().get(0)));
          }
          recoveries.add(recovery(client, cluster.fileSystem(), k, options.lines().get(0)));
          out.println("  " + recoveries.get(recoveries.size() - 1));
          out.flush();
        }
        if (options.executorRecovery()) {
          executorRecoveries.add(executorRecovery(client, cluster.fileSystem(), k, options.lines().get(0)));
          out.println("  " + executorRecoveries.get(executorRecoveries.size() - 1));
          out.flush();
        }
      }
      if (options.stateProbe()) {
        long seedK = options.vocabularies().stream().mapToLong(Long::longValue).max().orElseThrow();
        long k = options.vocabularies().stream().mapToLong(Long::longValue).min().orElseThrow();
        for (long r : options.lines()) {
          ProbeResult probe = runProbe(client, cluster.fileSystem(), k, seedK, r);
          probes.add(probe);
          out.println("  " + probeRow(probe, results));
          out.flush();
        }
      }
    }
    printTable(results, recoveries, executorRecoveries, probes);
    printReferences(references);
    printReferenceRecoveries(referenceRecoveries);
    return results.stream().allMatch(Result::invariantHeld)
        && Stream.concat(recoveries.stream(), executorRecoveries.stream()).noneMatch(r -> r.contains("FAILED"))
        && probes.stream().allMatch(ProbeResult::invariantHeld);
  }

  /** The configuration on Spark Streaming, run while the embedded cluster idles. */
  private SparkReference.Row runReference(long k, long r, String setting) throws Exception {
    out.printf("running K=%d R=%d setting %s on Spark Streaming (deploy/bin/spark-reference) ...%n", k, r, setting);
    out.flush();
    Optional<CpuTimes> start = CpuTimes.now();
    SparkReference.Row row = options.sparkReference().run(k, r, setting, options.batches(), options.warmup());
    out.printf("  Spark Streaming: median %d ms, p95 %d ms, max scheduling delay %d ms, invariant %s, CPU stolen %s%n",
        row.medianMs(), row.p95Ms(), row.maxDelayMs(), row.invariant(), CpuTimes.stolenSince(start, CpuTimes.now()));
    out.flush();
    return row;
  }

  /** The recovery on Spark Streaming, run while the embedded cluster idles; its row of the table. */
  private String referenceRecovery(long k, long r) throws Exception {
    out.printf("recovery on Spark Streaming: K=%d R=%d, kill -9 of the driver after %d batches, restarted from its "
        + "checkpoint at once ...%n", k, r, KILL_AFTER_BATCHES);
    out.flush();
    SparkReference.Recovery recovery = options.sparkReference().recover(k, r, KILL_AFTER_BATCHES);
    String row = String.format("| %d | %d | %d ms | %d ms | %s |", k, r, recovery.killToFirstMs(),
        recovery.killToRestoredMs(), recovery.outputs());
    out.println("  " + row);
    out.flush();
    return row;
  }

  private void printReferenceRecoveries(List<String> rows) {
    printTableWithNote("| K | R | Spark Streaming: kill -9 of the driver to the first batch the restarted driver completed "
        + "| of which to its context restored | outputs |", "|---:|---:|---:|---:|:---|", rows,
        "Spark Streaming's driver (local[2], setting A, checkpoint in the local file system) was killed after "
        + KILL_AFTER_BATCHES + " completed batches and restarted at once with JavaStreamingContext.getOrCreate, just "
        + "before Sluice's recovery above ran; no resource manager restarts it, as YARN restarts Sluice's AM. Its "
        + "outputs are its foreachRDD's, per batch, from both drivers.");
  }

  private void printReferences(Map<Result, SparkReference.Row> references) {
    List<String> rows = new ArrayList<>();
    references.forEach((r, s) -> rows.add(String.format("| %d | %d | %s | %d ms | %d ms | %d ms | %s | %d ms | %.0f %% |",
        r.vocabulary(), r.lines(), r.setting(), s.medianMs(), s.p95Ms(), s.maxDelayMs(), s.invariant(), r.medianMs(),
        100.0 * r.medianMs() / Math.max(1, s.medianMs()))));
    printTableWithNote("| K | R | checkpoint | Spark Streaming median | p95 | max scheduling delay | invariant "
        + "| Sluice median | Sluice / Spark |", "|---:|---:|:---:|---:|---:|---:|:---:|---:|---:|", rows,
        "Spark Streaming (DStreams, local[2], Kryo, the same generator, updateStateByKey and output) ran "
        + "each configuration just before Sluice did, on the same machine, with the embedded cluster idle; its "
        + "processing time is Spark's processing delay (first job started to output done).");
  }

  /** A markdown table with a note below it; nothing when it has no rows. */
  private void printTableWithNote(String header, String alignment, List<String> rows, String note) {
    if (rows.isEmpty()) {
      return;
    }
    out.println();
    out.println(header);
    out.println(alignment);
    rows.forEach(out::println);
    out.println();
    out.println(note);
    out.flush();
  }

  private String name(long k, long r, String setting) {
    return "k" + k + "-r" + r + "-" + setting;
  }

  /**
   * Whether {@code key} is one of the settings {@link #conf} gives every application (the workload's
   * and its output's), which {@link Options#extraConf} must not hold: the benchmark runs the workload
   * of WORKLOAD.md, as it is.
   */
  static boolean isWorkloadSetting(String key) {
    return key.startsWith("workload.") || key.equals("output.dir") || key.equals(SettingKeys.STOP_AFTER_BATCHES);
  }

  private Map<String, String> conf(long k, long r, String setting, String dir, int batches) {
    Map<String, String> conf = new HashMap<>(options.extraConf());
    conf.putAll(Map.of("workload.R", Long.toString(r), "workload.K", Long.toString(k),
        "output.dir", dir + "/out", SettingKeys.STOP_AFTER_BATCHES, Integer.toString(batches),
        "workload.operator", options.operator()));
    if (options.idleTimeout() != null) {
      conf.put("workload.idleTimeout", options.idleTimeout());
    }
    if (requireSetting(setting).equals("B")) {
      conf.put("workload.checkpointInterval", "1s");
    }
    return conf;
  }

  /** {@code setting} if it is one of the workload's checkpoint settings, A or B; else an error that says so. */
  static String requireSetting(String setting) {
    if (!setting.equals("A") && !setting.equals("B")) {
      throw new SluiceException("checkpoint setting " + setting + " is not A (default interval) or B (every batch)");
    }
    return setting;
  }

  /**
   * A sweep run's AM is never restarted, so it writes no class-data archive: the dump, once per
   * application and node at the lowest CPU priority, would slow the batches it overlaps.
   */
  private Map<String, String> sweepConf(long k, long r, String setting, String dir) {
    Map<String, String> conf = conf(k, r, setting, dir, options.batches());
    conf.put(SettingKeys.AM_CLASS_DATA_ARCHIVE, "false");
    return conf;
  }

  /** Submits the benchmark's application on the checkpoint directory under {@code dir}. */
  private ApplicationId submit(SluiceClient client, String dir, int maxAttempts, Map<String, String> conf)
      throws Exception {
    return client.submit(new Submission(Demo.examplesJar(), GeneratedWordCount.class.getName(), dir + "/checkpoint",
        Duration.ofSeconds(1), 2, options.executorMemoryMb(), 1, null, maxAttempts, conf));
  }

  /** The newest valid metadata checkpoint of the application under {@code dir}. */
  private static MetadataCheckpoint newestCheckpoint(FileSystem fs, String dir) throws java.io.IOException {
    return new MetadataStore(fs, new org.apache.hadoop.fs.Path(dir + "/checkpoint"), 10).readNewestValid(w -> {})
        .orElseThrow().checkpoint();
  }

  private Result runOne(SluiceClient client, FileSystem fs, long k, long r, String setting) throws Exception {
    String dir = "/bench/" + name(k, r, setting);
    out.printf("running K=%d R=%d setting %s ...%n", k, r, setting);
    out.flush();
    Optional<CpuTimes> start = CpuTimes.now();
    ApplicationId id = submit(client, dir, 1, sweepConf(k, r, setting, dir));
    ApplicationReport report = awaitEnd(client, id, fs, dir, -1);
    String cpuStolen = CpuTimes.stolenSince(start, CpuTimes.now());
    MetadataCheckpoint cp = newestCheckpoint(fs, dir);
    List<BatchStats> measured = cp.getRecentBatchesList().stream().skip(options.warmup()).toList();
    Timing timing = Timing.of(measured);
    Optional<Long> keys = keysIfInvariantHolds(fs, dir, k, r, options.batches());
    boolean ok = report.getFinalApplicationStatus() == FinalApplicationStatus.SUCCEEDED && keys.isPresent();
    // Snapshots are written in the background, after the batch that took them: what they cost shows
    // in that batch (encoding) and in the next (the write, on the same cores).
    List<Integer> took = new ArrayList<>();
    List<Integer> followed = new ArrayList<>();
    List<Long> neither = new ArrayList<>();
    for (int i = 0; i < measured.size(); i++) {
      if (measured.get(i).getSnapshotTaken()) {
        took.add(i);
      } else if (i > 0 && measured.get(i - 1).getSnapshotTaken()) {
        followed.add(i);
      } else {
        neither.add(measured.get(i).getProcessingMs());
      }
    }
    Collections.sort(neither);
    long median = percentile(neither, 50);
    return new Result(k, r, setting, timing.medianMs(), timing.p95Ms(), timing.meanMs(), timing.maxDelayMs(),
        fs.getContentSummary(new org.apache.hadoop.fs.Path(dir + "/checkpoint")).getLength(), ok, keys.orElse(0L),
        meanExcess(measured, took, median) + " / " + meanExcess(measured, followed, median) + " ms",
        eachExcess(measured, took, median, options.warmup(), i -> ""),
        eachExcess(measured, followed, median, options.warmup(), i -> gapNote(measured, i)), stageMedians(measured),
        cpuStolen,
        report.getFinalApplicationStatus() == FinalApplicationStatus.SUCCEEDED ? "" : report.getDiagnostics());
  }

  /**
   * The state probe: per-batch time at vocabulary {@code k} over a state that already holds nearly
   * all {@code seedK} keys. In the sweep a larger K means a larger state and, as much, more keys per
   * batch; here the batches' keys are as at {@code k}, and only the state differs. A first
   * application runs {@code seedK} until the state holds 99 % of its keys and is stopped
   * gracefully (which ends on a snapshot); a second resumes from its checkpoint with {@code k}: the
   * generator is a stateless operator, so it may change. The invariant is checked over both.
   */
  private ProbeResult runProbe(SluiceClient client, FileSystem fs, long k, long seedK, long r) throws Exception {
    String dir = "/bench/probe-k" + k + "-state" + seedK + "-r" + r;
    // After b batches of 10 R uniform words, a key is still missing with probability exp(-10 R b / K).
    int seedBatches = (int) Math.max(2, Math.ceil(Math.log(100) * seedK / (10.0 * r)));
    out.printf("state probe: R=%d, %d batches at K=%d, a graceful stop, then K=%d resumed on that state ...%n",
        r, seedBatches, seedK, k);
    out.flush();
    Map<String, String> seedConf = sweepConf(seedK, r, "A", dir);
    seedConf.remove(SettingKeys.STOP_AFTER_BATCHES);
    ApplicationId seed = submit(client, dir, 1, seedConf);
    while (committedBatches(fs, dir) < seedBatches && client.report(seed).getFinalApplicationStatus()
        == FinalApplicationStatus.UNDEFINED) {
      clock.waitUntil(clock.wallMillis() + 100);
    }
    if (client.report(seed).getFinalApplicationStatus() == FinalApplicationStatus.UNDEFINED) {
      client.stop(seed, true);
    }
    ApplicationReport seeded = awaitEnd(client, seed, fs, dir, -1);
    if (seeded.getFinalApplicationStatus() != FinalApplicationStatus.SUCCEEDED) {
      return new ProbeResult(k, r, new Timing(0, 0, 0, 0), 0, false, seeded.getDiagnostics());
    }
    MetadataCheckpoint afterSeed = newestCheckpoint(fs, dir);
    int measuredBatches = options.batches() - options.warmup();
    Map<String, String> conf = sweepConf(k, r, "A", dir);
    conf.put(SettingKeys.STOP_AFTER_BATCHES,
        Long.toString(afterSeed.getBatchesCompleted() + PROBE_DISCARDED_BATCHES + measuredBatches));
    ApplicationId id = submit(client, dir, 1, conf);
    ApplicationReport report = awaitEnd(client, id, fs, dir, -1);
    MetadataCheckpoint cp = newestCheckpoint(fs, dir);
    List<BatchStats> recent = cp.getRecentBatchesList();
    List<BatchStats> measured = recent.subList(Math.max(0, recent.size() - measuredBatches), recent.size());
    boolean allResumed = measured.size() == measuredBatches
        && measured.stream().allMatch(b -> b.getEpoch() > afterSeed.getEpoch());
    Optional<Long> keys = keysIfInvariantHolds(fs, dir, seedK, r, (int) cp.getBatchesCompleted());
    boolean ok = report.getFinalApplicationStatus() == FinalApplicationStatus.SUCCEEDED && keys.isPresent()
        && allResumed;
    return new ProbeResult(k, r, Timing.of(measured), keys.orElse(0L), ok,
        report.getFinalApplicationStatus() != FinalApplicationStatus.SUCCEEDED ? report.getDiagnostics()
            : allResumed ? "" : "the measured batches are not all the resumed application's");
  }

  private String recovery(SluiceClient client, FileSystem fs, long k, long r) throws Exception {
    int batches = 30 + ARCHIVE_WAIT_BATCHES;
    String dir = "/bench/recovery-k" + k;
    out.printf("recovery: K=%d R=%d, kill -9 of the AM after %d batches ...%n", k, r, KILL_AFTER_BATCHES);
    out.flush();
    ApplicationId id = submit(client, dir, 2, conf(k, r, "A", dir, batches));
    long[] killToFirst = new long[1];
    ApplicationReport report = awaitEnd(client, id, fs, dir, KILL_AFTER_BATCHES, killToFirst);
    boolean ok = report.getFinalApplicationStatus() == FinalApplicationStatus.SUCCEEDED
        && keysIfInvariantHolds(fs, dir, k, r, batches).isPresent();
    return String.format("| %d | %d | %d ms | %s |", k, r, killToFirst[0],
        ok ? "none repeated or lost, invariant held" : "FAILED: " + report.getDiagnostics());
  }

  /**
   * Executor recovery: kill -9 of one of the two executors right after the 15th batch is committed,
   * and the time from the kill to the commit of the first batch after it, which the AM runs once it
   * has replaced the executor and restored its state partitions from their snapshots and the replay
   * of the batches since. The AM may not fail: the application has a single attempt.
   */
  private String executorRecovery(SluiceClient client, FileSystem fs, long k, long r) throws Exception {
    int batches = 30;
    String dir = "/bench/executor-recovery-k" + k;
    out.printf("executor recovery: K=%d R=%d, kill -9 of an executor after %d batches ...%n", k, r,
        KILL_AFTER_BATCHES);
    out.flush();
    Map<String, String> conf = conf(k, r, "A", dir, batches);
    conf.put(SettingKeys.AM_CLASS_DATA_ARCHIVE, "false");
    ApplicationId id = submit(client, dir, 1, conf);
    long killedAtMs = 0;
    while (killedAtMs == 0 && client.report(id).getFinalApplicationStatus() == FinalApplicationStatus.UNDEFINED) {
      if (committedBatches(fs, dir) >= KILL_AFTER_BATCHES) {
        List<ProcessHandle> executors = ContainerProcesses.executors(client.report(id).getCurrentApplicationAttemptId());
        if (!executors.isEmpty()) {
          killedAtMs = clock.wallMillis();
          ContainerProcesses.killHard(executors.get(0));
        }
      }
      clock.waitUntil(clock.wallMillis() + 20);
    }
    ApplicationReport report = awaitEnd(client, id, fs, dir, -1);
    long killed = killedAtMs;
    List<BatchStats> after = report.getFinalApplicationStatus() == FinalApplicationStatus.SUCCEEDED
        ? newestCheckpoint(fs, dir).getRecentBatchesList().stream()
            .filter(b -> RecoveryProbe.completedAtMs(b) > killed).toList()
        : List.of();
    boolean ok = killed > 0 && !after.isEmpty() && keysIfInvariantHolds(fs, dir, k, r, batches).isPresent();
    return String.format("| %d | %d | %s | %s | %s |", k, r,
        after.isEmpty() ? "-" : (RecoveryProbe.completedAtMs(after.get(0)) - killed) + " ms",
        after.isEmpty() ? "-" : after.stream().mapToLong(BatchStats::getSchedulingDelayMs).max().orElse(0) + " ms",
        ok ? "none repeated or lost, invariant held" : "FAILED: " + (killed == 0 ? "no executor was killed"
            : report.getDiagnostics()));
  }

  /**
   * Prints {@link #progressLine} for the newest metadata checkpoint, if it has batches after {@code
   * printedUpToMs}, with their {@link #stageLines} if asked, and returns the newest batch time printed.
   */
  private long printProgress(RecoveryProbe probe, long printedUpToMs) throws java.io.IOException {
    Optional<MetadataCheckpoint> cp = probe.newest();
    Optional<String> line = cp.flatMap(c -> progressLine(c, printedUpToMs));
    if (line.isEmpty()) {
      return printedUpToMs;
    }
    out.println(line.get());
    if (options.batchStages()) {
      stageLines(cp.get(), printedUpToMs).forEach(out::println);
    }
    out.flush();
    List<BatchStats> recent = cp.get().getRecentBatchesList();
    return recent.get(recent.size() - 1).getBatchTimeMs();
  }

  /**
   * One line for the batches completed after batch time {@code printedUpToMs}: their numbers (from
   * 0, as the workload counts them), processing times, and the newest one's scheduling delay, so
   * that a run of minutes shows how it goes (a backlog building up, say). Empty if there are none.
   */
  static Optional<String> progressLine(MetadataCheckpoint cp, long printedUpToMs) {
    List<BatchStats> fresh = cp.getRecentBatchesList().stream()
        .filter(b -> b.getBatchTimeMs() > printedUpToMs).toList();
    if (fresh.isEmpty()) {
      return Optional.empty();
    }
    long last = cp.getBatchesCompleted() - 1;
    long first = last - fresh.size() + 1;
    return Optional.of(String.format(java.util.Locale.ROOT, "    batch %s: %s ms, scheduling delay %.1f s",
        first == last ? first : first + "-" + last,
        fresh.stream().map(b -> Long.toString(b.getProcessingMs())).collect(Collectors.joining(" ")),
        fresh.get(fresh.size() - 1).getSchedulingDelayMs() / 1000.0));
  }

  /**
   * A line per batch completed after batch time {@code printedUpToMs}, numbered as in {@link
   * #progressLine}, with its stages: where a run's first batches go, which the medians leave out.
   */
  static List<String> stageLines(MetadataCheckpoint cp, long printedUpToMs) {
    List<BatchStats> recent = cp.getRecentBatchesList();
    long first = cp.getBatchesCompleted() - recent.size();
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < recent.size(); i++) {
      BatchStats b = recent.get(i);
      if (b.getBatchTimeMs() > printedUpToMs) {
        lines.add("      batch " + (first + i) + ", " + b.getProcessingMs() + " ms: "
            + StageStatsText.describe(b.getStagesList()));
      }
    }
    return lines;
  }

  private ApplicationReport awaitEnd(SluiceClient client, ApplicationId id, FileSystem fs, String dir, int killAfter)
      throws Exception {
    return awaitEnd(client, id, fs, dir, killAfter, new long[1]);
  }

  /**
   * Waits for the end; with {@code killAfter > 0} kills the AM once that many batches are
   * committed, and measures from the kill to the commit of the first batch the next AM completed.
   * That commit time is in the metadata checkpoint, so after the kill this only asks YARN whether
   * the application has ended, and reads the checkpoint once at the end: reading it while the new
   * AM starts would take CPU and HDFS from what is being timed.
   */
  private ApplicationReport awaitEnd(SluiceClient client, ApplicationId id, FileSystem fs, String dir, int killAfter,
      long[] killToFirstMs) throws Exception {
    RecoveryProbe probe = new RecoveryProbe(fs, dir + "/checkpoint");
    long killedAtMs = 0;
    long killedEpoch = 0;
    long printedUpToMs = 0;
    long nextProgressAtMs = clock.wallMillis() + PROGRESS_INTERVAL_MS;
    while (true) {
      ApplicationReport r = client.report(id);
      YarnApplicationState s = r.getYarnApplicationState();
      boolean ended = s == YarnApplicationState.FINISHED || s == YarnApplicationState.FAILED
          || s == YarnApplicationState.KILLED;
      if (ended || clock.wallMillis() >= nextProgressAtMs) {
        printedUpToMs = printProgress(probe, printedUpToMs);
        nextProgressAtMs = clock.wallMillis() + PROGRESS_INTERVAL_MS;
      }
      if (ended) {
        Optional<BatchStats> first = killedAtMs == 0 ? Optional.empty() : probe.firstBatchAfter(killedEpoch);
        if (first.isPresent()) {
          killToFirstMs[0] = RecoveryProbe.completedAtMs(first.get()) - killedAtMs;
        }
        return r;
      }
      int beyondKillPoint = killAfter > 0 && killedAtMs == 0 ? committedBatches(fs, dir) - killAfter : -1;
      if (beyondKillPoint >= 0 && restartArchiveReadyOrLate(client, r, beyondKillPoint)) {
        var am = ContainerProcesses.am(r.getCurrentApplicationAttemptId());
        if (am.isPresent()) {
          killedEpoch = probe.currentEpoch();
          killedAtMs = clock.wallMillis();
          ContainerProcesses.killHard(am.get());
        }
      }
      clock.waitUntil(clock.wallMillis() + (killedAtMs == 0 ? 100 : 500));
    }
  }

  /**
   * Whether the AM has written the class-data archive a restarted AM starts from, as a long-running
   * job's AM has; kills go ahead without it {@value #ARCHIVE_WAIT_BATCHES} batches late, and the
   * line printed says which it was.
   */
  private boolean restartArchiveReadyOrLate(SluiceClient client, ApplicationReport r, int batchesLate)
      throws Exception {
    boolean ready = client.amStatus(r).map(s -> !s.getRestartArchive().isEmpty()).orElse(false);
    if (ready || batchesLate >= ARCHIVE_WAIT_BATCHES) {
      out.printf("  killing the AM %s the class-data archive for restarts%n", ready ? "after it wrote" : "without");
      out.flush();
      return true;
    }
    return false;
  }

  private static int committedBatches(FileSystem fs, String dir) throws java.io.IOException {
    org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(dir + "/out");
    return fs.exists(out) ? fs.listStatus(out, p -> p.getName().startsWith("batch-")).length : 0;
  }

  /**
   * The keys in the state after the last batch, if every batch's output is there once with total =
   * 10 R (b + 1) and keys never falling, at most K (exactly K for K <= 10k); empty otherwise.
   */
  private Optional<Long> keysIfInvariantHolds(FileSystem fs, String dir, long k, long r, int batches) throws Exception {
    List<String> lines = new ArrayList<>();
    org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(dir + "/out");
    var batchDirs = fs.listStatus(out, p -> p.getName().startsWith("batch-"));
    java.util.Arrays.sort(batchDirs);
    for (var d : batchDirs) {
      StringBuilder text = new StringBuilder();
      for (var part : fs.listStatus(d.getPath(), p -> p.getName().startsWith("part-"))) {
        try (var in = fs.open(part.getPath())) {
          text.append(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8));
        }
      }
      lines.add(text.toString().strip());
    }
    if (lines.size() != batches) {
      return Optional.empty();
    }
    long previousKeys = 0;
    for (int b = 0; b < batches; b++) {
      Matcher m = LINE.matcher(lines.get(b));
      if (!m.matches() || Long.parseLong(m.group(1)) != b || Long.parseLong(m.group(3)) != 10 * r * (b + 1)) {
        return Optional.empty();
      }
      long keys = Long.parseLong(m.group(2));
      if (keys < previousKeys || keys > k || (k <= 10_000 && keys != k)) {
        return Optional.empty();
      }
      previousKeys = keys;
    }
    return Optional.of(previousKeys);
  }

  private static String row(Result r) {
    long words = 10 * r.lines();
    return String.format("| %d | %d | %s | %d ms | %d ms | %d ms | %d ms | %s | %s | %s | %.1f MiB | %d | %s | %s |",
        r.vocabulary(), r.lines(), r.setting(), r.medianMs(), r.p95Ms(), r.meanMs(), r.maxDelayMs(),
        r.medianMs() == 0 ? "-" : String.format("%.1fM", words / (r.medianMs() / 1000.0) / 1e6),
        r.medianMs() < 1000 ? "yes" : "no", r.setting().equals("A") ? r.snapshotAdds() : "-",
        r.checkpointBytes() / 1048576.0, r.stateKeys(), r.invariantHeld() ? "held" : "BROKEN " + r.note(),
        r.cpuStolen());
  }

  /** The mean time of the batches at {@code at} in {@code measured}, minus {@code median}; "-" when there are none. */
  private static String meanExcess(List<BatchStats> measured, List<Integer> at, long median) {
    return at.isEmpty() ? "-"
        : Long.toString((long) at.stream().mapToLong(i -> measured.get(i).getProcessingMs()).average().orElseThrow()
            - median);
  }

  /**
   * Each batch at {@code at} in {@code measured}, by its number ({@code firstNumber} for the first
   * measured), minus {@code median}, followed by {@code note} of it: the first snapshot of each
   * executor JVM can cost what the later ones do not.
   */
  static String eachExcess(List<BatchStats> measured, List<Integer> at, long median, int firstNumber,
      IntFunction<String> note) {
    return at.isEmpty() ? "-" : at.stream().map(i -> String.format("#%d %+d%s", firstNumber + i,
        measured.get(i).getProcessingMs() - median, note.apply(i))).collect(Collectors.joining(", ")) + " ms";
  }

  /**
   * The gap before batch {@code i} of {@code measured}, as {@link #eachExcess} notes it for a batch
   * after a snapshot: the executors write a snapshot in the background, so a batch after one pays
   * for the write unless the gap was long enough to hold it; a driver behind its batch times leaves
   * only its own work between two batches there.
   */
  static String gapNote(List<BatchStats> measured, int i) {
    return " (gap " + gapBeforeMs(measured, i) + ")";
  }

  /** From the end of batch {@code i - 1} of {@code measured} (its committed output) to the start of batch {@code i}. */
  static long gapBeforeMs(List<BatchStats> measured, int i) {
    BatchStats batch = measured.get(i);
    return batch.getBatchTimeMs() + batch.getSchedulingDelayMs() - RecoveryProbe.completedAtMs(measured.get(i - 1));
  }

  /**
   * Each stage's median time over {@code measured}, with the median time of its slowest task, and
   * the median of what the batches spent after their stages (the driver's outputs and the commit):
   * where a configuration's batches go, stage by stage.
   */
  static String stageMedians(List<BatchStats> measured) {
    Map<String, List<Long>> wall = new LinkedHashMap<>();
    Map<String, List<Long>> slowest = new LinkedHashMap<>();
    List<Long> afterStages = new ArrayList<>();
    for (BatchStats b : measured) {
      long staged = 0;
      for (StageStats stage : b.getStagesList()) {
        wall.computeIfAbsent(stage.getName(), n -> new ArrayList<>()).add(stage.getWallMs());
        slowest.computeIfAbsent(stage.getName(), n -> new ArrayList<>()).add(stage.getSlowestTaskMs());
        staged += stage.getWallMs();
      }
      afterStages.add(b.getProcessingMs() - staged);
    }
    if (wall.isEmpty()) {
      return "none recorded";
    }
    return wall.keySet().stream().map(name -> name + " " + median(wall.get(name)) + " ms (slowest task "
        + median(slowest.get(name)) + " ms)").collect(Collectors.joining("; "))
        + "; outputs and commit " + median(afterStages) + " ms";
  }

  private static long median(List<Long> values) {
    return percentile(values.stream().sorted().toList(), 50);
  }

  private static long percentile(List<Long> sorted, int p) {
    if (sorted.isEmpty()) {
      return 0;
    }
    int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
  }

  private static String probeRow(ProbeResult p, List<Result> results) {
    String plain = results.stream().filter(r -> r.vocabulary() == p.vocabulary() && r.lines() == p.lines()
        && r.setting().equals("A")).findFirst().map(r -> r.medianMs() + " ms").orElse("-");
    return String.format("| %d | %d | %d | %d ms | %d ms | %d ms | %d ms | %s | %s |", p.vocabulary(), p.stateKeys(),
        p.lines(), p.timing().medianMs(), p.timing().p95Ms(), p.timing().meanMs(), p.timing().maxDelayMs(), plain,
        p.invariantHeld() ? "held" : "BROKEN " + p.note());
  }

  private void printTable(List<Result> results, List<String> recoveries, List<String> executorRecoveries,
      List<ProbeResult> probes) {
    out.println();
    out.println("| K | R | checkpoint | median | p95 | mean | max scheduling delay | throughput (words/s) | sustainable "
        + "| snapshot adds (its batch / the next) | checkpoint dir | keys at the end | invariant | CPU stolen |");
    out.println("|---:|---:|:---:|---:|---:|---:|---:|---:|:---:|---:|---:|---:|:---:|---:|");
    results.forEach(r -> out.println(row(r)));
    List<Result> snapshotting = results.stream().filter(r -> r.setting().equals("A")).toList();
    if (!snapshotting.isEmpty()) {
      out.println();
      out.println("| K | R | checkpoint | each snapshot batch minus the median of the others "
          + "| each batch after one (the gap before it, ms) |");
      out.println("|---:|---:|:---:|:---|:---|");
      snapshotting.forEach(r -> out.printf("| %d | %d | %s | %s | %s |%n", r.vocabulary(), r.lines(), r.setting(),
          r.eachSnapshotBatch(), r.eachBatchAfterOne()));
    }
    out.println();
    out.println("| K | R | checkpoint | stages: median time (median of the slowest task), then the driver's outputs "
        + "and commit |");
    out.println("|---:|---:|:---:|:---|");
    results.forEach(r -> out.printf("| %d | %d | %s | %s |%n", r.vocabulary(), r.lines(), r.setting(), r.stages()));
    if (!recoveries.isEmpty()) {
      out.println();
      out.println("| K | R | kill -9 of the AM to the first batch the next AM committed | outputs |");
      out.println("|---:|---:|---:|:---|");
      recoveries.forEach(out::println);
    }
    if (!executorRecoveries.isEmpty()) {
      out.println();
      out.println("| K | R | kill -9 of an executor to the first batch committed after it "
          + "| largest scheduling delay after it | outputs |");
      out.println("|---:|---:|---:|---:|:---|");
      executorRecoveries.forEach(out::println);
    }
    if (!probes.isEmpty()) {
      out.println();
      out.println("| batches' K | state keys | R | median | p95 | mean | max scheduling delay "
          + "| median with the state of that K (sweep, A) | invariant |");
      out.println("|---:|---:|---:|---:|---:|---:|---:|---:|:---:|");
      probes.forEach(p -> out.println(probeRow(p, results)));
    }
    out.println();
    out.println("Processing time: from the start of a batch's first task to its committed output, as the AM records it "
        + "in the metadata checkpoint (recent_batches). Snapshot adds: mean of the batches that took a state snapshot, "
        + "and of the batches after them (executors write the files in the background), minus the median of the "
        + "others. The gap before a batch after one: from the end of the snapshot batch to its first task, the time "
        + "its executors had for the write without a batch beside it (a driver behind its batch times leaves only "
        + "its own work there). Keys at the end: the state's keys after the last batch, as its output "
        + "says. CPU stolen: the share of the machine's CPU time that its hypervisor gave to other guests while the "
        + "configuration ran (/proc/stat), which is what makes runs on a shared virtual machine differ."
        + (probes.isEmpty() ? "" : " State probe: the last " + (options.batches() - options.warmup()) + " of "
            + (PROBE_DISCARDED_BATCHES + options.batches() - options.warmup()) + " batches of an application "
            + "resumed with the smaller K on the checkpoint of one that ran the larger K until its state held 99 % "
            + "of its keys (state keys: at the end, from the output)."));
    out.flush();
  }
}
