package io.sluice.deploy;

import io.sluice.api.Duration;
import io.sluice.api.SluiceException;
import io.sluice.examples.GeneratedWordCount;
import io.sluice.proto.BatchStats;
import io.sluice.proto.StatusResponse;
import io.sluice.runtime.Clock;
import io.sluice.source.WordGenerator;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;

/**
 * {@code sluice demo}: the generated word count on an embedded HDFS + YARN with two executors,
 * printing each batch as its output is committed, killing the AM process mid-run with SIGKILL
 * and showing the recovery, then checking every batch against the generator.
 */
final class Demo {
  /** System property naming the examples jar (set by bin/sluice). */
  static final String EXAMPLES_JAR = "sluice.examples.jar";
  private static final long FINISH_TIMEOUT_MS = 110_000;
  private static final String OUTPUT = "/sluice-demo/output";
  private static final String CHECKPOINT = "/sluice-demo/checkpoint";

  private final PrintWriter out;
  private final long lines;
  private final long vocabulary;
  private final int batches;
  private final int killAfter;
  private final int killAtLatest;
  private final Clock clock = Clock.SYSTEM;
  private final long started = clock.monotonicNanos();

  Demo(PrintWriter out, long lines, long vocabulary, int batches) {
    this.out = out;
    this.lines = lines;
    this.vocabulary = vocabulary;
    this.batches = batches;
    this.killAfter = Math.max(1, batches / 3);
    this.killAtLatest = Math.max(killAfter, batches - 5);
  }

  private void say(String format, Object... args) {
    out.printf("[%6.1fs] %s%n", (clock.monotonicNanos() - started) / 1e9, String.format(format, args));
  }

  boolean run(Path base) throws Exception {
    Path examples = examplesJar();
    say("Starting embedded HDFS + YARN in %s ...", base);
    try (EmbeddedCluster cluster = EmbeddedCluster.start(base);
        SluiceClient client = new SluiceClient(cluster.conf())) {
      say("Cluster up: HDFS %s, ResourceManager %s", cluster.conf().get("fs.defaultFS"),
          cluster.conf().get("yarn.resourcemanager.address"));
      Map<String, String> conf = Map.of("workload.R", Long.toString(lines), "workload.K", Long.toString(vocabulary),
          "output.dir", OUTPUT, "sluice.stop.afterBatches", Integer.toString(batches),
          "workload.checkpointInterval", "2s");
      ApplicationId id = client.submit(new Submission(examples, GeneratedWordCount.class.getName(),
          CHECKPOINT, Duration.ofSeconds(1), 2, 256, 1, null, 4, conf));
      say("Submitted %s: %s, %d lines x 10 words per 1 s batch, %d words, 2 executors, %d batches, "
          + "state snapshots every 2 s", id,
          GeneratedWordCount.class.getSimpleName(), lines, vocabulary, batches);
      ApplicationReport report = follow(client, cluster.fileSystem(), id);
      say("Application %s: %s / %s", id, report.getYarnApplicationState(), report.getFinalApplicationStatus());
      if (report.getFinalApplicationStatus() != FinalApplicationStatus.SUCCEEDED) {
        say("Diagnostics: %s", report.getDiagnostics());
      }
      return verify(cluster.fileSystem(), report);
    }
  }

  /**
   * Prints the application's progress until it ends; once {@code killAfter} batches are committed
   * it kills the AM process with SIGKILL and reports the recovery as it happens.
   */
  private ApplicationReport follow(SluiceClient client, FileSystem fs, ApplicationId id) throws Exception {
    long deadline = clock.wallMillis() + FINISH_TIMEOUT_MS;
    RecoveryProbe probe = new RecoveryProbe(fs, CHECKPOINT);
    YarnApplicationState last = null;
    Set<String> shown = new HashSet<>();
    int attempt = 1;
    // Wall time, as the AM records when its batches commit: both recovery figures count from it.
    long killedAtMs = 0;
    long killedEpoch = 0;
    boolean recoveredBatchShown = false;
    long firstRecoveredBatch = 0;
    while (true) {
      ApplicationReport r = client.report(id);
      if (r.getYarnApplicationState() != last) {
        last = r.getYarnApplicationState();
        say("Application %s (attempt %d)", last, r.getCurrentApplicationAttemptId().getAttemptId());
      }
      if (r.getCurrentApplicationAttemptId().getAttemptId() != attempt && r.getRpcPort() > 0) {
        attempt = r.getCurrentApplicationAttemptId().getAttemptId();
        say("AM attempt %d registered %d ms after the kill; it resumes from the checkpoint", attempt,
            clock.wallMillis() - killedAtMs);
      }
      // Only batches not shown yet are read: re-reading them all every time would load HDFS while the
      // new AM starts, the interval being timed.
      for (Map.Entry<Long, List<String>> batch : committedBatches(fs, shown).entrySet()) {
        shown.add(batch.getKey().toString());
        say("batch at %d committed: %s", batch.getKey(), String.join(" | ", batch.getValue()));
      }
      if (killedAtMs != 0 && !recoveredBatchShown) {
        Optional<BatchStats> first = probe.firstBatchAfter(killedEpoch);
        if (first.isPresent()) {
          recoveredBatchShown = true;
          firstRecoveredBatch = first.get().getBatchTimeMs();
          say("first batch of the new AM (at %d) committed %d ms after the kill", firstRecoveredBatch,
              RecoveryProbe.completedAtMs(first.get()) - killedAtMs);
        }
      }
      if (firstRecoveredBatch != 0) {
        // The AM's status counts the batch as soon as its output is committed.
        Optional<StatusResponse> status = client.amStatus(r);
        if (status.isPresent() && status.get().getLastBatchTimeMs() >= firstRecoveredBatch) {
          StatusResponse s = status.get();
          say("attempt %d (epoch %d): JVM %s; %d executors re-adopted; state %s", s.getAttempt(), s.getEpoch(),
              s.getStartedFromArchive() ? "started from the class-data archive" : "started without a class-data archive",
              s.getAdoptedExecutors(), s.getStateKept() ? "kept in their memory, nothing replayed"
                  : "restored from snapshots, " + s.getBatchesReplayed() + " batches replayed");
          firstRecoveredBatch = 0;
        }
      }
      if (killedAtMs == 0 && shown.size() >= killAfter && last == YarnApplicationState.RUNNING
          && restartArchiveReadyOrLate(client, r, shown.size())) {
        var am = ContainerProcesses.am(r.getCurrentApplicationAttemptId());
        if (am.isPresent()) {
          killedEpoch = probe.currentEpoch();
          say("Killing the AM of attempt %d (pid %d, epoch %d) with kill -9 ...", attempt, am.get().pid(), killedEpoch);
          killedAtMs = clock.wallMillis();
          ContainerProcesses.killHard(am.get());
        }
      }
      if (last == YarnApplicationState.FINISHED || last == YarnApplicationState.FAILED
          || last == YarnApplicationState.KILLED) {
        return r;
      }
      if (clock.wallMillis() > deadline) {
        throw new SluiceException("the demo application did not finish within " + FINISH_TIMEOUT_MS / 1000 + " s");
      }
      clock.waitUntil(clock.wallMillis() + 300);
    }
  }

