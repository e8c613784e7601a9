package io.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.checkpoint.MetadataStore;
import io.sluice.examples.GeneratedWordCount;
import io.sluice.examples.WindowedWordCount;
import io.sluice.proto.AccumulatorValue;
import io.sluice.graph.SettingKeys;
import io.sluice.proto.BatchStats;
import io.sluice.proto.StatusResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.yarn.api.records.ApplicationAttemptId;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Faults caused for real on a running stateful job: the AM process killed, an executor killed, a
 * zombie AM left running, the newest metadata file truncated. YARN restarts the AM; the new
 * attempt restores the state from its snapshots in HDFS plus a replay of the batches after them.
 * The check is always the data: every batch's running totals committed exactly once.
 */
class DriverRecoveryIT {
  @RegisterExtension static final YarnClusterExtension CLUSTER = new YarnClusterExtension();

  private static final long LINES = 2_000;
  private static final long VOCABULARY = 300;

  @Test
  void amKilledTwiceWithKillDashNineLosesAndRepeatsNoBatch() throws Exception {
    int batches = 12;
    ApplicationId id = submit("/it/recovery", batches, "3s");
    RecoveryProbe probe = new RecoveryProbe(CLUSTER.fs(), "/it/recovery/checkpoint");
    long[] killedEpochs = new long[2];
    long[] killedAtMs = new long[2];
    int[] killAfter = {3, 7};
    for (int k = 0; k < 2; k++) {
      ApplicationAttemptId attempt = awaitCommitted(id, "/it/recovery", killAfter[k]);
      killedEpochs[k] = probe.currentEpoch();
      killedAtMs[k] = System.currentTimeMillis();
      killAm(id, attempt);
    }

    ApplicationReport report = assertSucceeded(id);
    assertThat(report.getCurrentApplicationAttemptId().getAttemptId()).isEqualTo(3);
    List<Long> times = CLUSTER.readOutputs("/it/recovery/out", "batch-").keySet().stream()
        .map(n -> Long.parseLong(n.substring("batch-".length()))).toList();
    for (int b = 1; b < times.size(); b++) {
      assertThat(times.get(b) - times.get(b - 1)).as("no batch time missing").isEqualTo(1000);
    }
    assertExactRunningTotals("/it/recovery", batches);
    assertThat(new MetadataStore(CLUSTER.fs(), new Path("/it/recovery/checkpoint"), 10).readNewestValid(w -> {})
        .orElseThrow().checkpoint().getAccumulatorsList())
        .as("the lines accumulator counted every committed batch once, across two kills")
        .containsExactly(AccumulatorValue.newBuilder().setName("lines").setLongValue(LINES * batches).build());
    // YARN kept the executors across attempts and each new AM took them over.
    assertThat(amLogOf(id, 2)).contains("2 executors up (2 adopted)");
    assertThat(amLogOf(id, 3)).contains("2 executors up (2 adopted)");
    // What sluice bench and demo time a recovery by: the first batch of the next epoch, never the killed AM's.
    List<BatchStats> recent = new MetadataStore(CLUSTER.fs(), new Path("/it/recovery/checkpoint"), 10)
        .readNewestValid(w -> {}).orElseThrow().checkpoint().getRecentBatchesList();
    for (int k = 0; k < 2; k++) {
      long killed = killedEpochs[k];
      BatchStats first = probe.firstBatchAfter(killed).orElseThrow();
      assertThat(first.getEpoch()).isEqualTo(killed + 1);
      assertThat(RecoveryProbe.completedAtMs(first)).isGreaterThan(killedAtMs[k]);
      assertThat(recent).filteredOn(b -> b.getEpoch() <= killed).extracting(BatchStats::getBatchTimeMs)
          .allMatch(t -> t < first.getBatchTimeMs());
    }
  }

