package io.sluice.am;

import io.grpc.BindableService;
import io.grpc.Server;
import io.sluice.api.SluiceException;
import io.sluice.checkpoint.MetadataStore;
import io.sluice.graph.SettingKeys;
import io.sluice.graph.StreamGraph;
import io.sluice.proto.JobSpec;
import io.sluice.proto.StatusResponse;
import io.sluice.rpc.AppSecret;
import io.sluice.rpc.RpcChannels;
import io.sluice.runtime.BatchListener;
import io.sluice.runtime.Clock;
import io.sluice.runtime.JobDriver;
import io.sluice.runtime.JobSpecs;
import io.sluice.runtime.LocalFiles;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.yarn.api.records.ApplicationAttemptId;
import org.apache.hadoop.yarn.api.records.ContainerId;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ApplicationMaster: the streaming driver of one Sluice job. It registers with YARN, starts
 * the executors, and runs the batch loop of {@link JobDriver} on its main thread. A job error the
 * user must fix unregisters the application as FAILED; any other failure exits non-zero so YARN
 * starts a new attempt, which resumes from the checkpoint.
 */
public final class AmMain {
  private static final Logger LOG = LoggerFactory.getLogger(AmMain.class);
  /** Whether a SIGTERM to the AM drains like {@code sluice stop --graceful} (setting). */
  static final String STOP_GRACEFULLY_ON_SHUTDOWN = "sluice.streaming.stopGracefullyOnShutdown";
  /** How long a SIGTERM drain may take before the JVM goes down anyway (setting). */
  static final String GRACEFUL_SHUTDOWN_TIMEOUT = "sluice.streaming.gracefulShutdownTimeout";
  /** How long the AM waits for its executors to register (setting). */
  static final String EXECUTOR_REGISTRATION_TIMEOUT = "sluice.executor.registrationTimeout";

  private AmMain() {}

  public static void main(String[] args) {
    try {
      run();
      System.exit(0);
    } catch (Throwable t) {
      LOG.error("AM failed", t);
      System.exit(1);
    }
  }

  /** Why the batch loop ends now, or null to run the next batch. */
  private static String reasonToStop(AmEndpoints.StopMode stop, JobDriver driver, long stopAfter) {
    return switch (stop) {
      case IMMEDIATE -> "stopped";
      case GRACEFUL -> driver.hasPlannedBatches() ? null : "stopped gracefully";
      case NONE -> stopAfter > 0 && driver.batchesCompleted() >= stopAfter ? "reached " + stopAfter + " batches" : null;
    };
  }

