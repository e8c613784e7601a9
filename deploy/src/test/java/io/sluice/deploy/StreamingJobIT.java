package io.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.sluice.api.SluiceException;
import io.sluice.examples.GeneratedWordCount;
import io.sluice.examples.WordCount;
import io.sluice.proto.ControlServiceGrpc;
import io.sluice.proto.StageStats;
import io.sluice.proto.StatusRequest;
import io.sluice.proto.StatusResponse;
import com.google.protobuf.util.JsonFormat;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import io.sluice.rpc.AppSecret;
import io.sluice.rpc.RpcChannels;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.security.Credentials;
import org.apache.hadoop.security.token.Token;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.security.AMRMTokenIdentifier;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Jobs submitted to a real MiniDFSCluster + MiniYARNCluster, checked by their committed outputs. */
class StreamingJobIT {
  @RegisterExtension static final YarnClusterExtension CLUSTER = new YarnClusterExtension();

  @Test
  void wordCountOverFilesDroppedIntoHdfsCountsEveryFileOnceExactly() throws Exception {
    Map<String, String> files = Map.of(
        "a.txt", "the quick brown fox\njumps over the lazy dog\n",
        "b.txt", "the dog barks\n\nthe fox runs\n");
    for (var f : files.entrySet()) {
      CLUSTER.writeFile("/it/wc/in/" + f.getKey(), f.getValue());
    }
    ApplicationId id = CLUSTER.submit(WordCount.class.getName(), "/it/wc/checkpoint", 2,
        Map.of("input.dir", "/it/wc/in", "output.dir", "/it/wc/out", "sluice.stop.afterBatches", "5"));
    Awaitility.await().atMost(java.time.Duration.ofSeconds(90))
        .until(() -> !CLUSTER.readOutputs("/it/wc/out", "counts-").isEmpty());
    String late = "late words arrive late\n";
    CLUSTER.writeFile("/it/wc/in/c.txt", late);

    ApplicationReport report = CLUSTER.awaitState(id, YarnApplicationState.FINISHED);
    assertThat(report.getFinalApplicationStatus()).isEqualTo(FinalApplicationStatus.SUCCEEDED);
    Map<String, List<String>> outputs = CLUSTER.readOutputs("/it/wc/out", "counts-");
    assertThat(outputs).hasSize(5);
    List<List<String>> batches = new ArrayList<>(outputs.values());
    List<String> before = expectedCounts(files.get("a.txt"), files.get("b.txt"));
    List<String> after = expectedCounts(files.get("a.txt"), files.get("b.txt"), late);
    assertThat(sorted(batches.get(0))).as("running counts after the first batch").isEqualTo(before);
    assertThat(sorted(batches.get(4))).as("running counts at the end").isEqualTo(after);
    int firstAfter = 0;
    while (sorted(batches.get(firstAfter)).equals(before)) {
      firstAfter++;
    }
    for (int b = firstAfter; b < 5; b++) {
      assertThat(sorted(batches.get(b))).as("batch " + b + " counts the late file once").isEqualTo(after);
    }
    assertThat(CLUSTER.fs().listStatus(new org.apache.hadoop.fs.Path("/it/wc/out"))).extracting(s -> s.getPath().getName())
        .allMatch(n -> n.startsWith("counts-"));
  }

  @Test
  void generatedWordCountCommitsExactRunningTotalsEveryBatchAndCheckpointShowReadsTheMetadata() throws Exception {
    long lines = 5_000;
    long vocabulary = 500;
    ApplicationId id = CLUSTER.submit(GeneratedWordCount.class.getName(), "/it/gen/checkpoint", 2,
        Map.of("workload.R", Long.toString(lines), "workload.K", Long.toString(vocabulary),
            "output.dir", "/it/gen/out", "sluice.stop.afterBatches", "4"));
    assertThat(CLUSTER.awaitState(id, YarnApplicationState.FINISHED).getFinalApplicationStatus())
        .isEqualTo(FinalApplicationStatus.SUCCEEDED);

    List<List<String>> batches = new ArrayList<>(CLUSTER.readOutputs("/it/gen/out", "batch-").values());
    assertThat(batches).hasSize(4);
    List<String> expected = Demo.expectedLines(lines, vocabulary, 4);
    for (int b = 0; b < 4; b++) {
      assertThat(batches.get(b)).containsExactly(expected.get(b));
    }

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int code = SluiceCli.run(new String[] {"checkpoint", "show", "/it/gen/checkpoint"}, new PrintStream(out, true),
        System.err, CLUSTER::conf);
    String shown = out.toString(StandardCharsets.UTF_8);
    assertThat(code).isZero();
    assertThat(shown).contains("application    " + id).contains("completed      4 batches")
        .contains("pending        0 batches").contains("keys-and-total");
  }

