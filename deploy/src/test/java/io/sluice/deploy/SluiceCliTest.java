package io.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.checkpoint.MetadataStore;
import io.sluice.proto.BatchRecord;
import io.sluice.proto.BatchStats;
import io.sluice.proto.GeneratorInput;
import io.sluice.proto.InputDescriptor;
import io.sluice.proto.MetadataCheckpoint;
import io.sluice.proto.StageStats;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.jar.JarOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input on the command line: one clear line and a non-zero exit, no cluster needed. */
class SluiceCliTest {
  @TempDir Path tmp;
  private Path emptyJar;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();
  private final Configuration conf = new YarnConfiguration();

  @BeforeEach
  void setUp() throws Exception {
    emptyJar = tmp.resolve("app.jar");
    new JarOutputStream(Files.newOutputStream(emptyJar)).close();
    // A closed port: nothing listens there.
    conf.set(YarnConfiguration.RM_ADDRESS, "localhost:1");
    conf.set(YarnConfiguration.RESOURCEMANAGER_CONNECT_MAX_WAIT_MS, "2000");
    conf.set(YarnConfiguration.RESOURCEMANAGER_CONNECT_RETRY_INTERVAL_MS, "500");
  }

  private int run(String... args) {
    return SluiceCli.run(args, new PrintStream(out, true), new PrintStream(err, true), () -> conf);
  }

  private String error() {
    String e = err.toString(StandardCharsets.UTF_8).strip();
    assertThat(e.lines()).as("one line: " + e).hasSize(1);
    return e;
  }

  @Test
  void missingJar() {
    assertThat(run("submit", "--jar", tmp.resolve("nope.jar").toString(), "--class", "x.Y")).isEqualTo(1);
    assertThat(error()).isEqualTo("sluice: application jar " + tmp.resolve("nope.jar") + " does not exist; check --jar");
  }

  @Test
  void unknownClass() {
    assertThat(run("submit", "--jar", emptyJar.toString(), "--class", "com.example.Missing")).isEqualTo(1);
    assertThat(error()).isEqualTo("sluice: class com.example.Missing is not in the application jar; check --class and --jar");
  }

  @Test
  void classThatIsNotAStreamingApp() {
    assertThat(run("submit", "--jar", emptyJar.toString(), "--class", "java.lang.String")).isEqualTo(1);
    assertThat(error()).isEqualTo("sluice: class java.lang.String does not implement io.sluice.api.StreamingApp");
  }

  @Test
  void unknownOption() {
    assertThat(run("submit", "--jar", emptyJar.toString(), "--class", "C", "--executers", "2")).isEqualTo(2);
    assertThat(error()).startsWith("sluice: Unknown options: '--executers'").contains("sluice submit --help");
  }

  @Test
  void everyCommandExplainsItselfWithHelp() {
    for (String command : List.of("submit", "status", "stop", "kill", "check-upgrade", "checkpoint show",
        "minicluster", "demo", "bench")) {
      out.reset();
      assertThat(run((command + " --help").split(" "))).as(command).isZero();
      assertThat(out.toString()).as(command).startsWith("Usage: sluice " + command + " ");
    }
    out.reset();
    assertThat(run("help", "bench")).isZero();
    assertThat(out.toString()).startsWith("Usage: sluice bench").contains("--operator");
  }

  @Test
  void aMissingArgumentPointsToTheFullCommandsHelp() {
    assertThat(run("checkpoint", "show")).isEqualTo(2);
    assertThat(error()).isEqualTo("sluice: Missing required parameter: 'DIR' (see: sluice checkpoint show --help)");
  }

