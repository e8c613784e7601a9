package io.sluice.deploy;

import io.sluice.api.Duration;
import io.sluice.api.SluiceException;
import io.sluice.checkpoint.MetadataStore;
import io.sluice.examples.GeneratedWordCount;
import io.sluice.proto.StatusResponse;
import io.sluice.runtime.Clock;
import io.sluice.runtime.JobDriver;
import io.sluice.runtime.StageStatsText;
import io.sluice.runtime.StateStatusText;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** The {@code sluice} command line. Errors are one line on stderr and a non-zero exit. */
@Command(name = "sluice", mixinStandardHelpOptions = true, version = "sluice 0.1.0", scope = CommandLine.ScopeType.INHERIT,
    description = "Micro-batch streaming on YARN with driver recovery from checkpoints in HDFS.",
    subcommands = {SluiceCli.Submit.class, SluiceCli.Status.class, SluiceCli.Stop.class, SluiceCli.Kill.class, SluiceCli.CheckUpgrade.class, SluiceCli.Checkpoint.class,
        SluiceCli.MiniCluster.class, SluiceCli.DemoCommand.class, SluiceCli.BenchCommand.class, CommandLine.HelpCommand.class})
public final class SluiceCli {
  /** Exit code of a usage or input error. */
  static final int USAGE_ERROR = 2;

  private final Supplier<Configuration> hadoopConf;

  private SluiceCli(Supplier<Configuration> hadoopConf) {
    this.hadoopConf = hadoopConf;
  }

  public static void main(String[] args) {
    int code;
    try {
      code = run(args, System.out, System.err);
    } catch (Throwable t) {
      System.err.println("sluice: " + userMessage(t));
      code = 1;
    }
    // Embedded clusters leave non-daemon threads behind; the exit code is all that is left to say.
    System.exit(code);
  }

