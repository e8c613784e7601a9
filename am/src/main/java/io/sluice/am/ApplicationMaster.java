package io.sluice.am;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.ThreadFactoryBuilder;
import com.google.common.util.concurrent.UncheckedExecutionException;
import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.sluice.api.Duration;
import io.sluice.api.SluiceException;
import io.sluice.checkpoint.MetadataStore;
import io.sluice.graph.SettingKeys;
import io.sluice.graph.StreamGraph;
import io.sluice.proto.AdoptRequest;
import io.sluice.proto.AdoptResponse;
import io.sluice.proto.ExecutorServiceGrpc;
import io.sluice.proto.JobSpec;
import io.sluice.proto.ExecutorDirectory;
import io.sluice.proto.RegisterExecutorRequest;
import io.sluice.proto.StatusResponse;
import io.sluice.rpc.AppSecret;
import io.sluice.rpc.RpcChannels;
import io.sluice.runtime.BatchFailedException;
import io.sluice.runtime.BatchListener;
import io.sluice.runtime.Clock;
import io.sluice.runtime.JobDriver;
import io.sluice.runtime.JobSpecs;
import io.sluice.runtime.LocalFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.yarn.api.records.ApplicationAttemptId;
import org.apache.hadoop.yarn.api.records.Container;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One AM attempt's lifecycle: serve RPC and the status page, register with YARN, adopt the
 * executors an earlier attempt left running and start the missing ones, run the batch loop of
 * {@link JobDriver} on the calling thread until the job is told to stop, and unregister. RPC handlers and YARN callbacks only post into {@link #stop} and
 * {@link #status}; the driver's state stays on the calling thread.
 */
final class ApplicationMaster {
  private static final Logger LOG = LoggerFactory.getLogger(ApplicationMaster.class);
  /** Whether a SIGTERM to the AM drains like {@code sluice stop --graceful} (setting). */
  static final String STOP_GRACEFULLY_ON_SHUTDOWN = "sluice.streaming.stopGracefullyOnShutdown";
  /** How long a SIGTERM drain may take before the JVM goes down anyway (setting). */
  static final String GRACEFUL_SHUTDOWN_TIMEOUT = "sluice.streaming.gracefulShutdownTimeout";
  /** How long the AM waits for its executors to register (setting). */
  static final String EXECUTOR_REGISTRATION_TIMEOUT = "sluice.executor.registrationTimeout";

  /** What the AM runs with, read from its container by {@link AmMain}. */
  record Setup(JobSpec spec, YarnConfiguration conf, ApplicationAttemptId attempt, AppSecret secret, String host,
      Clock clock) {}

  private final Setup setup;
  private final String appId;
  private final AtomicLong epoch = new AtomicLong();
  private final AtomicReference<StatusResponse> status;
  private final AtomicReference<AmEndpoints.StopMode> stop = new AtomicReference<>(AmEndpoints.StopMode.NONE);
  private final CountDownLatch loopEnded = new CountDownLatch(1);
  private final ExecutorPool pool;
  private final ExecutorDirectoryFile directory;
  /** Runs what the start loads beside the registration (not the common pool: it has one thread on two cores). */
  private final ExecutorService startUp = Executors.newCachedThreadPool(
      new ThreadFactoryBuilder().setNameFormat("sluice-am-start-%d").setDaemon(true).build());
  private final Optional<ClassDataArchive> classData;

  ApplicationMaster(Setup setup) {
    this.setup = setup;
    this.appId = setup.attempt().getApplicationId().toString();
    this.status = new AtomicReference<>(StatusResponse.newBuilder().setApplicationId(appId).setState("STARTING")
        .setAttempt(setup.attempt().getAttemptId()).setStartedFromArchive(ClassDataArchive.startedFromArchive())
        .build());
    this.directory = new ExecutorDirectoryFile(setup.conf(), setup.spec().getStagingDir());
    this.pool = new ExecutorPool(setup.secret(), setup.spec().getExecutors(), directory::write);
    this.classData = ClassDataArchive.ofThisJvm(setup.clock());
  }

  /** Runs the attempt to its end; a job error the user must fix unregisters the application as FAILED. */
  void run() throws Exception {
    // Loading the application and reading what it resumes from overlaps with starting the RPC
    // server and registering: after a kill, every part of this start is time without batches.
    CompletableFuture<Job> job = CompletableFuture.supplyAsync(this::loadJob, startUp);
    Supplier<StatusResponse> currentStatus = () -> withCheckpointSize(status.get(), job);
    Server server = RpcChannels.startServer(0, setup.secret(), List.<BindableService>of(
        AmEndpoints.driver(pool, epoch::get), AmEndpoints.control(currentStatus, stop)));
    String amAddress = setup.host() + ":" + server.getPort();
    ExecutorLauncher yarn = new ExecutorLauncher(setup.conf(), setup.spec(),
        () -> ContainerSetup.localResources(LocalFiles.forContainers(setup.spec(), setup.conf())), amAddress, reason -> {
          LOG.error("Application {} attempt {}: {}; exiting", appId, setup.attempt().getAttemptId(), reason);
          Runtime.getRuntime().halt(1);
        });
    StatusPage page = StatusPage.start(setup.host(), currentStatus);
    try {
      status.updateAndGet(s -> s.toBuilder().setTrackingUrl(page.url()).build());
      List<Container> previous = yarn.register(setup.host(), server.getPort(), page.url());
      LOG.info("Application {} attempt {}: AM serving at {}, status page {}", appId, setup.attempt().getAttemptId(),
          amAddress, page.url());
      String why = runJob(yarn, previous, joined(job));
      yarn.unregister(FinalApplicationStatus.SUCCEEDED, why);
    } catch (SluiceException e) {
      LOG.error("Application {}: {}", appId, e.getMessage());
      yarn.unregister(FinalApplicationStatus.FAILED, e.getMessage());
      throw e;
    } catch (BatchFailedException e) {
      int maxAttempts = setup.spec().getMaxAttempts();
      if (maxAttempts == 0 || e.attemptsEnded() < maxAttempts) {
        // Exits non-zero: YARN starts the next attempt, which runs the batch again.
        throw e;
      }
      String diagnostics = e.getMessage() + ". The same batch ended every attempt, so the application stops "
          + "here; fix the cause and submit it again with the same checkpoint directory to resume";
      LOG.error("Application {}: {}", appId, diagnostics);
      yarn.unregister(FinalApplicationStatus.FAILED, diagnostics);
      throw e;
    } finally {
      loopEnded.countDown();
      page.close();
      yarn.close();
      pool.close();
      server.shutdownNow();
      classData.ifPresent(ClassDataArchive::close);
      startUp.shutdown();
    }
  }

  /**
   * The application's graph, its checkpoint directory and what the driver resumes from there, and
   * the executors the previous attempt recorded: all read before the driver starts.
   */
  private record Job(StreamGraph graph, Path dir, FileSystem fs, MetadataStore store, MetadataStore.Survey survey,
      ExecutorDirectory previousExecutors) {}

  private Job loadJob() {
    try {
      StreamGraph graph = JobSpecs.graph(setup.spec(), AmMain.class.getClassLoader());
      Path dir = new Path(graph.checkpointDir().orElse(setup.spec().getStagingDir() + "/checkpoint"));
      FileSystem fs = dir.getFileSystem(setup.conf());
      MetadataStore store = new MetadataStore(fs, dir, graph.settings().getInt(SettingKeys.CHECKPOINT_RETAINED, 10));
      // The survey reads; the probe writes (its first write sets up HDFS's write path): neither waits for the other.
      CompletableFuture<MetadataStore.Survey> survey = CompletableFuture.supplyAsync(() -> {
        try {
          return store.survey(LOG::warn);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }, startUp);
      store.ensureWritable();
      store.prepareForWrites();
      ExecutorDirectory previousExecutors = directory.read();
      return new Job(graph, dir, fs, store, survey.join(), previousExecutors);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * The status with the checkpoint directory's size, once the job is loaded. Read when the status
   * is asked for: between every two batches it was a NameNode call of 2-25 ms on the batches' path.
   */
  private static StatusResponse withCheckpointSize(StatusResponse status, CompletableFuture<Job> job) {
    if (!job.isDone() || job.isCompletedExceptionally()) {
      return status;
    }
    Job loaded = job.join();
    try {
      return status.toBuilder().setCheckpointBytes(loaded.fs().getContentSummary(loaded.dir()).getLength()).build();
    } catch (IOException e) {
      LOG.debug("Checkpoint directory {} not measured: {}", loaded.dir(), e.toString());
      return status;
    }
  }

  /** The loaded job, or the failure that loading it threw (a SluiceException stays one). */
  private static Job joined(CompletableFuture<Job> job) throws Exception {
    try {
      return job.join();
    } catch (CompletionException e) {
      Throwable cause = e.getCause() instanceof UncheckedIOException io ? io.getCause() : e.getCause();
      throw cause instanceof Exception ex ? ex : e;
    }
  }

  /** Recovers or starts the job, starts the executors and runs batches until told to stop; says why it ended. */
  private String runJob(ExecutorLauncher yarn, List<Container> previous, Job job) throws Exception {
    StreamGraph graph = job.graph();
    Path dir = job.dir();
    RemoteTaskService tasks = new RemoteTaskService(pool, yarn, registrationTimeoutMs(graph),
        graph.settings().getDuration(SettingKeys.TASK_TIMEOUT, Duration.ofMinutes(10)).millis(), setup.clock());
    JobDriver driver = new JobDriver(graph, job.store(), tasks,
        new JobDriver.Environment(appId, setup.spec().getAppClass(), setup.conf(), setup.clock(), this::batchCompleted,
            setup.spec().getMaxAttempts()));
    // Channels to the previous attempt's executors connect while the driver takes its epoch.
    Map<String, PreviousExecutor> candidates = connectToPreviousExecutors(previous, job.previousExecutors());
    driver.start(job.survey());
    epoch.set(driver.epoch());
    status.updateAndGet(s -> s.toBuilder().setEpoch(driver.epoch()).setBatchesCompleted(driver.batchesCompleted())
        .setBatchIntervalMs(graph.batchInterval().millis()).setExecutors(setup.spec().getExecutors())
        .setCheckpointDir(dir.toString()).build());

    int adopted = adoptExecutors(yarn, previous, candidates, driver.epoch());
    status.updateAndGet(s -> s.toBuilder().setAdoptedExecutors(adopted).build());
    // A fresh application's executors have time to touch their heap; a resumed one's restore waits for them.
    yarn.requestExecutors(pool.freeSlots(), driver.batchesCompleted() == 0);
    pool.awaitRegistered(registrationTimeoutMs(graph), setup.clock());
    yarn.whenContainerEnds(tasks::executorContainerEnded);
    driver.beginBatches();
    LOG.info("Application {}: {} executors up ({} adopted); running batches every {}", appId,
        setup.spec().getExecutors(), adopted, graph.batchInterval());
    if (graph.settings().getBoolean(STOP_GRACEFULLY_ON_SHUTDOWN, false)) {
      drainOnShutdown(graph.settings().getDuration(GRACEFUL_SHUTDOWN_TIMEOUT, Duration.ofSeconds(30)).millis());
    }
    long stopAfter = graph.settings().getLong(SettingKeys.STOP_AFTER_BATCHES, 0);
    String why;
    boolean archiveStarted = false;
    while ((why = reasonToStop(driver, stopAfter)) == null) {
      driver.runNextBatch();
      if (!archiveStarted) {
        // After the first batch the JVM has loaded what a restarted AM needs, and the dump no
        // longer competes with this attempt's own start; it needs room beside the AM.
        archiveStarted = true;
        long amMemoryMb = graph.settings().getInt(SettingKeys.AM_MEMORY_MB, SettingKeys.DEFAULT_AM_MEMORY_MB);
        classData.ifPresent(c -> c.writeInBackground(amMemoryMb,
            archive -> status.updateAndGet(old -> old.toBuilder().setRestartArchive(archive.toString()).build())));
      }
      status.updateAndGet(s -> s.toBuilder().setLastCheckpointSequence(driver.lastSequence()).clearRecentBatches()
          .setStateKept(driver.stateKeptByExecutors()).setBatchesReplayed(driver.batchesReplayed())
          .clearStateOperators().addAllStateOperators(driver.stateStatus())
          .addAllRecentBatches(driver.recentBatches()).build());
    }
    driver.recordBeforeStop();
    LOG.info("Application {}: {} after {} batches; finishing", appId, why, driver.batchesCompleted());
    return why + " after " + driver.batchesCompleted() + " batches";
  }

  /**
   * Takes over the executors an earlier attempt left running (YARN keeps containers across
   * attempts): each one that accepts this epoch keeps its slot and its in-memory state; the
   * containers of the others are given back. Returns how many were adopted.
   */
  private int adoptExecutors(ExecutorLauncher yarn, List<Container> previous, Map<String, PreviousExecutor> candidates,
      long epoch) {
    // All executors are asked at once: each answer waits for that executor's older tasks to end.
    Map<Container, ListenableFuture<AdoptResponse>> answers = new LinkedHashMap<>();
    for (Container c : previous) {
      PreviousExecutor candidate = candidates.get(c.getId().toString());
      if (candidate != null) {
        answers.put(c, ExecutorServiceGrpc.newFutureStub(candidate.channel())
            .withCallCredentials(setup.secret().callCredentials()).withDeadlineAfter(15, TimeUnit.SECONDS)
            .adopt(AdoptRequest.newBuilder().setEpoch(epoch).build()));
      }
    }
    int adopted = 0;
    for (Container c : previous) {
      PreviousExecutor candidate = candidates.get(c.getId().toString());
      if (candidate != null) {
        RegisterExecutorRequest r = candidate.registration();
        try {
          AdoptResponse answer = Futures.getUnchecked(answers.get(c));
          pool.adopted(r, answer.getHeldList(), candidate.channel());
          adopted++;
          LOG.info("Application {}: adopted {} in {} (slot {}), holding {} state partitions", appId,
              r.getExecutorId(), c.getId(), r.getSlot(), answer.getHeldCount());
          continue;
        } catch (UncheckedExecutionException e) {
          LOG.warn("Application {}: {} in {} did not accept epoch {}: {}", appId, r.getExecutorId(), c.getId(), epoch,
              Status.fromThrowable(e.getCause()));
          candidate.channel().shutdownNow();
        }
      }
      LOG.info("Application {}: releasing container {} of an earlier attempt", appId, c.getId());
      yarn.release(c.getId());
    }
    return adopted;
  }

  private static long registrationTimeoutMs(StreamGraph graph) {
    return graph.settings().getDuration(EXECUTOR_REGISTRATION_TIMEOUT, Duration.ofSeconds(120)).millis();
  }

  /** An executor the previous attempt recorded, and a channel already connecting to it. */
  private record PreviousExecutor(RegisterExecutorRequest registration, ManagedChannel channel) {}

  /** The previous attempt's executors that are still running, by container id, with channels connecting. */
  private Map<String, PreviousExecutor> connectToPreviousExecutors(List<Container> previous,
      ExecutorDirectory recorded) {
    if (previous.isEmpty()) {
      return Map.of();
    }
    Set<String> running = previous.stream().map(c -> c.getId().toString()).collect(Collectors.toSet());
    Map<String, PreviousExecutor> candidates = new HashMap<>();
    for (RegisterExecutorRequest r : recorded.getExecutorsList()) {
      if (running.contains(r.getContainerId()) && r.getSlot() < setup.spec().getExecutors()) {
        ManagedChannel channel = RpcChannels.channel(r.getHost() + ":" + r.getPort());
        channel.getState(true);
        PreviousExecutor old = candidates.put(r.getContainerId(), new PreviousExecutor(r, channel));
        if (old != null) {
          old.channel().shutdownNow();
        }
      }
    }
    return candidates;
  }

  /**
   * Why the batch loop ends now, or null to run the next batch. A graceful stop first runs the
   * batches {@link JobDriver#runsBatchBeforeGracefulStop()} asks for.
   */
  private String reasonToStop(JobDriver driver, long stopAfter) {
    return switch (stop.get()) {
      case IMMEDIATE -> "stopped";
      case GRACEFUL -> driver.runsBatchBeforeGracefulStop() ? null : "stopped gracefully";
      case NONE -> stopAfter > 0 && driver.batchesCompleted() >= stopAfter ? "reached " + stopAfter + " batches" : null;
    };
  }

  /** On SIGTERM, asks for a graceful stop and holds the JVM until the loop has ended or the timeout passed. */
  private void drainOnShutdown(long timeoutMs) {
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

  private void batchCompleted(BatchListener.BatchSummary s) {
    LOG.info("Application {}: batch {} (#{}) completed in {} ms, {} tasks, scheduling delay {} ms, epoch {}{}",
        appId, s.batchTimeMs(), s.index(), s.processingMs(), s.tasks(), s.schedulingDelayMs(), s.epoch(),
        s.rerun() ? ", re-run" : "");
    status.updateAndGet(old -> old.toBuilder().setState("RUNNING").setBatchesCompleted(old.getBatchesCompleted() + 1)
        .setLastBatchTimeMs(s.batchTimeMs()).setLastProcessingMs(s.processingMs())
        .setLastSchedulingDelayMs(s.schedulingDelayMs()).build());
  }
}