  @Test
  void malformedValues() {
    assertThat(run("submit", "--jar", emptyJar.toString(), "--class", "C", "--batch-interval", "fast")).isEqualTo(1);
    assertThat(error()).isEqualTo("sluice: --batch-interval=fast is not a duration (examples: 500ms, 2s, 5m, 1h)");
    err.reset();
    assertThat(run("submit", "--jar", emptyJar.toString(), "--class", "C", "--executors", "two")).isEqualTo(2);
    assertThat(error()).contains("'two' is not an int");
    err.reset();
    assertThat(run("submit", "--jar", emptyJar.toString(), "--class", "C", "--executor-memory", "lots")).isEqualTo(1);
    assertThat(error()).isEqualTo("sluice: --executor-memory lots is not a memory size (examples: 512m, 2g)");
    err.reset();
    assertThat(run("bench", "--batches", "101")).isEqualTo(1);
    assertThat(error()).isEqualTo("sluice: --batches can be at most 100, got 101: the benchmark reads the batches' "
        + "times from the metadata, which keeps the last 100");
    err.reset();
    assertThat(run("bench", "--lines", "50000,0")).isEqualTo(1);
    assertThat(error()).isEqualTo("sluice: --lines values must be at least 1, got 0");
    err.reset();
    assertThat(run("bench", "--vocabulary", "0")).isEqualTo(1);
    assertThat(error()).isEqualTo("sluice: --vocabulary values must be at least 1, got 0");
    err.reset();
    assertThat(run("bench", "--checkpoint-settings", "A,C")).isEqualTo(1);
    assertThat(error()).isEqualTo("sluice: checkpoint setting C is not A (default interval) or B (every batch)");
    err.reset();
    assertThat(run("bench", "--vocabulary", "10000", "--state-probe")).isEqualTo(1);
    assertThat(error()).isEqualTo("sluice: --state-probe needs two --vocabulary values: the batches' words come from "
        + "the smaller, the state is seeded with the larger");
    err.reset();
    assertThat(run("bench", "--operator", "reduceByKeyAndWindow")).isEqualTo(1);
    assertThat(error()).isEqualTo("sluice: --operator must be updateStateByKey or mapWithState, got reduceByKeyAndWindow");
    err.reset();
    assertThat(run("bench", "--idle-timeout", "60s")).isEqualTo(1);
    assertThat(error()).isEqualTo("sluice: --idle-timeout needs --operator mapWithState: updateStateByKey has no idle "
        + "timeout");
    err.reset();
    assertThat(run("bench", "--operator", "mapWithState", "--idle-timeout", "soon")).isEqualTo(1);
    assertThat(error()).startsWith("sluice: --idle-timeout=soon is not a duration");
    err.reset();
    assertThat(run("bench", "--conf", "workload.K=5")).isEqualTo(1);
    assertThat(error()).isEqualTo("sluice: --conf workload.K is set by the benchmark itself; give only other settings");
    err.reset();
    assertThat(run("bench", "--spark-reference")).isEqualTo(1);
    assertThat(error()).isEqualTo("sluice: --spark-reference runs deploy/bin/spark-reference: run the bench with "
        + "deploy/bin/sluice from a checkout");
  }

  @Test
  void missingSettingOfTheApplication() {
    assertThat(run("submit", "--jar", emptyJar.toString(), "--class", "io.sluice.examples.WordCount")).isEqualTo(1);
    assertThat(error()).isEqualTo("sluice: setting input.dir is missing; pass it with --conf input.dir=...");
  }

  @Test
  void unreachableResourceManager() {
    assertThat(run("submit", "--jar", emptyJar.toString(), "--class", "io.sluice.examples.WordCount",
        "--checkpoint", "/cp", "--conf", "input.dir=/in", "--conf", "output.dir=/out")).isEqualTo(1);
    assertThat(error()).startsWith("sluice: cannot reach the ResourceManager at localhost:1");
  }

  @Test
  void statefulApplicationWithoutCheckpointDirectory() {
    assertThat(run("submit", "--jar", emptyJar.toString(), "--class", "io.sluice.examples.WordCount",
        "--conf", "input.dir=/in", "--conf", "output.dir=/out")).isEqualTo(1);
    assertThat(error()).isEqualTo("sluice: operator counts keeps state, which needs a checkpoint directory: call "
        + "ctx.checkpoint(dir) or submit with --checkpoint DIR");
  }

  @Test
  void malformedApplicationId() {
    assertThat(run("status", "app-42")).isEqualTo(1);
    assertThat(error()).contains("\"app-42\" is not an application id");
  }

