package io.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.examples.GeneratedWordCount;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.yarn.api.records.ApplicationAttemptId;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The AM process is killed for real; YARN restarts it, the new attempt restores the state from its
 * snapshots in HDFS plus a replay of the batches after them, and the running totals stay exact.
 */
class DriverRecoveryIT {
  @RegisterExtension static final YarnClusterExtension CLUSTER = new YarnClusterExtension();

  private static final long LINES = 2_000;
  private static final long VOCABULARY = 300;

  @Test
  void amKilledTwiceWithKillDashNineLosesAndRepeatsNoBatch() throws Exception {
    int batches = 12;
    ApplicationId id = CLUSTER.submit(GeneratedWordCount.class.getName(), "/it/recovery/checkpoint", 2, 4,
        Map.of("workload.R", Long.toString(LINES), "workload.K", Long.toString(VOCABULARY),
            "output.dir", "/it/recovery/out", "sluice.stop.afterBatches", Integer.toString(batches),
            "workload.checkpointInterval", "3s"));

    killAmAfterBatches(id, 3);
    killAmAfterBatches(id, 7);

    ApplicationReport report = CLUSTER.awaitState(id, YarnApplicationState.FINISHED);
    assertThat(report.getFinalApplicationStatus()).isEqualTo(FinalApplicationStatus.SUCCEEDED);
    assertThat(report.getCurrentApplicationAttemptId().getAttemptId()).isEqualTo(3);

    Map<String, List<String>> outputs = CLUSTER.readOutputs("/it/recovery/out", "batch-");
    assertThat(outputs).hasSize(batches);
    List<Long> times = outputs.keySet().stream().map(n -> Long.parseLong(n.substring("batch-".length()))).toList();
    for (int b = 1; b < batches; b++) {
      assertThat(times.get(b) - times.get(b - 1)).as("no batch time missing").isEqualTo(1000);
    }
    List<List<String>> lines = new ArrayList<>(outputs.values());
    List<String> expected = Demo.expectedLines(LINES, VOCABULARY, batches);
    for (int b = 0; b < batches; b++) {
      assertThat(lines.get(b)).as("batch " + b).containsExactly(expected.get(b));
    }
    assertThat(CLUSTER.fs().listStatus(new org.apache.hadoop.fs.Path("/it/recovery/out")))
        .extracting(s -> s.getPath().getName()).allMatch(n -> n.startsWith("batch-"));
  }

  @Test
  void executorKilledWithKillDashNineLosesNoStateAndRepeatsNoBatch() throws Exception {
    int batches = 8;
    ApplicationId id = CLUSTER.submit(GeneratedWordCount.class.getName(), "/it/executor/checkpoint", 2, 4,
        Map.of("workload.R", Long.toString(LINES), "workload.K", Long.toString(VOCABULARY),
            "output.dir", "/it/executor/out", "sluice.stop.afterBatches", Integer.toString(batches),
            "workload.checkpointInterval", "2s"));
    Awaitility.await().atMost(java.time.Duration.ofSeconds(90))
        .until(() -> CLUSTER.readOutputs("/it/executor/out", "batch-").size() >= 3);
    ApplicationAttemptId attempt = CLUSTER.client().report(id).getCurrentApplicationAttemptId();
    List<ProcessHandle> executors = ContainerProcesses.executors(attempt);
    assertThat(executors).hasSize(2);
    ContainerProcesses.killHard(executors.get(0));

    ApplicationReport report = CLUSTER.awaitState(id, YarnApplicationState.FINISHED);
    assertThat(report.getFinalApplicationStatus()).isEqualTo(FinalApplicationStatus.SUCCEEDED);
    List<List<String>> lines = new ArrayList<>(CLUSTER.readOutputs("/it/executor/out", "batch-").values());
    assertThat(lines).containsExactlyElementsOf(
        Demo.expectedLines(LINES, VOCABULARY, batches).stream().map(List::of).toList());
  }