  @Test
  void runningJobServesStatusAndItsPageButRpcOnlyWithItsSecretAndExecutorsNeverGetTheAmrmToken() throws Exception {
    ApplicationId id = CLUSTER.submit(GeneratedWordCount.class.getName(), "/it/sec/checkpoint", 2,
        Map.of("workload.R", "1000", "workload.K", "100", "output.dir", "/it/sec/out"));
    CLUSTER.awaitState(id, YarnApplicationState.RUNNING);
    Awaitility.await().atMost(java.time.Duration.ofSeconds(60))
        .until(() -> CLUSTER.readOutputs("/it/sec/out", "batch-").size() >= 2);

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertThat(SluiceCli.run(new String[] {"status", id.toString()}, new PrintStream(out, true), System.err,
        CLUSTER::conf)).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("RUNNING").contains("epoch 1").contains("executors   2")
        .contains("delays      processing ").contains("stages      input ").contains("(slowest task m-")
        .contains("+counts ").contains("checkpoint  hdfs://")
        .contains("state       counts: 100 keys in 2 partitions, 100 changed by the last batch; ");

    // MiniYARNCluster's ResourceManager writes proxy URLs with the port it was configured with (0),
    // not the one its web server got; a real cluster's are whole.
    String page = CLUSTER.client().report(id).getTrackingUrl().replace(":0/",
        ":" + CLUSTER.conf().get(YarnConfiguration.RM_WEBAPP_ADDRESS).split(":")[1] + "/");
    assertThat(page).contains("/proxy/" + id);
    HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).build();
    String html = http.send(HttpRequest.newBuilder(URI.create(page)).build(), HttpResponse.BodyHandlers.ofString()).body();
    assertThat(html).contains("<h1>Sluice " + id + "</h1>").contains("<table id=\"status\">")
        .contains("<th>state</th><td>RUNNING</td>").contains("<svg id=\"batch-chart\"").contains("<rect ")
        .contains("<th>stages of the last batch</th><td>input ")
        .contains("<th>state counts</th><td>100 keys in 2 partitions, 100 changed by the last batch; ");
    if (HeadlessChromium.isInstalled()) {
      // The same page as a browser renders it, through the ResourceManager's proxy.
      String dom = HeadlessChromium.dumpDom(page);
      assertThat(dom).contains("<h1>Sluice " + id + "</h1>").contains("<th>state</th><td>RUNNING</td>")
          .contains("<svg id=\"batch-chart\"").contains("<rect ");
    }
    String json = http.send(HttpRequest.newBuilder(URI.create(page + "json")).build(), HttpResponse.BodyHandlers.ofString())
        .body();
    StatusResponse.Builder parsed = StatusResponse.newBuilder();
    JsonFormat.parser().merge(json, parsed);
    assertThat(parsed.getApplicationId()).isEqualTo(id.toString());
    assertThat(parsed.getEpoch()).isEqualTo(1);
    assertThat(parsed.getBatchesCompleted()).isPositive();
    assertThat(parsed.getRecentBatchesList()).isNotEmpty().allMatch(b -> b.getProcessingMs() >= 0 && b.getTasks() > 0);
    // The source tasks, the shuffle's reduce tasks that update the state, the output's reduce task.
    assertThat(parsed.getRecentBatchesList()).allSatisfy(b -> {
      assertThat(b.getStagesList()).hasSize(3);
      assertThat(b.getStages(0).getName()).isEqualTo("input");
      assertThat(b.getStages(0).getSlowestTaskId()).startsWith("m-");
      assertThat(b.getStages(1).getName()).endsWith("+counts");
      assertThat(b.getStages(1).getSlowestTaskId()).startsWith("r-");
      assertThat(b.getStagesList().stream().mapToInt(StageStats::getTasks).sum()).isEqualTo(b.getTasks());
    });
    assertThat(parsed.getCheckpointBytes()).isPositive();