  @Test
  void checkpointShowPrintsTheNewestMetadataReadably() throws Exception {
    FileSystem fs = FileSystem.getLocal(new Configuration()).getRawFileSystem();
    MetadataStore store = new MetadataStore(fs, new org.apache.hadoop.fs.Path(tmp.toUri()), 3);
    store.write(MetadataCheckpoint.newBuilder().setApplicationId("application_1_0001").setEpoch(2).setSequence(7)
        .setBatchesCompleted(5).setLastCompletedBatchMs(6000).setStartTimeMs(1000).setBatchIntervalMs(1000)
        .addRecentBatches(BatchStats.newBuilder().setBatchTimeMs(5000).setProcessingMs(640).setSchedulingDelayMs(12)
            .setEpoch(1).setSnapshotTaken(true))
        .addRecentBatches(BatchStats.newBuilder().setBatchTimeMs(6000).setProcessingMs(1210).setSchedulingDelayMs(3400)
            .setEpoch(2).addStages(StageStats.newBuilder().setName("input").setTasks(2).setWallMs(700)
                .setSlowestTaskId("m-generatorSource-0-1").setSlowestTaskMs(690))
            .addStages(StageStats.newBuilder().setName("shuffle-3+counts").setTasks(2).setWallMs(480)
                .setSlowestTaskId("r-shuffle-3-0").setSlowestTaskMs(470)))
        .addPendingBatches(BatchRecord.newBuilder().setBatchTimeMs(7000).setEpoch(2).addInputs(InputDescriptor
            .newBuilder().setSourceId("generatorSource-0").setGenerator(GeneratorInput.newBuilder().setBatchIndex(5)
                .setLines(100).setVocabulary(10).setPartitions(2))))
        .build());
    assertThat(run("checkpoint", "show", tmp.toUri().toString())).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8))
        .contains("application    application_1_0001")
        .contains("epoch          2")
        .contains("completed      5 batches, last 6000")
        .contains("  batch 5000: processing 640 ms, scheduling delay 12 ms, epoch 1, took a snapshot\n"
            + "  batch 6000: processing 1210 ms, scheduling delay 3400 ms, epoch 2\n"
            + "    stages: input 700 ms (slowest task m-generatorSource-0-1: 690 ms); shuffle-3+counts 480 ms "
            + "(slowest task r-shuffle-3-0: 470 ms)\npending")
        .contains("batch 7000, planned by epoch 2")
        .contains("generatorSource-0: generator batch 5, 100 lines, 10 words, 2 partitions");
  }

  @Test
  void checkUpgradeTellsWhetherNewCodeCanResumeAndWhyNot() throws Exception {
    Files.createDirectories(tmp.resolve("in"));
    Files.writeString(tmp.resolve("in/a.txt"), "a b a\n");
    Map<String, String> settings = Map.of("input.dir", tmp.resolve("in").toString(),
        "output.dir", tmp.resolve("out").toString(), "sluice.checkpoint.dir", tmp.resolve("cp").toString());
    try (var job = io.sluice.local.LocalRunner.start(new io.sluice.examples.WordCount(), settings)) {
      job.runBatches(2);
    }
    String[] common = {"check-upgrade", "--checkpoint", tmp.resolve("cp").toUri().toString(), "--jar", emptyJar.toString(),
        "--class", "io.sluice.examples.WordCount", "--conf", "input.dir=/in", "--conf", "output.dir=/out"};
    assertThat(run(common)).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).startsWith("compatible: io.sluice.examples.WordCount resumes from "
        + "metadata-").contains("as epoch 2, after 2 completed batches");
    out.reset();
    String[] repartitioned = java.util.Arrays.copyOf(common, common.length + 2);
    repartitioned[common.length] = "--conf";
    repartitioned[common.length + 1] = "sluice.default.parallelism=3";
    assertThat(run(repartitioned)).isEqualTo(1);
    assertThat(out.toString(StandardCharsets.UTF_8)).startsWith("incompatible: stateful operator counts differs: now "
        + "updateStateByKey partitions=3").contains("new checkpoint directory")
        .contains("--conf sluice.upgrade.freshState=counts to start its state empty");
    out.reset();
    String[] fresh = java.util.Arrays.copyOf(repartitioned, repartitioned.length + 2);
    fresh[repartitioned.length] = "--conf";
    fresh[repartitioned.length + 1] = "sluice.upgrade.freshState=counts";
    assertThat(run(fresh)).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).startsWith("compatible: ").contains("the state of counts starts empty");
    fresh[repartitioned.length + 1] = "sluice.upgrade.freshState=typo";
    assertThat(run(fresh)).isNotZero();
    assertThat(error()).isEqualTo("sluice: sluice.upgrade.freshState names typo, which is no stateful operator of the "
        + "application or of the checkpoint");
  }

  @Test
  void checkpointShowOfAnEmptyDirectorySaysSo() throws Exception {
    assertThat(run("checkpoint", "show", tmp.toUri().toString())).isEqualTo(1);
    assertThat(error()).isEqualTo("sluice: no metadata checkpoint in " + tmp.toUri());
  }
}
