package io.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.examples.GeneratedWordCount;
import io.sluice.source.WordGenerator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.yarn.api.records.ApplicationAttemptId;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The AM process is killed for real; YARN restarts it and the job goes on from its checkpoint. */
class DriverRecoveryIT {
  @RegisterExtension static final YarnClusterExtension CLUSTER = new YarnClusterExtension();

  private static final long LINES = 2_000;
  private static final long VOCABULARY = 300;

  @Test
  void amKilledTwiceWithKillDashNineLosesAndRepeatsNoBatch() throws Exception {
    int batches = 12;
    ApplicationId id = CLUSTER.submit(GeneratedWordCount.class.getName(), "/it/recovery/checkpoint", 2, 4,
        Map.of("workload.R", Long.toString(LINES), "workload.K", Long.toString(VOCABULARY),
            "output.dir", "/it/recovery/out", "sluice.stop.afterBatches", Integer.toString(batches)));

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
    for (int b = 0; b < batches; b++) {
      assertThat(lines.get(b)).as("batch " + b).containsExactly(expected(b));
    }
    assertThat(CLUSTER.fs().listStatus(new org.apache.hadoop.fs.Path("/it/recovery/out")))
        .extracting(s -> s.getPath().getName()).allMatch(n -> n.startsWith("batch-"));
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

  private static String expected(int batch) {
    Set<String> distinct = new HashSet<>();
    for (long j = 0; j < LINES; j++) {
      distinct.addAll(Arrays.asList(WordGenerator.line(batch, j, VOCABULARY).split(" ")));
    }
    return GeneratedWordCount.expectedLine(batch, distinct.size(), 10 * LINES);
  }
}