  @Test
  void zombieAmLeftRunningByFailAttemptCommitsNothingAndExits() throws Exception {
    int batches = 8;
    ApplicationId id = CLUSTER.submit(GeneratedWordCount.class.getName(), "/it/zombie/checkpoint", 2, 4,
        Map.of("workload.R", Long.toString(LINES), "workload.K", Long.toString(VOCABULARY),
            "output.dir", "/it/zombie/out", "sluice.stop.afterBatches", Integer.toString(batches)));
    Awaitility.await().atMost(java.time.Duration.ofSeconds(90))
        .until(() -> CLUSTER.readOutputs("/it/zombie/out", "batch-").size() >= 3);
    ApplicationAttemptId first = CLUSTER.client().report(id).getCurrentApplicationAttemptId();
    ProcessHandle zombie = ContainerProcesses.am(first).orElseThrow();

    CLUSTER.client().yarn().failApplicationAttempt(first);

    Awaitility.await().atMost(java.time.Duration.ofSeconds(60)).until(() -> !zombie.isAlive());
    ApplicationReport report = CLUSTER.awaitState(id, YarnApplicationState.FINISHED);
    assertThat(report.getFinalApplicationStatus()).isEqualTo(FinalApplicationStatus.SUCCEEDED);
    assertThat(report.getCurrentApplicationAttemptId().getAttemptId()).isGreaterThan(first.getAttemptId());
    List<List<String>> lines = new ArrayList<>(CLUSTER.readOutputs("/it/zombie/out", "batch-").values());
    assertThat(lines).containsExactlyElementsOf(
        Demo.expectedLines(LINES, VOCABULARY, batches).stream().map(List::of).toList());
  }

  @Test
  void newestMetadataTruncatedBetweenAttemptsFallsBackToThePreviousFile() throws Exception {
    int batches = 8;
    String checkpoint = "/it/truncated/checkpoint";
    ApplicationId id = CLUSTER.submit(GeneratedWordCount.class.getName(), checkpoint, 2, 4,
        Map.of("workload.R", Long.toString(LINES), "workload.K", Long.toString(VOCABULARY),
            "output.dir", "/it/truncated/out", "sluice.stop.afterBatches", Integer.toString(batches),
            "workload.checkpointInterval", "2s"));
    Awaitility.await().atMost(java.time.Duration.ofSeconds(90))
        .until(() -> CLUSTER.readOutputs("/it/truncated/out", "batch-").size() >= 4);
    ApplicationAttemptId first = CLUSTER.client().report(id).getCurrentApplicationAttemptId();
    ContainerProcesses.killHard(ContainerProcesses.am(first).orElseThrow());

    org.apache.hadoop.fs.Path newest = new io.sluice.checkpoint.MetadataStore(CLUSTER.fs(),
        new org.apache.hadoop.fs.Path(checkpoint), 10).list().get(0);
    byte[] whole;
    try (var in = CLUSTER.fs().open(newest)) {
      whole = in.readAllBytes();
    }
    try (var out = CLUSTER.fs().create(newest, true)) {
      out.write(whole, 0, whole.length / 2);
    }

    ApplicationReport report = CLUSTER.awaitState(id, YarnApplicationState.FINISHED);
    assertThat(report.getFinalApplicationStatus()).isEqualTo(FinalApplicationStatus.SUCCEEDED);
    List<List<String>> lines = new ArrayList<>(CLUSTER.readOutputs("/it/truncated/out", "batch-").values());
    assertThat(lines).containsExactlyElementsOf(
        Demo.expectedLines(LINES, VOCABULARY, batches).stream().map(List::of).toList());
    assertThat(amLogOf(id, 2)).contains("metadata checkpoint " + CLUSTER.fs().makeQualified(newest) + " is unusable");
  }

  /** The stderr of an attempt's AM container, where its log goes. */
  private static String amLogOf(ApplicationId id, int attempt) throws java.io.IOException {
    String container = String.format("container_%d_%04d_%02d_000001", id.getClusterTimestamp(), id.getId(), attempt);
    try (var files = java.nio.file.Files.walk(java.nio.file.Path.of("target", "test", "data"))) {
      java.nio.file.Path log = files.filter(p -> p.getFileName().toString().equals("stderr")
          && p.getParent().getFileName().toString().equals(container)).findFirst().orElseThrow();
      return java.nio.file.Files.readString(log);
    }
  }

  private static void killAmAfterBatches(ApplicationId id, int committed) throws Exception {
    Awaitility.await().atMost(java.time.Duration.ofSeconds(90))
        .until(() -> CLUSTER.readOutputs("/it/recovery/out", "batch-").size() >= committed);
    ApplicationAttemptId attempt = CLUSTER.client().report(id).getCurrentApplicationAttemptId();
    ProcessHandle am = ContainerProcesses.am(attempt).orElseThrow(() -> new AssertionError("no AM process for " + attempt));
    ContainerProcesses.killHard(am);
    Awaitility.await().atMost(java.time.Duration.ofSeconds(60)).until(() ->
        CLUSTER.client().report(id).getCurrentApplicationAttemptId().getAttemptId() > attempt.getAttemptId());
  }
}