  /**
   * Whether the AM has written the class-data archive a restarted AM starts from, as the AM of a
   * job that has run for a minute has; the kill goes ahead without it at {@code killAtLatest}.
   */
  private boolean restartArchiveReadyOrLate(SluiceClient client, ApplicationReport r, int committed) throws Exception {
    Optional<StatusResponse> status = client.amStatus(r);
    if (status.isPresent() && !status.get().getRestartArchive().isEmpty()) {
      say("The AM has written its class-data archive for restarts: %s", status.get().getRestartArchive());
      return true;
    }
    if (committed >= killAtLatest) {
      say("The AM has not written its class-data archive for restarts yet; the next one starts without it");
      return true;
    }
    return false;
  }

  /** Committed batch directories by batch time, with their lines. */
  private static Map<Long, List<String>> committedBatches(FileSystem fs) throws IOException {
    return committedBatches(fs, Set.of());
  }

  /** Committed batch directories by batch time, with their lines, but for the batch times in {@code skipped}. */
  private static Map<Long, List<String>> committedBatches(FileSystem fs, Set<String> skipped) throws IOException {
    Map<Long, List<String>> batches = new TreeMap<>();
    org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(OUTPUT);
    if (!fs.exists(dir)) {
      return batches;
    }
    for (FileStatus d : fs.listStatus(dir, p -> p.getName().startsWith("batch-")
        && !skipped.contains(p.getName().substring("batch-".length())))) {
      StringBuilder text = new StringBuilder();
      for (FileStatus part : fs.listStatus(d.getPath(), p -> p.getName().startsWith("part-"))) {
        try (InputStream in = fs.open(part.getPath())) {
          text.append(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
      }
      batches.put(Long.parseLong(d.getPath().getName().substring("batch-".length())), text.toString().lines().toList());
    }
    return batches;
  }

  private boolean verify(FileSystem fs, ApplicationReport report) throws IOException {
    Map<Long, List<String>> committed = committedBatches(fs);
    List<String> expected = expectedLines(lines, vocabulary, batches);
    int good = 0;
    int b = 0;
    for (Map.Entry<Long, List<String>> e : committed.entrySet()) {
      if (b < batches && e.getValue().equals(List.of(expected.get(b)))) {
        good++;
      } else {
        say("batch %d at %d is WRONG: expected [%s], found %s", b, e.getKey(), b < batches ? expected.get(b) : "nothing",
            e.getValue());
      }
      b++;
    }
    org.apache.hadoop.fs.Path output = new org.apache.hadoop.fs.Path(OUTPUT);
    FileStatus[] leftovers = fs.exists(output)
        ? fs.listStatus(output, p -> !p.getName().startsWith("batch-")) : new FileStatus[0];
    boolean ok = report.getFinalApplicationStatus() == FinalApplicationStatus.SUCCEEDED && committed.size() == batches
        && good == batches && leftovers.length == 0;
    say("%s: %d of %d batches committed exactly once with exact running totals%s", ok ? "PASSED" : "FAILED", good,
        batches, leftovers.length == 0 ? "" : ", " + leftovers.length + " uncommitted leftovers");
    return ok;
  }

  /**
   * What {@link GeneratedWordCount} must write after each of the first {@code batches} batches:
   * the distinct words seen so far, and 10 R (b + 1) in all.
   */
  static List<String> expectedLines(long lines, long vocabulary, int batches) {
    Set<String> seen = new HashSet<>();
    List<String> expected = new java.util.ArrayList<>();
    for (int b = 0; b < batches; b++) {
      for (long j = 0; j < lines; j++) {
        seen.addAll(List.of(WordGenerator.line(b, j, vocabulary).split(" ")));
      }
      expected.add(GeneratedWordCount.expectedLine(b, seen.size(), WordGenerator.WORDS_PER_LINE * lines * (b + 1)));
    }
    return expected;
  }

  static Path examplesJar() throws IOException {
    String configured = System.getProperty(EXAMPLES_JAR);
    if (configured != null && Files.isRegularFile(Path.of(configured))) {
      return Path.of(configured);
    }
    throw new SluiceException("the examples jar was not found (system property " + EXAMPLES_JAR + "="
        + configured + "); build with mvn package first, or run through deploy/bin/sluice");
  }
}