  @Test
  void aRestartedAmStartsFromTheClassDataArchiveItsPredecessorWrote() throws Exception {
    String dir = "/it/archive";
    ApplicationId id = CLUSTER.submit(GeneratedWordCount.class.getName(), dir + "/checkpoint", 2, 4,
        Map.of("workload.R", Long.toString(LINES), "workload.K", Long.toString(VOCABULARY), "output.dir", dir + "/out",
            SettingKeys.AM_CLASS_DATA_ARCHIVE, "true"));
    Awaitility.await().atMost(java.time.Duration.ofSeconds(120)).pollInterval(java.time.Duration.ofMillis(500)).ignoreExceptions()
        .until(() -> !status(id).getRestartArchive().isEmpty());
    assertThat(status(id).getStartedFromArchive()).isFalse();
    killAm(id, CLUSTER.client().report(id).getCurrentApplicationAttemptId());

    Awaitility.await().atMost(java.time.Duration.ofSeconds(60)).ignoreExceptions()
        .until(() -> status(id).getAttempt() == 2 && status(id).getBatchesCompleted() > 0);
    assertThat(status(id).getStartedFromArchive()).as("attempt 2 mapped the archive").isTrue();
    assertThat(amLogOf(id, 2)).contains("from the class-data archive of an earlier attempt")
        .doesNotContain("No class-data archive");
    CLUSTER.client().stop(id, true);
    assertSucceeded(id);
    int batches = CLUSTER.readOutputs(dir + "/out", "batch-").size();
    assertExactRunningTotals(dir, batches);
  }

  /** The running AM's status; fails while it does not answer. */
  private static StatusResponse status(ApplicationId id) throws Exception {
    return CLUSTER.client().amStatus(CLUSTER.client().report(id)).orElseThrow();
  }

  @Test
  void slidingWindowsAreExactAfterTheAmIsKilled() throws Exception {
    int batches = 12;
    String dir = "/it/window";
    long vocabulary = 30_000;
    ApplicationId id = CLUSTER.submit(WindowedWordCount.class.getName(), dir + "/checkpoint", 2, 4,
        Map.of("workload.R", Long.toString(LINES), "workload.K", Long.toString(vocabulary), "output.dir", dir + "/out",
            "sluice.stop.afterBatches", Integer.toString(batches), "workload.window", "4s", "workload.slide", "2s"));
    Awaitility.await().atMost(java.time.Duration.ofSeconds(90))
        .until(() -> CLUSTER.readOutputs(dir + "/out", "window-").size() >= 2);
    killAm(id, CLUSTER.client().report(id).getCurrentApplicationAttemptId());

    assertSucceeded(id);
    List<List<String>> lines = new ArrayList<>(CLUSTER.readOutputs(dir + "/out", "window-").values());
    assertThat(lines).as("one line per slide, each window exact, none repeated").containsExactlyElementsOf(
        WindowedWordCount.expectedLines(LINES, vocabulary, batches, 4, 2).stream().map(List::of).toList());
  }

  @Test
  void amKilledWhileABatchIsWritingItsOutputCommitsThatBatchOnce() throws Exception {
    int batches = 8;
    ApplicationId id = submit("/it/commit", batches, "2s");
    ApplicationAttemptId first = awaitCommitted(id, "/it/commit", 3);
    Path out = new Path("/it/commit/out");
    Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).pollInterval(java.time.Duration.ofMillis(10))
        .until(() -> java.util.Arrays.stream(CLUSTER.fs().listStatus(out))
            .anyMatch(s -> s.getPath().getName().startsWith("_uncommitted-")));
    killAm(id, first);

