package io.sluice.local;

import com.google.common.io.MoreFiles;
import com.google.common.io.RecursiveDeleteOption;
import io.sluice.api.Settings;
import io.sluice.api.SluiceException;
import io.sluice.api.StreamingApp;
import io.sluice.checkpoint.MetadataStore;
import io.sluice.graph.GraphBuilder;
import io.sluice.graph.SettingKeys;
import io.sluice.graph.StreamGraph;
import io.sluice.proto.BatchStats;
import io.sluice.proto.SnapshotWritten;
import io.sluice.proto.StateOperatorStatus;
import io.sluice.proto.TaskRequest;
import io.sluice.runtime.BatchListener;
import io.sluice.runtime.JobDriver;
import io.sluice.runtime.ManualClock;
import io.sluice.runtime.ShuffleBuffers;
import io.sluice.runtime.ShuffleFetcher;
import io.sluice.runtime.ShuffleStore;
import io.sluice.runtime.TaskRunner;
import io.sluice.runtime.TaskService;
import io.sluice.state.StateStores;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Runs a {@link StreamingApp} in-process, for the application's own unit tests: the same graph,
 * operators, shuffle, outputs and checkpoint files as on YARN, on a manual clock, so batches run
 * when the test says and no test waits for real time.
 *
 * <pre>{@code
 * try (LocalRunner job = LocalRunner.start(new MyApp(), Map.of("input.dir", dir))) {
 *   job.runBatches(3);
 * }
 * }</pre>
 *
 * Without a checkpoint directory the runner checkpoints to a temporary one, deleted on close.
 * Paths without a scheme are local files.
 */
public final class LocalRunner implements AutoCloseable {
  private final ManualClock clock;
  private final JobDriver driver;
  private final ExecutorService threads;
  private final StateStores stateStores;
  private final java.nio.file.Path tempCheckpoint;
  private boolean stopped;

  private LocalRunner(ManualClock clock, JobDriver driver, ExecutorService threads, StateStores stateStores,
      java.nio.file.Path tempCheckpoint) {
    this.clock = clock;
    this.driver = driver;
    this.threads = threads;
    this.stateStores = stateStores;
    this.tempCheckpoint = tempCheckpoint;
  }

  /** Starts (or resumes, if its checkpoint directory holds a checkpoint) the application at clock time 0. */
  public static LocalRunner start(StreamingApp app, Map<String, String> settings) throws Exception {
    return start(app, settings, new ManualClock(0), summary -> {});
  }

  /** As {@link #start(StreamingApp, Map)}, on the given clock, reporting each completed batch. */
  public static LocalRunner start(StreamingApp app, Map<String, String> settings, ManualClock clock,
      BatchListener listener) throws Exception {
    StreamGraph graph = GraphBuilder.build(app, new Settings(settings));
    Configuration conf = new Configuration();
    java.nio.file.Path temp = graph.checkpointDir().isPresent() ? null : Files.createTempDirectory("sluice-local-");
    Path dir = new Path(graph.checkpointDir().orElseGet(() -> temp.toUri().toString()));
    FileSystem fs = dir.getFileSystem(conf);
    MetadataStore store = new MetadataStore(fs, dir, graph.settings().getInt(SettingKeys.CHECKPOINT_RETAINED, 10));
    ExecutorService threads = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "sluice-local-task");
      t.setDaemon(true);
      return t;
    });
    ShuffleStore shuffle = new ShuffleStore(ShuffleBuffers.forThisJvm());
    TaskRunner runner = new TaskRunner(graph, shuffle, ShuffleFetcher.local(shuffle), conf);
    JobDriver driver = new JobDriver(graph, store, new ThreadTaskService(runner, threads),
        new JobDriver.Environment("local", app.getClass().getName(), conf, clock, listener, 0));
    driver.start();
    return new LocalRunner(clock, driver, threads, runner.stateStores(), temp);
  }

  /** Moves the clock to each next batch time and runs that batch, {@code count} times. */
  public void runBatches(int count) throws Exception {
    if (stopped) {
      throw new IllegalStateException("this runner was stopped; start a new one on the checkpoint directory");
    }
    for (int i = 0; i < count; i++) {
      long next = driver.nextBatchTimeMs();
      if (next > clock.wallMillis()) {
        clock.advance(next - clock.wallMillis());
      }
      driver.runNextBatch();
    }
  }

  /**
   * Stops the job as {@code sluice stop} does: with {@code stopGracefully}, first runs and commits
   * every batch that was planned but not completed (as after resuming from a checkpoint with
   * pending batches), so the checkpoint ends with none, and then, unless the last batch took a
   * snapshot of the state, one more batch that does, so that the next run replays nothing; without
   * it, planned batches stay in the checkpoint for the next run. Either way the snapshots taken in
   * the last batch are recorded in the checkpoint, so the next run starts from them. No batch runs
   * after a stop.
   */
  public void stop(boolean stopGracefully) throws Exception {
    if (stopped) {
      return;
    }
    if (stopGracefully) {
      while (driver.runsBatchBeforeGracefulStop()) {
        runBatches(1);
      }
    }
    driver.recordBeforeStop();
    stopped = true;
  }

  public ManualClock clock() {
    return clock;
  }

  public long epoch() {
    return driver.epoch();
  }

  public long batchesCompleted() {
    return driver.batchesCompleted();
  }

  /** Batches this run replayed to rebuild its state from the snapshots in the checkpoint. */
  public long batchesReplayed() {
    return driver.batchesReplayed();
  }

  public long startTimeMs() {
    return driver.startTimeMs();
  }

  /** The most recent completed batches' statistics, oldest first, as the metadata checkpoint records them. */
  public List<BatchStats> recentBatches() {
    return driver.recentBatches();
  }

  /** Each stateful operator's size and recorded snapshots, as the AM's status shows them. */
  public List<StateOperatorStatus> stateStatus() {
    return driver.stateStatus();
  }

  @Override
  public void close() throws IOException, InterruptedException {
    threads.shutdownNow();
    threads.awaitTermination(1, TimeUnit.MINUTES);
    stateStores.close();
    if (tempCheckpoint != null) {
      MoreFiles.deleteRecursively(tempCheckpoint, RecursiveDeleteOption.ALLOW_INSECURE);
    }
  }

  /** Runs tasks on a small thread pool, all shuffle blocks in one store. */
  private record ThreadTaskService(TaskRunner runner, ExecutorService threads)
      implements TaskService {
    @Override
    public List<CompletedTask> runAll(List<TaskRequest> tasks) throws Exception {
      List<Future<CompletedTask>> futures = new ArrayList<>();
      for (TaskRequest t : tasks) {
        futures.add(threads.submit(() -> new CompletedTask(runner.run(t), "local")));
      }
      List<CompletedTask> done = new ArrayList<>();
      for (Future<CompletedTask> f : futures) {
        try {
          done.add(f.get());
        } catch (java.util.concurrent.ExecutionException e) {
          Throwable cause = e.getCause();
          throw cause instanceof Exception ex ? ex : new SluiceException("task failed: " + cause, cause);
        }
      }
      return done;
    }

    @Override
    public void release(long batchMs) {
      runner.release(batchMs);
    }

    @Override
    public List<SnapshotWritten> reportSnapshots(long epoch) throws InterruptedException {
      return runner.stateStores().snapshots().awaitAllUnreported();
    }
  }
}