    ApplicationReport report = CLUSTER.client().report(id);
    ManagedChannel channel = RpcChannels.channel(report.getHost() + ":" + report.getRpcPort());
    try {
      var plain = ControlServiceGrpc.newBlockingStub(channel);
      assertThatThrownBy(() -> plain.getStatus(StatusRequest.getDefaultInstance()))
          .isInstanceOf(StatusRuntimeException.class).hasMessageContaining("UNAUTHENTICATED");
      var wrong = plain.withCallCredentials(AppSecret.generate(new SecureRandom()).callCredentials());
      assertThatThrownBy(() -> wrong.getStatus(StatusRequest.getDefaultInstance()))
          .hasMessageContaining("UNAUTHENTICATED");
    } finally {
      channel.shutdownNow();
    }

    Map<String, Credentials> byContainer = containerCredentials(id);
    assertThat(byContainer).hasSizeGreaterThanOrEqualTo(3);
    byContainer.forEach((container, creds) -> {
      assertThat(creds.getSecretKey(AppSecret.CREDENTIALS_KEY)).as(container).hasSize(32);
      boolean hasAmrm = creds.getAllTokens().stream().map(Token::getKind).anyMatch(AMRMTokenIdentifier.KIND_NAME::equals);
      assertThat(hasAmrm).as("AMRM token in " + container).isEqualTo(container.endsWith("_000001"));
    });