    assertSucceeded(id);
    assertExactRunningTotals("/it/commit", batches);
  }

  @Test
  void amKilledAfterABatchWasSnapshottedButBeforeItCompletedRollsItBackInsteadOfRestoring() throws Exception {
    int batches = 10;
    String dir = "/it/snapshotted";
    ApplicationId id = submit(dir, batches, "2s");
    ApplicationAttemptId first = awaitCommitted(id, dir, 3);
    // A snapshot's file is begun after the task took it: a batch with such a file and no committed output yet is it.
    Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).pollInterval(java.time.Duration.ofMillis(10))
        .until(() -> aSnapshottedBatchIsWritingItsOutput(dir));
    killAm(id, first);

    assertSucceeded(id);
    assertExactRunningTotals(dir, batches);
    assertThat(amLogOf(id, 2)).as("the executors rolled the snapshotted batch back; nothing was restored")
        .contains("nothing to restore").contains("epoch 2, re-run");
  }

  private static boolean aSnapshottedBatchIsWritingItsOutput(String dir) throws IOException {
    for (var st : CLUSTER.fs().listStatus(new Path(dir + "/out"))) {
      String name = st.getPath().getName();
      if (name.startsWith("_uncommitted-batch-")
          && snapshotWritten(dir, name.substring("_uncommitted-batch-".length(), name.lastIndexOf("-epoch")))) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether a state partition of the job under {@code dir} has a snapshot of batch {@code batchMs} by
   * epoch 1, written or being written (under a hidden temporary name).
   */
  private static boolean snapshotWritten(String dir, String batchMs) throws IOException {
    for (int p = 0; p < 2; p++) {
      Path partition = new Path(dir + "/checkpoint/state/counts/" + p);
      if (CLUSTER.fs().exists(partition) && java.util.Arrays.stream(CLUSTER.fs().listStatus(partition))
          .map(st -> st.getPath().getName()).anyMatch(name -> name.startsWith(batchMs + "-epoch1")
              || name.startsWith("." + batchMs + "-epoch1"))) {
        return true;
      }
    }
    return false;
  }

  @Test
  void executorKilledWithKillDashNineLosesNoStateAndRepeatsNoBatch() throws Exception {
    int batches = 8;
    ApplicationId id = submit("/it/executor", batches, "2s");
    ApplicationAttemptId attempt = awaitCommitted(id, "/it/executor", 3);
    List<ProcessHandle> executors = ContainerProcesses.executors(attempt);
    assertThat(executors).hasSize(2);
    ContainerProcesses.killHard(executors.get(0));

    // The AM replaces the executor itself and runs the failed batch again: no new attempt.
    assertThat(assertSucceeded(id).getCurrentApplicationAttemptId().getAttemptId()).isEqualTo(1);
    assertExactRunningTotals("/it/executor", batches);
    String am = amLogOf(id, 1);
    assertThat(am).contains("Replaced the executors of slots [");
    // Only the lost slot's partition is rebuilt; the survivor's stays in place through the replays.
    int lost = Integer.parseInt(am.replaceFirst("(?s).*Replaced the executors of slots \\[(\\d+)].*", "$1"));
    String executorLogs = String.join("\n", executorLogsOf(id));
    assertThat(executorLogs).doesNotContain("Restored counts partition " + (1 - lost) + " ")
        .doesNotContain("Kept counts partition " + lost + " ");
    if (am.contains("replayed batch")) {
      assertThat(executorLogs).contains("Kept counts partition " + (1 - lost) + " ");
    }
  }

  @Test
  void aHungTaskFailsItsBatchAtTheDeadlineAndItsExecutorIsReplaced() throws Exception {
    int batches = 6;
    String dir = "/it/hung";
    java.nio.file.Path marker = Files.createTempDirectory("sluice-hang").resolve("hung");
    ApplicationId id = CLUSTER.submit(CLUSTER.jarOf(HangingTaskApp.class), HangingTaskApp.class.getName(),
        dir + "/checkpoint", 2, 2, Map.of("output.dir", dir + "/out", "test.hangMarker", marker.toString(),
            "sluice.task.timeout", "3s", "sluice.stop.afterBatches", Integer.toString(batches), "workload.R", "100"));

    assertSucceeded(id);
    assertThat(marker).as("a task hung").exists();
    List<List<String>> lines = new ArrayList<>(CLUSTER.readOutputs(dir + "/out", "batch-").values());
    List<List<String>> expected = new ArrayList<>();
    for (int b = 0; b < batches; b++) {
      expected.add(List.of("batch=" + b + " total=" + 10 * 100 * (b + 1)));
    }
    assertThat(lines).as("every batch once, totals exact").isEqualTo(expected);
    assertThat(amLogOf(id, 1)).contains("let a task run past 3000 ms; stopping its container")
        .contains("Replaced the executors of slots");
  }

  @Test
  void aBatchThatFailsInEveryAttemptEndsTheApplicationNamingIt() throws Exception {
    ApplicationId id = CLUSTER.submit(CLUSTER.jarOf(FailingBatchApp.class), FailingBatchApp.class.getName(),
        "/it/crash-loop/checkpoint", 1, 2, Map.of("sluice.batch.retries", "1"));

    // The last attempt unregisters itself as FAILED, with its own diagnostics.
    ApplicationReport report = CLUSTER.awaitState(id, YarnApplicationState.FINISHED);
    assertThat(report.getFinalApplicationStatus()).isEqualTo(FinalApplicationStatus.FAILED);
    assertThat(report.getCurrentApplicationAttemptId().getAttemptId()).isEqualTo(2);
    assertThat(report.getDiagnostics()).contains("failed 2 times in this attempt (4 in 2 attempts in all)")
        .contains("the sink rejects batch 2").contains("The same batch ended every attempt");
  }

  @Test
  void aBatchThatKillsTheAmInEveryAttemptIsNamedInTheFinalDiagnostics() throws Exception {
    ApplicationId id = CLUSTER.submit(CLUSTER.jarOf(HaltingBatchApp.class), HaltingBatchApp.class.getName(),
        "/it/halting/checkpoint", 1, 3, Map.of());

    // Attempts 1 and 2 die running batch #2 without a word; attempt 3 names it and stops.
    ApplicationReport report = CLUSTER.awaitState(id, YarnApplicationState.FINISHED);
    assertThat(report.getFinalApplicationStatus()).isEqualTo(FinalApplicationStatus.FAILED);
    assertThat(report.getCurrentApplicationAttemptId().getAttemptId()).isEqualTo(3);
    assertThat(report.getDiagnostics()).contains("crash loop: batch ").contains("(#2) was running when each of the "
        + "last 2 attempts ended: 2 died (killed, out of memory, or the JVM crashed)")
        .contains("The same batch ended every attempt");
  }

  @Test
  void zombieAmLeftRunningByFailAttemptCommitsNothingAndExits() throws Exception {
    int batches = 8;
    ApplicationId id = submit("/it/zombie", batches, "2s");
    ApplicationAttemptId first = awaitCommitted(id, "/it/zombie", 3);
    ProcessHandle zombie = ContainerProcesses.am(first).orElseThrow();

    CLUSTER.client().yarn().failApplicationAttempt(first);

    Awaitility.await().atMost(java.time.Duration.ofSeconds(60)).until(() -> !zombie.isAlive());
    assertThat(assertSucceeded(id).getCurrentApplicationAttemptId().getAttemptId()).isGreaterThan(first.getAttemptId());
    assertExactRunningTotals("/it/zombie", batches);
  }

  @Test
  void newestMetadataTruncatedBetweenAttemptsFallsBackToThePreviousFile() throws Exception {
    int batches = 8;
    ApplicationId id = submit("/it/truncated", batches, "2s");
    ApplicationAttemptId first = awaitCommitted(id, "/it/truncated", 4);
    // Truncate right after the kill, before YARN has even noticed it: the next attempt reads the damage.
    ContainerProcesses.killHard(ContainerProcesses.am(first).orElseThrow());
    Path newest = new MetadataStore(CLUSTER.fs(), new Path("/it/truncated/checkpoint"), 10).list().get(0);
    byte[] whole;
    try (var in = CLUSTER.fs().open(newest)) {
      whole = in.readAllBytes();
    }
    try (var out = CLUSTER.fs().create(newest, true)) {
      out.write(whole, 0, whole.length / 2);
    }

    assertSucceeded(id);
    assertExactRunningTotals("/it/truncated", batches);
    assertThat(amLogOf(id, 2)).contains("metadata checkpoint " + CLUSTER.fs().makeQualified(newest) + " is unusable");
  }

  /** Submits the stateful generated word count writing under {@code dir}, snapshotting its state every {@code interval}. */
  private static ApplicationId submit(String dir, int batches, String interval) throws Exception {
    return CLUSTER.submit(GeneratedWordCount.class.getName(), dir + "/checkpoint", 2, 4,
        Map.of("workload.R", Long.toString(LINES), "workload.K", Long.toString(VOCABULARY),
            "output.dir", dir + "/out", "sluice.stop.afterBatches", Integer.toString(batches),
            "workload.checkpointInterval", interval));
  }

  /** Waits until {@code count} batches of the job under {@code dir} are committed; returns the attempt then running. */
  private static ApplicationAttemptId awaitCommitted(ApplicationId id, String dir, int count) throws Exception {
    Awaitility.await().atMost(java.time.Duration.ofSeconds(90))
        .until(() -> CLUSTER.readOutputs(dir + "/out", "batch-").size() >= count);
    return CLUSTER.client().report(id).getCurrentApplicationAttemptId();
  }

  private static void killAm(ApplicationId id, ApplicationAttemptId attempt) throws Exception {
    ContainerProcesses.killHard(ContainerProcesses.am(attempt)
        .orElseThrow(() -> new AssertionError("no AM process for " + attempt)));
    Awaitility.await().atMost(java.time.Duration.ofSeconds(60)).until(() ->
        CLUSTER.client().report(id).getCurrentApplicationAttemptId().getAttemptId() > attempt.getAttemptId());
  }

  private static ApplicationReport assertSucceeded(ApplicationId id) {
    ApplicationReport report = CLUSTER.awaitState(id, YarnApplicationState.FINISHED);
    assertThat(report.getFinalApplicationStatus()).isEqualTo(FinalApplicationStatus.SUCCEEDED);
    return report;
  }

  /** Every batch committed once, with the running totals a plain computation gives, and nothing else in the output. */
  private static void assertExactRunningTotals(String dir, int batches) throws IOException {
    List<List<String>> lines = new ArrayList<>(CLUSTER.readOutputs(dir + "/out", "batch-").values());
    assertThat(lines).containsExactlyElementsOf(
        Demo.expectedLines(LINES, VOCABULARY, batches).stream().map(List::of).toList());
    assertThat(CLUSTER.fs().listStatus(new Path(dir + "/out"))).extracting(s -> s.getPath().getName())
        .allMatch(n -> n.startsWith("batch-"));
  }

  /** The stderr of every executor container of the application, in any attempt. */
  private static List<String> executorLogsOf(ApplicationId id) throws IOException {
    String prefix = String.format("container_%d_%04d_", id.getClusterTimestamp(), id.getId());
    List<String> logs = new ArrayList<>();
    for (var log : YarnClusterExtension.containerFiles("stderr").entrySet()) {
      if (log.getKey().startsWith(prefix) && !log.getKey().endsWith("_000001")) {
        logs.add(Files.readString(log.getValue()));
      }
    }
    return logs;
  }

  /** The stderr of an attempt's AM container, where its log goes. */
  private static String amLogOf(ApplicationId id, int attempt) throws IOException {
    String container = String.format("container_%d_%04d_%02d_000001", id.getClusterTimestamp(), id.getId(), attempt);
    java.nio.file.Path log = YarnClusterExtension.containerFiles("stderr").get(container);
    assertThat(log).as("the stderr of the AM's container %s", container).isNotNull();
    return Files.readString(log);
  }
}