  /** Runs a command line; returns its exit code. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    return run(args, out, err, ClientConfiguration::load);
  }

  /** As {@link #run(String[], PrintStream, PrintStream)}, with the Hadoop configuration given. */
  static int run(String[] args, PrintStream out, PrintStream err, Supplier<Configuration> hadoopConf) {
    CommandLine cli = new CommandLine(new SluiceCli(hadoopConf));
    cli.setOut(new java.io.PrintWriter(out, true));
    cli.setErr(new java.io.PrintWriter(err, true));
    cli.setParameterExceptionHandler((e, a) -> {
      err.println("sluice: " + e.getMessage() + " (see: " + e.getCommandLine().getCommandSpec().qualifiedName() + " --help)");
      return USAGE_ERROR;
    });
    cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      err.println("sluice: " + userMessage(e));
      return 1;
    });
    return cli.execute(args);
  }

  /** The message of a Sluice error, or the innermost cause of anything else, on one line. */
  static String userMessage(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SluiceException) {
        return t.getMessage();
      }
    }
    Throwable root = e;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    String m = String.valueOf(root.getMessage()).lines().findFirst().orElse("");
    return root.getClass().getSimpleName() + ": " + m;
  }

  @Command(name = "submit", description = "Submits an application to YARN and prints its id.")
  static final class Submit implements Callable<Integer> {
    @ParentCommand SluiceCli parent;
    @Spec CommandSpec spec;
    @Option(names = "--jar", required = true, description = "the application jar") Path jar;
    @Option(names = "--class", required = true, description = "the StreamingApp class") String appClass;
    @Option(names = "--checkpoint", description = "checkpoint directory (Hadoop path)") String checkpoint;
    @Option(names = "--batch-interval", defaultValue = "1s", description = "batch interval (default ${DEFAULT-VALUE})") String interval;
    @Option(names = "--executors", defaultValue = "2", description = "executor containers (default ${DEFAULT-VALUE})") int executors;
    @Option(names = "--executor-memory", defaultValue = "512m", description = "memory per executor (default ${DEFAULT-VALUE})") String memory;
    @Option(names = "--executor-cores", defaultValue = "1", description = "cores per executor (default ${DEFAULT-VALUE})") int cores;
    @Option(names = "--queue", description = "YARN queue") String queue;
    @Option(names = "--max-attempts", defaultValue = "4", description = "AM attempts (default ${DEFAULT-VALUE})") int maxAttempts;
    @Option(names = "--conf", description = "a setting key=value for the application (repeatable)") Map<String, String> conf = new LinkedHashMap<>();

    @Override
    public Integer call() throws Exception {
      requirePositive("--executors", executors);
      requirePositive("--executor-cores", cores);
      requirePositive("--max-attempts", maxAttempts);
      Submission s = new Submission(jar, appClass, checkpoint, Duration.parse("--batch-interval", interval), executors,
          parseMemoryMb(memory), cores, queue, maxAttempts, conf);
      try (SluiceClient client = new SluiceClient(parent.hadoopConf.get())) {
        spec.commandLine().getOut().println(client.submit(s));
      }
      return 0;
    }
  }

  @Command(name = "status", description = "Prints an application's state and progress.")
  static final class Status implements Callable<Integer> {
    @ParentCommand SluiceCli parent;
    @Spec CommandSpec spec;
    @Parameters(paramLabel = "ID") String id;

    @Override
    public Integer call() throws Exception {
      try (SluiceClient client = new SluiceClient(parent.hadoopConf.get())) {
        ApplicationReport report = client.report(SluiceClient.parseId(id));
        SluiceClient.describe(report).forEach(spec.commandLine().getOut()::println);
        Optional<StatusResponse> am = client.amStatus(report);
        am.ifPresent(s -> {
          spec.commandLine().getOut().printf("driver      %s, epoch %d%n", s.getState(), s.getEpoch());
          var out = spec.commandLine().getOut();
          out.printf("batches     %d completed, last %d, interval %d ms%n", s.getBatchesCompleted(),
              s.getLastBatchTimeMs(), s.getBatchIntervalMs());
          out.printf("delays      processing %d ms, scheduling %d ms%n", s.getLastProcessingMs(),
              s.getLastSchedulingDelayMs());
          StageStatsText.lastBatch(s.getRecentBatchesList()).ifPresent(stages -> out.printf("stages      %s%n", stages));
          out.printf("executors   %d (%d adopted from the previous attempt)%n", s.getExecutors(),
              s.getAdoptedExecutors());
          out.printf("restarts    class-data archive %s%s%n",
              s.getRestartArchive().isEmpty() ? "not written yet" : s.getRestartArchive(),
              s.getStartedFromArchive() ? " (this attempt started from it)" : "");
          out.printf("checkpoint  %s, metadata sequence %d, %d bytes%n", s.getCheckpointDir(),
              s.getLastCheckpointSequence(), s.getCheckpointBytes());
          s.getStateOperatorsList().forEach(o ->
              out.printf("state       %s: %s%n", o.getNodeId(), StateStatusText.describe(o)));
          out.printf("status page %s (direct: %s)%n", report.getTrackingUrl(), s.getTrackingUrl());
        });
      }
      return 0;
    }
  }

  @Command(name = "stop", description = "Stops an application: after the running batch, or with --graceful after "
      + "every planned batch is committed and the state snapshotted; waits until it has finished.")
  static final class Stop implements Callable<Integer> {
    @ParentCommand SluiceCli parent;
    @Spec CommandSpec spec;
    @Parameters(paramLabel = "ID") String id;
    @Option(names = "--graceful", description = "finish and commit every planned batch first, and end on a "
        + "snapshot of the state (one more batch at most), so that the next start replays nothing") boolean graceful;
    @Option(names = "--timeout", defaultValue = "60s", description = "how long to wait (default ${DEFAULT-VALUE})") String timeout;

    @Override
    public Integer call() throws Exception {
      ApplicationId appId = SluiceClient.parseId(id);
      long waitMs = Duration.parse("--timeout", timeout).millis();
      Clock clock = Clock.SYSTEM;
      try (SluiceClient client = new SluiceClient(parent.hadoopConf.get())) {
        client.stop(appId, graceful);
        long deadline = clock.wallMillis() + waitMs;
        ApplicationReport r = client.report(appId);
        while (!isFinal(r.getYarnApplicationState())) {
          if (clock.wallMillis() > deadline) {
            throw new SluiceException(appId + " did not stop within " + timeout + "; wait longer with --timeout, or "
                + "end it at once with sluice kill " + appId);
          }
          clock.waitUntil(clock.wallMillis() + 200);
          r = client.report(appId);
        }
        spec.commandLine().getOut().println("stopped " + appId + ": " + r.getFinalApplicationStatus() + " ("
            + r.getDiagnostics().strip() + ")");
      }
      return 0;
    }

    private static boolean isFinal(YarnApplicationState s) {
      return s == YarnApplicationState.FINISHED || s == YarnApplicationState.FAILED || s == YarnApplicationState.KILLED;
    }
  }

  @Command(name = "check-upgrade", description = "Says, without running anything, whether new code can resume from a "
      + "checkpoint, and why not.")
  static final class CheckUpgrade implements Callable<Integer> {
    @ParentCommand SluiceCli parent;
    @Spec CommandSpec spec;
    @Option(names = "--checkpoint", required = true, description = "the job's checkpoint directory") String checkpoint;
    @Option(names = "--jar", required = true, description = "the new application jar") Path jar;
    @Option(names = "--class", required = true, description = "the StreamingApp class") String appClass;
    @Option(names = "--batch-interval", defaultValue = "1s", description = "as it will be submitted (default ${DEFAULT-VALUE})") String interval;
    @Option(names = "--conf", description = "a setting key=value, as it will be submitted (repeatable)") Map<String, String> conf = new LinkedHashMap<>();

    @Override
    public Integer call() throws Exception {
      io.sluice.proto.JobSpec job = io.sluice.proto.JobSpec.newBuilder().setAppClass(appClass).setCheckpointDir(checkpoint)
          .setBatchIntervalMs(Duration.parse("--batch-interval", interval).millis()).putAllConf(conf).build();
      var graph = SluiceClient.loadGraph(jar, job);
      org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(checkpoint);
      var loaded = new MetadataStore(dir.getFileSystem(parent.hadoopConf.get()), dir, Integer.MAX_VALUE)
          .readNewestValid(w -> spec.commandLine().getErr().println("warning: " + w));
      var out = spec.commandLine().getOut();
      if (loaded.isEmpty()) {
        out.println("no checkpoint in " + checkpoint + ": " + appClass + " would start fresh there");
        return 0;
      }
      var cp = loaded.get().checkpoint();
      var startingEmpty = io.sluice.runtime.UpgradeCheck.operatorsStartingEmpty(graph, cp, true);
      var problem = io.sluice.runtime.UpgradeCheck.problem(graph, cp, startingEmpty);
      if (problem.isPresent()) {
        out.println("incompatible: " + problem.get());
        out.println("to upgrade anyway, run the new job beside the old one on a new checkpoint directory, "
            + "or keep the state layout (ids, partitions, codecs) of the stateful operators");
        return 1;
      }
      out.println("compatible: " + appClass + " resumes from " + loaded.get().path().getName() + " as epoch "
          + (cp.getEpoch() + 1) + ", after " + cp.getBatchesCompleted() + " completed batches, re-running "
          + cp.getPendingBatchesCount() + " planned ones");
      if (!startingEmpty.isEmpty()) {
        out.println("the state of " + String.join(", ", startingEmpty) + " starts empty");
      }
      return 0;
    }
  }

  @Command(name = "kill", description = "Kills an application at once.")
  static final class Kill implements Callable<Integer> {
    @ParentCommand SluiceCli parent;
    @Spec CommandSpec spec;
    @Parameters(paramLabel = "ID") String id;

    @Override
    public Integer call() throws Exception {
      ApplicationId appId = SluiceClient.parseId(id);
      try (SluiceClient client = new SluiceClient(parent.hadoopConf.get())) {
        client.kill(appId);
      }
      spec.commandLine().getOut().println("killed " + appId);
      return 0;
    }
  }

  @Command(name = "checkpoint", description = "Inspects checkpoint directories.", subcommands = Checkpoint.Show.class)
  static final class Checkpoint {
    @ParentCommand SluiceCli parent;
    @Command(name = "show", description = "Prints the newest (or the given) metadata file of DIR.")
    static final class Show implements Callable<Integer> {
      @ParentCommand Checkpoint checkpointCommand;
      @Spec CommandSpec spec;
      @Parameters(index = "0", paramLabel = "DIR") String dir;
      @Parameters(index = "1", paramLabel = "FILE", arity = "0..1") String file;

      @Override
      public Integer call() throws Exception {
        Configuration conf = checkpointCommand.parent.hadoopConf.get();
        org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(dir);
        FileSystem fs = path.getFileSystem(conf);
        MetadataStore store = new MetadataStore(fs, path, Integer.MAX_VALUE);
        if (file != null) {
          org.apache.hadoop.fs.Path f = new org.apache.hadoop.fs.Path(path, file);
          CheckpointPrinter.print(f.toString(), store.read(f), spec.commandLine().getOut());
          return 0;
        }
        var loaded = store.readNewestValid(w -> spec.commandLine().getErr().println("warning: " + w))
            .orElseThrow(() -> new SluiceException("no metadata checkpoint in " + dir));
        CheckpointPrinter.print(loaded.path().toString(), loaded.checkpoint(), spec.commandLine().getOut());
        return 0;
      }
    }
  }

  @Command(name = "minicluster", description = "Runs an embedded HDFS + YARN until interrupted, writing client configuration.")
  static final class MiniCluster implements Callable<Integer> {
    @ParentCommand SluiceCli parent;
    @Spec CommandSpec spec;
    @Option(names = "--conf-dir", required = true, description = "where to write core-site.xml and yarn-site.xml") Path confDir;
    @Option(names = "--base-dir", description = "data directory (default: a new temporary one)") Path baseDir;

    @Override
    public Integer call() throws Exception {
      Path base = baseDir != null ? baseDir : java.nio.file.Files.createTempDirectory("sluice-minicluster-");
      spec.commandLine().getOut().println("Starting embedded HDFS + YARN in " + base + " ...");
      try (EmbeddedCluster cluster = EmbeddedCluster.start(base)) {
        cluster.writeClientConfig(confDir);
        spec.commandLine().getOut().println("Ready. HDFS " + cluster.conf().get("fs.defaultFS") + ", ResourceManager "
            + cluster.conf().get("yarn.resourcemanager.address"));
        spec.commandLine().getOut().println("Try: HADOOP_CONF_DIR=" + confDir.toAbsolutePath() + " deploy/bin/sluice submit ...");
        spec.commandLine().getOut().println("Press Ctrl-C to stop.");
        new java.util.concurrent.CountDownLatch(1).await();
      }
      return 0;
    }
  }

  @Command(name = "demo", description = "Runs the stateful word count on an embedded HDFS + YARN and verifies every batch.")
  static final class DemoCommand implements Callable<Integer> {
    @ParentCommand SluiceCli parent;
    @Spec CommandSpec spec;
    @Option(names = "--lines", defaultValue = "20000", description = "lines per batch (default ${DEFAULT-VALUE})") long lines;
    @Option(names = "--vocabulary", defaultValue = "1000", description = "distinct words (default ${DEFAULT-VALUE})") long vocabulary;
    @Option(names = "--batches", defaultValue = "30", description = "batches to run (default ${DEFAULT-VALUE})") int batches;
    @Option(names = "--base-dir", description = "data directory (default: a new temporary one)") Path baseDir;

    @Override
    public Integer call() throws Exception {
      requirePositive("--batches", batches);
      Path base = baseDir != null ? baseDir : java.nio.file.Files.createTempDirectory("sluice-demo-");
      return new Demo(spec.commandLine().getOut(), lines, vocabulary, batches).run(base) ? 0 : 1;
    }
  }

  @Command(name = "bench", description = "Runs the benchmark workload on an embedded HDFS + YARN and prints a markdown table.")
  static final class BenchCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Option(names = "--lines", split = ",", defaultValue = "50000,200000,500000,1000000", description = "R values (default ${DEFAULT-VALUE})") List<String> lines;
    @Option(names = "--vocabulary", split = ",", defaultValue = "10000,1000000", description = "K values (default ${DEFAULT-VALUE})") List<String> vocabularies;
    @Option(names = "--checkpoint-settings", split = ",", defaultValue = "A,B", description = "A: default snapshot interval, B: every batch (default ${DEFAULT-VALUE})") List<String> settings;
    @Option(names = "--batches", defaultValue = "40", description = "batches per configuration (default ${DEFAULT-VALUE})") int batches;
    @Option(names = "--warmup", defaultValue = "5", description = "batches discarded (default ${DEFAULT-VALUE})") int warmup;
    @Option(names = "--recovery", description = "also measure kill -9 of the AM after 15 batches, per K") boolean recovery;
    @Option(names = "--batch-stages", description = "print each batch's stages as it commits, not only their medians")
    boolean batchStages;
    @Option(names = "--executor-recovery", description = "also measure kill -9 of an executor after 15 batches, per K")
    boolean executorRecovery;
    @Option(names = "--state-probe", description = "also run the smallest K over a state seeded with the largest K's "
        + "keys, per R (setting A)") boolean stateProbe;
    @Option(names = "--executor-memory", defaultValue = "2g", description = "per executor (default ${DEFAULT-VALUE})") String memory;
    @Option(names = "--operator", defaultValue = GeneratedWordCount.UPDATE_STATE_BY_KEY, description = "the operator "
        + "that keeps the counts: updateStateByKey, as the workload says, or mapWithState, its output read from "
        + "stateSnapshots() (default ${DEFAULT-VALUE})") String operator;
    @Option(names = "--idle-timeout", description = "with --operator mapWithState: its idle timeout, so that the "
        + "cost of finding idle keys is measured; longer than any word stays away, or the invariant fails") String idleTimeout;
    @Option(names = "--conf", description = "a setting key=value for every application, such as "
        + "sluice.executor.javaOpts (repeatable); not one of the workload's own") Map<String, String> conf = new LinkedHashMap<>();
    @Option(names = "--base-dir", description = "data directory (default: a new temporary one)") Path baseDir;
    @Option(names = "--spark-reference", description = "before each configuration, run it on Spark Streaming "
        + "(deploy/bin/spark-reference, built with mvn -Pspark-reference package) and print Sluice's median as a share "
        + "of Spark's: the machine's speed changes by the hour; with --recovery, its driver's recovery too")
    boolean sparkReference;

    @Override
    public Integer call() throws Exception {
      requirePositive("--batches", batches);
      GeneratedWordCount.requireOperator("--operator", operator);
      if (idleTimeout != null) {
        GeneratedWordCount.requireTimedOperator("--idle-timeout", operator, "--operator ");
        Duration.parse("--idle-timeout", idleTimeout);
      }
      if (batches > JobDriver.RECENT_BATCHES_KEPT) {
        throw new SluiceException("--batches can be at most " + JobDriver.RECENT_BATCHES_KEPT + ", got " + batches
            + ": the benchmark reads the batches' times from the metadata, which keeps the last "
            + JobDriver.RECENT_BATCHES_KEPT);
      }
      if (warmup < 0 || warmup >= batches) {
        throw new SluiceException("--warmup must be between 0 and --batches - 1, got " + warmup);
      }
      List<Long> ks = counts("--vocabulary", vocabularies);
      List<Long> rs = counts("--lines", lines);
      settings.forEach(Bench::requireSetting);
      if (stateProbe && ks.stream().distinct().count() < 2) {
        throw new SluiceException("--state-probe needs two --vocabulary values: the batches' words come from the "
            + "smaller, the state is seeded with the larger");
      }
      for (String key : conf.keySet()) {
        if (Bench.isWorkloadSetting(key)) {
          throw new SluiceException("--conf " + key + " is set by the benchmark itself; give only other settings");
        }
      }
      Bench.Options o = new Bench.Options(rs, ks, settings, batches, warmup, recovery,
          executorRecovery, stateProbe, parseMemoryMb(memory), operator, idleTimeout, Map.copyOf(conf),
          sparkReference ? SparkReference.of(System.getProperty("sluice.home")) : null, batchStages);
      Path base = baseDir != null ? baseDir : java.nio.file.Files.createTempDirectory("sluice-bench-");
      return new Bench(spec.commandLine().getOut(), o).run(base) ? 0 : 1;
    }

    /** The values of a list of counts, each at least 1 (a run of no lines or words measures nothing). */
    private static List<Long> counts(String option, List<String> values) {
      List<Long> counts = values.stream()
          .map(v -> new io.sluice.api.Settings(Map.of(option, v)).getLong(option, 0)).toList();
      for (long count : counts) {
        if (count < 1) {
          throw new SluiceException(option + " values must be at least 1, got " + count);
        }
      }
      return counts;
    }
  }

  static void requirePositive(String option, int value) {
    if (value <= 0) {
      throw new SluiceException(option + " must be at least 1, got " + value);
    }
  }

  /** Parses 512m, 2g or a plain number of MiB. */
  static int parseMemoryMb(String text) {
    String t = text.trim().toLowerCase(java.util.Locale.ROOT);
    try {
      if (t.endsWith("g")) {
        return Math.multiplyExact(Integer.parseInt(t.substring(0, t.length() - 1)), 1024);
      }
      int mb = Integer.parseInt(t.endsWith("m") ? t.substring(0, t.length() - 1) : t);
      if (mb < 128) {
        throw new SluiceException("--executor-memory " + text + " is too small: give at least 128m");
      }
      return mb;
    } catch (NumberFormatException e) {
      throw new SluiceException("--executor-memory " + text + " is not a memory size (examples: 512m, 2g)");
    }
  }
}