    assertThat(SluiceCli.run(new String[] {"kill", id.toString()}, System.out, System.err, CLUSTER::conf)).isZero();
    assertThat(CLUSTER.awaitState(id, YarnApplicationState.KILLED).getYarnApplicationState())
        .isEqualTo(YarnApplicationState.KILLED);
  }

  @Test
  void gracefulStopCommitsEveryPlannedBatchAndANewSubmissionResumesOnTheSameCheckpoint() throws Exception {
    assertStopEndsCleanly("/it/graceful", true);
    int before = CLUSTER.readOutputs("/it/graceful/out", "batch-").size();
    ApplicationId next = CLUSTER.submit(GeneratedWordCount.class.getName(), "/it/graceful/checkpoint", 2,
        Map.of("workload.R", "1000", "workload.K", "100", "output.dir", "/it/graceful/out",
            "sluice.stop.afterBatches", Integer.toString(before + 3)));
    assertThat(CLUSTER.awaitState(next, YarnApplicationState.FINISHED).getFinalApplicationStatus())
        .isEqualTo(FinalApplicationStatus.SUCCEEDED);
    List<List<String>> committed = new ArrayList<>(CLUSTER.readOutputs("/it/graceful/out", "batch-").values());
    assertThat(committed).as("running totals go on where the stopped job left them").containsExactlyElementsOf(
        Demo.expectedLines(1000, 100, before + 3).stream().map(List::of).toList());
  }

  @Test
  void sigtermWithStopGracefullyOnShutdownDrainsAndSucceeds() throws Exception {
    String dir = "/it/sigterm";
    ApplicationId id = CLUSTER.submit(GeneratedWordCount.class.getName(), dir + "/checkpoint", 2,
        Map.of("workload.R", "1000", "workload.K", "100", "output.dir", dir + "/out",
            "sluice.streaming.stopGracefullyOnShutdown", "true"));
    Awaitility.await().atMost(java.time.Duration.ofSeconds(90))
        .until(() -> CLUSTER.readOutputs(dir + "/out", "batch-").size() >= 3);
    ProcessHandle am = ContainerProcesses.am(CLUSTER.client().report(id).getCurrentApplicationAttemptId()).orElseThrow();
    assertThat(am.destroy()).as("SIGTERM sent").isTrue();

    ApplicationReport report = CLUSTER.awaitState(id, YarnApplicationState.FINISHED);
    assertThat(report.getFinalApplicationStatus()).isEqualTo(FinalApplicationStatus.SUCCEEDED);
    assertThat(report.getCurrentApplicationAttemptId().getAttemptId()).isEqualTo(1);
    var checkpoint = new io.sluice.checkpoint.MetadataStore(CLUSTER.fs(), new org.apache.hadoop.fs.Path(dir + "/checkpoint"),
        10).readNewestValid(w -> {}).orElseThrow().checkpoint();
    assertThat(checkpoint.getPendingBatchesCount()).isZero();
    List<List<String>> committed = new ArrayList<>(CLUSTER.readOutputs(dir + "/out", "batch-").values());
    assertThat(committed).hasSize((int) checkpoint.getBatchesCompleted()).containsExactlyElementsOf(
        Demo.expectedLines(1000, 100, committed.size()).stream().map(List::of).toList());
  }

  /**
   * The guide's second upgrade path: the new version runs beside the old one on a new checkpoint
   * directory, reading the same input, and the old one is stopped once the new one keeps up.
   */
  @Test
  void newVersionBesideTheOldOneOnANewCheckpointTakesOverTheSameInput() throws Exception {
    String first = "red green blue\n";
    String second = "green blue blue\n";
    CLUSTER.writeFile("/it/side/in/1.txt", first);
    ApplicationId old = CLUSTER.submit(WordCount.class.getName(), "/it/side/checkpoint-v1", 1,
        Map.of("input.dir", "/it/side/in", "output.dir", "/it/side/out-v1"));
    Awaitility.await().atMost(java.time.Duration.ofSeconds(90))
        .until(() -> !CLUSTER.readOutputs("/it/side/out-v1", "counts-").isEmpty());

    ApplicationId upgraded = CLUSTER.submit(WordCount.class.getName(), "/it/side/checkpoint-v2", 1,
        Map.of("input.dir", "/it/side/in", "output.dir", "/it/side/out-v2"));
    Awaitility.await().atMost(java.time.Duration.ofSeconds(90))
        .until(() -> !CLUSTER.readOutputs("/it/side/out-v2", "counts-").isEmpty());
    CLUSTER.writeFile("/it/side/in/2.txt", second);
    List<String> both = expectedCounts(first, second);
    Awaitility.await().atMost(java.time.Duration.ofSeconds(60)).until(() -> lastBatch("/it/side/out-v2").equals(both)
        && lastBatch("/it/side/out-v1").equals(both));
    assertThat(SluiceCli.run(new String[] {"stop", old.toString(), "--graceful"}, System.out, System.err,
        CLUSTER::conf)).isZero();

    assertThat(CLUSTER.client().report(old).getFinalApplicationStatus()).isEqualTo(FinalApplicationStatus.SUCCEEDED);
    assertThat(CLUSTER.client().report(upgraded).getYarnApplicationState()).isEqualTo(YarnApplicationState.RUNNING);
    assertThat(CLUSTER.readOutputs("/it/side/out-v2", "counts-").values()).as("the new version counted every file once")
        .allMatch(batch -> sorted(batch).equals(expectedCounts(first)) || sorted(batch).equals(both));
    CLUSTER.client().kill(upgraded);
  }

  private static List<String> lastBatch(String dir) throws IOException {
    List<List<String>> batches = new ArrayList<>(CLUSTER.readOutputs(dir, "counts-").values());
    return batches.isEmpty() ? List.of() : sorted(batches.get(batches.size() - 1));
  }

  @Test
  void immediateStopEndsAfterTheRunningBatchAndSucceeds() throws Exception {
    assertStopEndsCleanly("/it/immediate", false);
  }

  /**
   * Stops a job and checks its outputs and its checkpoint: the snapshots of the last batch, which
   * no later task reported, are recorded, so that the next start replays nothing. The job stopped
   * at once snapshots its state every batch; the one stopped gracefully at the default interval (10
   * batches), so its stop ends with a batch that snapshots.
   */
  private static void assertStopEndsCleanly(String dir, boolean graceful) throws Exception {
    Map<String, String> conf = new HashMap<>(
        Map.of("workload.R", "1000", "workload.K", "100", "output.dir", dir + "/out"));
    if (!graceful) {
      conf.put("workload.checkpointInterval", "1s");
    }
    ApplicationId id = CLUSTER.submit(GeneratedWordCount.class.getName(), dir + "/checkpoint", 2, conf);
    Awaitility.await().atMost(java.time.Duration.ofSeconds(90))
        .until(() -> CLUSTER.readOutputs(dir + "/out", "batch-").size() >= 3);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    String[] args = graceful ? new String[] {"stop", id.toString(), "--graceful"} : new String[] {"stop", id.toString()};
    assertThat(SluiceCli.run(args, new PrintStream(out, true), System.err, CLUSTER::conf)).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("stopped " + id + ": SUCCEEDED");

    ApplicationReport report = CLUSTER.client().report(id);
    assertThat(report.getFinalApplicationStatus()).isEqualTo(FinalApplicationStatus.SUCCEEDED);
    assertThat(report.getCurrentApplicationAttemptId().getAttemptId()).as("a stop is not a failed attempt").isEqualTo(1);
    var checkpoint = new io.sluice.checkpoint.MetadataStore(CLUSTER.fs(), new org.apache.hadoop.fs.Path(dir + "/checkpoint"),
        10).readNewestValid(w -> {}).orElseThrow().checkpoint();
    List<List<String>> committed = new ArrayList<>(CLUSTER.readOutputs(dir + "/out", "batch-").values());
    assertThat(committed).hasSize((int) checkpoint.getBatchesCompleted());
    if (graceful) {
      assertThat(checkpoint.getPendingBatchesCount()).as("every planned batch committed").isZero();
    }
    assertThat(checkpoint.getStateSnapshotsList()).as("snapshots of the last batch recorded").isNotEmpty()
        .allMatch(s -> s.getBatchTimeMs() == checkpoint.getLastCompletedBatchMs());
    assertThat(checkpoint.getReplayLogList()).as("nothing to replay on the next start").isEmpty();
    assertThat(committed).containsExactlyElementsOf(
        Demo.expectedLines(1000, 100, committed.size()).stream().map(List::of).toList());
  }

  @Test
  void failedSubmissionLeavesNothingBehindInHdfs() throws Exception {
    CLUSTER.writeFile("/it/blocker", "a file where a directory should be");
    org.apache.hadoop.fs.Path staging = new org.apache.hadoop.fs.Path(CLUSTER.fs().getHomeDirectory(), ".sluice");
    int before = CLUSTER.fs().exists(staging) ? CLUSTER.fs().listStatus(staging).length : 0;
    assertThatThrownBy(() -> CLUSTER.submit(WordCount.class.getName(), "/it/blocker/checkpoint", 2,
        Map.of("input.dir", "/it/x", "output.dir", "/it/y")))
        .isInstanceOf(SluiceException.class).hasMessageContaining("/it/blocker/checkpoint is not writable");
    int after = CLUSTER.fs().exists(staging) ? CLUSTER.fs().listStatus(staging).length : 0;
    assertThat(after).isEqualTo(before);
  }

  /** The credentials each running container of {@code id} was launched with, by container id. */
  private static Map<String, Credentials> containerCredentials(ApplicationId id) throws IOException {
    String prefix = "container_" + id.getClusterTimestamp() + "_" + String.format("%04d", id.getId()) + "_";
    Map<String, Credentials> found = new TreeMap<>();
    for (Map.Entry<String, Path> tokens : YarnClusterExtension.containerFiles("container_tokens").entrySet()) {
      if (tokens.getKey().startsWith(prefix)) {
        found.put(tokens.getKey(), Credentials.readTokenStorageFile(
            new org.apache.hadoop.fs.Path(tokens.getValue().toUri()), CLUSTER.conf()));
      }
    }
    return found;
  }

  private static List<String> expectedCounts(String... texts) {
    Map<String, Long> counts = new TreeMap<>();
    for (String text : texts) {
      for (String w : text.split("\\s+")) {
        if (!w.isEmpty()) {
          counts.merge(w, 1L, Long::sum);
        }
      }
    }
    return sorted(counts.entrySet().stream().map(e -> "(" + e.getKey() + "," + e.getValue() + ")").toList());
  }

  private static List<String> sorted(List<String> lines) {
    return lines.stream().sorted().toList();
  }
}