  private static void run() throws Exception {
    JobSpec spec;
    try (InputStream in = Files.newInputStream(Path.of(JobSpecs.FILE_NAME))) {
      spec = JobSpec.parseFrom(in);
    }
    YarnConfiguration conf = new YarnConfiguration(JobSpecs.containerHadoopConf(new YarnConfiguration()));
    ApplicationAttemptId attempt = ContainerId.fromString(System.getenv("CONTAINER_ID")).getApplicationAttemptId();
    String appId = attempt.getApplicationId().toString();
    AppSecret secret = AppSecret.fromCurrentUser();
    Clock clock = Clock.SYSTEM;

    AtomicLong epoch = new AtomicLong();
    AtomicReference<StatusResponse> status = new AtomicReference<>(StatusResponse.newBuilder()
        .setApplicationId(appId).setState("STARTING").setAttempt(attempt.getAttemptId()).build());
    AtomicReference<AmEndpoints.StopMode> stop = new AtomicReference<>(AmEndpoints.StopMode.NONE);
    ExecutorPool pool = new ExecutorPool(secret);
    Server server = RpcChannels.startServer(0, secret, List.<BindableService>of(
        AmEndpoints.driver(pool, epoch::get), AmEndpoints.control(status, stop)));
    String host = System.getenv().getOrDefault("NM_HOST", InetAddress.getLocalHost().getCanonicalHostName());
    String amAddress = host + ":" + server.getPort();

    var resources = ContainerSetup.localResources(LocalFiles.forContainers(spec, conf));
    ExecutorLauncher yarn = new ExecutorLauncher(conf, spec, resources, amAddress, reason -> {
      LOG.error("Application {} attempt {}: {}; exiting", appId, attempt.getAttemptId(), reason);
      Runtime.getRuntime().halt(1);
    });
    yarn.register(host, server.getPort());
    CountDownLatch loopEnded = new CountDownLatch(1);
    LOG.info("Application {} attempt {}: AM serving at {}", appId, attempt.getAttemptId(), amAddress);
    try {
      StreamGraph graph = JobSpecs.graph(spec, AmMain.class.getClassLoader());
      String checkpointDir = graph.checkpointDir().orElse(spec.getStagingDir() + "/checkpoint");
      org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(checkpointDir);
      FileSystem fs = dir.getFileSystem(conf);
      MetadataStore store = new MetadataStore(fs, dir, graph.settings().getInt(SettingKeys.CHECKPOINT_RETAINED, 10));
      BatchListener listener = s -> {
        LOG.info("Application {}: batch {} (#{}) completed in {} ms, {} tasks, scheduling delay {} ms, epoch {}{}",
            appId, s.batchTimeMs(), s.index(), s.processingMs(), s.tasks(), s.schedulingDelayMs(), s.epoch(),
            s.rerun() ? ", re-run" : "");
        status.updateAndGet(old -> old.toBuilder().setState("RUNNING").setBatchesCompleted(old.getBatchesCompleted() + 1)
            .setLastBatchTimeMs(s.batchTimeMs()).setLastProcessingMs(s.processingMs()).build());
      };
      JobDriver driver = new JobDriver(graph, store, new RemoteTaskService(pool),
          new JobDriver.Environment(appId, spec.getAppClass(), conf, clock, listener));
      driver.start();
      epoch.set(driver.epoch());
      status.updateAndGet(s -> s.toBuilder().setEpoch(driver.epoch()).setBatchesCompleted(driver.batchesCompleted())
          .setBatchIntervalMs(graph.batchInterval().millis()).setExecutors(spec.getExecutors()).build());

      yarn.requestExecutors(spec.getExecutors());
      pool.awaitRegistered(spec.getExecutors(),
          graph.settings().getDuration(EXECUTOR_REGISTRATION_TIMEOUT, io.sluice.api.Duration.ofSeconds(120)).millis(), clock);
      LOG.info("Application {}: {} executors registered; running batches every {}", appId, spec.getExecutors(),
          graph.batchInterval());
      if (Boolean.parseBoolean(graph.settings().get(STOP_GRACEFULLY_ON_SHUTDOWN, "false"))) {
        long timeoutMs = graph.settings().getDuration(GRACEFUL_SHUTDOWN_TIMEOUT, io.sluice.api.Duration.ofSeconds(30))
            .millis();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
          LOG.info("Application {}: shutting down; finishing the planned batches first (at most {} ms)", appId, timeoutMs);
          AmEndpoints.requestStop(stop, AmEndpoints.StopMode.GRACEFUL);
          try {
            loopEnded.await(timeoutMs, TimeUnit.MILLISECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }, "sluice-graceful-shutdown"));
      }
      long stopAfter = graph.settings().getLong(SettingKeys.STOP_AFTER_BATCHES, 0);
      String why;
      while ((why = reasonToStop(stop.get(), driver, stopAfter)) == null) {
        driver.runNextBatch();
        status.updateAndGet(s -> s.toBuilder().setLastCheckpointSequence(driver.lastSequence()).build());
      }
      LOG.info("Application {}: {}; {} batches completed; finishing", appId, why, driver.batchesCompleted());
      yarn.unregister(FinalApplicationStatus.SUCCEEDED, why + " after " + driver.batchesCompleted() + " batches");
    } catch (SluiceException e) {
      LOG.error("Application {}: {}", appId, e.getMessage());
      yarn.unregister(FinalApplicationStatus.FAILED, e.getMessage());
      throw e;
    } finally {
      loopEnded.countDown();
      yarn.close();
      pool.close();
      server.shutdownNow();
    }
  }
}
