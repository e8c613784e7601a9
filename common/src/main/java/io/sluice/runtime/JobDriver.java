package io.sluice.runtime;

import io.sluice.api.BatchInfo;
import io.sluice.api.Duration;
import io.sluice.api.SluiceException;
import io.sluice.api.Time;
import io.sluice.checkpoint.FingerprintCodec;
import io.sluice.checkpoint.MetadataStore;
import io.sluice.graph.OperatorKind;
import io.sluice.graph.OperatorNode;
import io.sluice.graph.SettingKeys;
import io.sluice.graph.StreamGraph;
import io.sluice.proto.BatchRecord;
import io.sluice.proto.BatchStats;
import io.sluice.proto.SnapshotWritten;
import io.sluice.proto.BatchStatus;
import io.sluice.proto.MetadataCheckpoint;
import io.sluice.proto.SourceState;
import io.sluice.proto.StateOperatorStatus;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The streaming driver's batch logic, shared by the AM and the local runner: it plans each batch
 * (recording its input in a metadata checkpoint before any task runs), runs it, and records its
 * completion, in a metadata checkpoint of its own or, when the next batch is due already, in the
 * next batch's plan. A driver started on a directory with a compatible checkpoint resumes from it
 * with a higher epoch and re-runs the batches that were planned but not completed, with the same
 * input.
 *
 * <p>Confined to one thread: the caller's.
 */
public final class JobDriver {
  private static final Logger LOG = LoggerFactory.getLogger(JobDriver.class);
  /** Completed batches whose statistics the metadata keeps. */
  public static final int RECENT_BATCHES_KEPT = 100;

  /**
   * What the driver runs in. {@code maxAttempts} is how many attempts YARN gives the driver (0:
   * no bound, as in the local runner); it tells when a batch that keeps ending drivers is a loop.
   */
  public record Environment(String applicationId, String appClass, Configuration hadoopConf, Clock clock,
      BatchListener listener, int maxAttempts) {}

  private final StreamGraph graph;
  private final MetadataStore store;
  private final Environment env;
  private final TaskService tasks;
  private final BatchExecution execution;
  private final SourcePlanner sources;
  private final Duration interval;
  private final int batchRetries;
  private final long maxCatchUpBatches;

  private StateCheckpoints state;
  private boolean stateReplayed;
  private boolean stateKeptByExecutors;
  /** Whether the next batch snapshots the state whatever the intervals ({@link #runsBatchBeforeGracefulStop()}). */
  private boolean snapshotInNextBatch;
  /** Whether a graceful stop has asked for its last batch to snapshot the state. */
  private boolean finalSnapshotAsked;
  /** A resumed driver deletes the snapshot files its predecessors left unrecorded once its first batch is in. */
  private boolean earlierEpochsSnapshotsToDelete;
  private long batchesReplayed;
  /** A fresh job whose clock may still be moved to when its executors are up ({@link #beginBatches()}). */
  private boolean clockPending;
  private long epoch;
  private long startTimeMs;
  private long lastCompletedMs;
  private long batchesCompleted;
  private long sequence;
  /**
   * Whether the last completed batch is recorded in memory only. A driver behind its batch times
   * plans the next batch at once, and that plan's metadata file records the completed batch too:
   * one write between two batches instead of two, each of them a synced file and a rename, 40-60 ms
   * with HDFS on the same host, on the path of every batch while the driver catches up. A driver
   * that dies first re-runs the batch as one that died in its commit: its outputs are found
   * committed, and the executors undo its state update.
   */
  private boolean completionUnwritten;
  private final List<BatchRecord> pending = new ArrayList<>();
  private final java.util.ArrayDeque<BatchStats> recent = new java.util.ArrayDeque<>();
  private final Map<String, Set<String>> consumedFiles = new LinkedHashMap<>();

  public JobDriver(StreamGraph graph, MetadataStore store, TaskService tasks, Environment env) {
    this.graph = graph;
    this.store = store;
    this.env = env;
    this.tasks = tasks;
    this.execution = new BatchExecution(graph, tasks, env.hadoopConf(), env.clock());
    this.sources = new SourcePlanner(env.hadoopConf());
    this.interval = graph.batchInterval();
    this.batchRetries = graph.settings().getInt(SettingKeys.BATCH_RETRIES, 2);
    this.maxCatchUpBatches = graph.settings().getLong(SettingKeys.MAX_CATCH_UP_BATCHES, 0);
    for (OperatorNode s : graph.ofRole(OperatorKind.Role.SOURCE)) {
      consumedFiles.put(s.id(), new LinkedHashSet<>());
    }
  }

  /**
   * Resumes from the newest valid checkpoint, or starts fresh on an empty directory, and records
   * the new epoch. Throws with the first differing operator when the checkpoint's graph differs.
   */
  public void start() throws Exception {
    store.ensureWritable();
    start(store.survey(LOG::warn));
  }

  /**
   * As {@link #start()}, from a survey of the checkpoint directory taken by the caller, which has
   * also checked it with {@link MetadataStore#ensureWritable()}; an AM does both, side by side,
   * while it registers with YARN.
   */
  public void start(MetadataStore.Survey survey) throws Exception {
    Optional<MetadataStore.Loaded> loaded = survey.newest();
    if (loaded.isPresent()) {
      resume(loaded.get(), survey);
    } else {
      startClock();
      clockPending = true;
      epoch = 1;
      LOG.info("Application {}: starting fresh at {} with checkpoint directory {}", env.applicationId(), startTimeMs,
          store.directory());
    }
    writeMetadata();
  }

  private void resume(MetadataStore.Loaded loaded, MetadataStore.Survey survey) throws java.io.IOException {
    MetadataCheckpoint cp = loaded.checkpoint();
    // A restart of the same application resets nothing, whatever its settings say.
    boolean newSubmission = !cp.getApplicationId().equals(env.applicationId())
        || !cp.getGraph().getDigest().equals(graph.fingerprint().digest());
    Set<String> startingEmpty = UpgradeCheck.operatorsStartingEmpty(graph, cp, newSubmission);
    UpgradeCheck.problem(graph, cp, startingEmpty).ifPresent(why -> {
      throw new SluiceException("cannot resume from checkpoint " + loaded.path() + ": " + why
          + "; use a new checkpoint directory to start this graph fresh");
    });
    if (!startingEmpty.isEmpty()) {
      LOG.warn("Application {}: the state of {} starts empty, not from the checkpoint", env.applicationId(),
          startingEmpty);
    }
    epoch = Math.max(cp.getEpoch(), survey.highestEpoch()) + 1;
    startTimeMs = cp.getStartTimeMs();
    lastCompletedMs = cp.getLastCompletedBatchMs();
    batchesCompleted = cp.getBatchesCompleted();
    // Above any damaged newer file too, which stays for inspection.
    sequence = Math.max(cp.getSequence(), survey.highestSequence());
    pending.addAll(cp.getPendingBatchesList());
    recent.addAll(cp.getRecentBatchesList());
    List<String> dropped = graph.accumulators().restore(cp.getAccumulatorsList());
    if (!dropped.isEmpty()) {
      LOG.warn("Application {}: the checkpoint has totals for accumulators {} that the application no longer "
          + "declares; they are dropped", env.applicationId(), dropped);
    }
    state = newStateCheckpoints();
    state.restore(cp.getStateSnapshotsList(), cp.getReplayLogList(), startingEmpty);
    for (SourceState s : cp.getSourcesList()) {
      consumedFiles.computeIfAbsent(s.getSourceId(), k -> new LinkedHashSet<>()).addAll(s.getConsumedFilesList());
    }
    LOG.info("Application {}: resuming from {} as epoch {}: {} batches completed, last at {}, {} to re-run",
        env.applicationId(), loaded.path(), epoch, batchesCompleted, lastCompletedMs, pending.size());
    execution.deleteEarlierEpochsLeftovers(epoch);
    earlierEpochsSnapshotsToDelete = true;
  }

  private void startClock() {
    long now = env.clock().wallMillis();
    startTimeMs = now - Math.floorMod(now, interval.millis());
    state = newStateCheckpoints();
  }

  private StateCheckpoints newStateCheckpoints() {
    return new StateCheckpoints(graph, store.directory(), graph.settings().getInt(SettingKeys.FULL_SNAPSHOT_EVERY, 10),
        startTimeMs);
  }

  /**
   * Brings the executors' state to the last completed batch after a restart: nothing to do when
   * the executors (adopted from the previous attempt) still hold it there; otherwise the snapshot,
   * then the completed batches after it replayed with the input they had, without output.
   */
  private void replayState() throws Exception {
    List<BatchRecord> toReplay = state.batchesToReplay();
    if (state.hasState() && lastCompletedMs > 0 && state.heldBy(tasks, lastCompletedMs)) {
      state.keptAt(lastCompletedMs);
      stateKeptByExecutors = true;
      stateReplayed = true;
      LOG.info("Application {}: the executors hold every state partition at batch {}: nothing to restore, "
          + "{} batches after the snapshot not replayed", env.applicationId(), lastCompletedMs, toReplay.size());
      return;
    }
    for (BatchRecord batch : toReplay) {
      long t = batch.getBatchTimeMs();
      long started = env.clock().monotonicNanos();
      BatchExecution.Outcome outcome = execution.run(batch,
          new BatchInfo(new Time(t), new Time(startTimeMs), interval, epoch), true, state, this::checkNotFenced);
      recordState(batch, outcome, true);
      batchesReplayed++;
      LOG.info("Application {}: replayed batch {} onto the restored state in {} ms", env.applicationId(), t,
          (env.clock().monotonicNanos() - started) / 1_000_000L);
    }
    stateReplayed = true;
  }

  /** Whether this driver found the state it resumed from still in its executors' memory. */
  public boolean stateKeptByExecutors() {
    return stateKeptByExecutors;
  }

  /** How many completed batches this driver replayed to rebuild state. */
  public long batchesReplayed() {
    return batchesReplayed;
  }

  /** Records what a completed (or {@code replayed}) batch did to the state: its snapshots and the partitions' sizes. */
  private void recordState(BatchRecord batch, BatchExecution.Outcome outcome, boolean replayed) {
    state.completed(batch, outcome.snapshots(), replayed);
    state.sized(outcome.stateSizes());
  }

  /** Each stateful operator's size after its last update and its recorded snapshots, in graph order. */
  public List<StateOperatorStatus> stateStatus() {
    return state == null ? List.of() : state.status();
  }

  /** Whether batches were planned (their input recorded) but not yet completed. */
  private boolean hasPlannedBatches() {
    return !pending.isEmpty();
  }

  /**
   * The time of the batch {@link #runNextBatch()} will run: the next batch time, or, when more
   * batch times are due than the catch-up bound allows, a later one whose batch takes the input
   * of all the due times up to it.
   */
  public long nextBatchTimeMs() {
    if (!pending.isEmpty()) {
      return pending.get(0).getBatchTimeMs();
    }
    long next = followingBatchMs();
    long now = env.clock().wallMillis();
    if (maxCatchUpBatches <= 0 || now < next) {
      return next;
    }
    long lastDue = next + (now - next) / interval.millis() * interval.millis();
    return Math.max(next, lastDue - (maxCatchUpBatches - 1) * interval.millis());
  }

  /** The batch time after the last completed one. */
  private long followingBatchMs() {
    return Math.max(lastCompletedMs, startTimeMs) + interval.millis();
  }

  /**
   * For a fresh job, starts the batch clock now, when batches can run, rather than when the driver
   * came up, so the job does not begin behind by its executors' start-up time. A resumed job keeps
   * its recorded start time.
   */
  public void beginBatches() {
    if (clockPending) {
      startClock();
      clockPending = false;
    }
  }

  /** Waits for the next batch time, then plans (or re-runs) and runs that batch. */
  public void runNextBatch() throws Exception {
    if (!stateReplayed) {
      replayState();
    }
    long t = nextBatchTimeMs();
    if (snapshotInNextBatch) {
      snapshotInNextBatch = false;
      state.forceSnapshotAt(t);
    }
    env.clock().waitUntil(t);
    BatchInfo info = new BatchInfo(new Time(t), new Time(startTimeMs), interval, epoch);
    boolean rerun = !pending.isEmpty();
    BatchRecord batch = rerun ? startRerun(pending.get(0), info) : plan(info);
    long started = env.clock().wallMillis();
    long startNanos = env.clock().monotonicNanos();
    BatchExecution.Outcome outcome = runWithRetries(batch, info);
    long processingMs = (env.clock().monotonicNanos() - startNanos) / 1_000_000L;
    graph.accumulators().commitBatch();
    recordState(batch, outcome, false);
    recent.addLast(BatchStats.newBuilder().setBatchTimeMs(t).setProcessingMs(processingMs)
        .setSchedulingDelayMs(started - t).setTasks(outcome.tasks()).setEpoch(epoch)
        .setSnapshotBytes(outcome.snapshots().stream().mapToLong(SnapshotWritten::getBytes).sum())
        .setSnapshotTaken(state.hasState() && state.isSnapshotBatch(t)).addAllStages(outcome.stages()).build());
    while (recent.size() > RECENT_BATCHES_KEPT) {
      recent.removeFirst();
    }
    pending.remove(0);
    lastCompletedMs = t;
    batchesCompleted++;
    completionUnwritten = true;
    // Unless the next batch is a new one that is due already: its plan, written at once, records this one.
    if (!pending.isEmpty() || nextBatchTimeMs() > env.clock().wallMillis()) {
      writeMetadata();
    }
    env.listener().onBatchCompleted(new BatchListener.BatchSummary(t, info.index(), epoch, started - t, processingMs,
        outcome.tasks(), rerun));
    if (earlierEpochsSnapshotsToDelete) {
      // After the first batch, so that a restart's first batch does not wait for it.
      earlierEpochsSnapshotsToDelete = false;
      StateCheckpoints.deleteEarlierEpochsFiles(store, epoch);
    }
  }

  /**
   * Whether a graceful stop runs another batch first: a batch planned but not completed, or, when
   * the last completed batch took no snapshot of the state, one more batch that snapshots every
   * state partition whatever the checkpoint intervals (asked for once), so that the next start
   * replays nothing.
   */
  public boolean runsBatchBeforeGracefulStop() {
    if (hasPlannedBatches()) {
      return true;
    }
    if (finalSnapshotAsked || state.snapshotsReach(lastCompletedMs)) {
      return false;
    }
    finalSnapshotAsked = true;
    snapshotInNextBatch = true;
    LOG.info("Application {}: stopping after one more batch, which snapshots the state so that the next start "
        + "replays nothing", env.applicationId());
    return true;
  }

  /**
   * Before a stop (not a kill): records in the checkpoint the last completed batch, when it waits
   * for the next batch's plan to be written, and the snapshots the last batch took, which the
   * executors write in the background and the next batch's tasks would have reported. Without
   * them the next start would restore the snapshots before and replay up to a checkpoint interval
   * of batches. Failing to collect them costs only that replay, so it is logged, not thrown.
   */
  public void recordBeforeStop() throws Exception {
    boolean reportsCollected = false;
    if (state.awaitsReports()) {
      try {
        List<SnapshotWritten> reports = tasks.reportSnapshots(epoch);
        if (state.lastReports(reports)) {
          LOG.info("Application {}: recorded the snapshots of batch {} ({} files)", env.applicationId(),
              lastCompletedMs, reports.size());
        }
        reportsCollected = true;
      } catch (Exception e) {
        LOG.warn("Application {}: the snapshots of batch {} are not recorded, and the next start replays from the "
            + "snapshots before them: {}", env.applicationId(), lastCompletedMs, e.toString());
      }
    }
    if (reportsCollected || completionUnwritten) {
      writeMetadata();
    }
  }

  /**
   * Runs a batch, and after a failure runs it again with the same input, up to the configured
   * number of retries: lost executors are replaced and the state comes back from the snapshots
   * plus replay. When every run failed the failure is recorded in the checkpoint and thrown.
   */
  private BatchExecution.Outcome runWithRetries(BatchRecord batch, BatchInfo info) throws Exception {
    for (int run = 1; ; run++) {
      try {
        if (run > 1) {
          tasks.recover();
          state.resetToSnapshot();
          stateKeptByExecutors = false;
          replayState();
        }
        return execution.run(batch, info, false, state, this::checkNotFenced);
      } catch (FencedException e) {
        throw e;
      } catch (Exception e) {
        if (run > batchRetries) {
          throw recordFailure(batch, run, e);
        }
        LOG.warn("Application {}: batch {} failed (run {} of {}): {}; running it again", env.applicationId(),
            batch.getBatchTimeMs(), run, batchRetries + 1, e.getMessage());
      }
    }
  }

  private BatchFailedException recordFailure(BatchRecord batch, int runs, Exception cause) throws Exception {
    BatchRecord failed = batch.toBuilder().setFailedAttempts(batch.getFailedAttempts() + 1)
        .setFailedRuns(batch.getFailedRuns() + runs).setLastError(String.valueOf(cause.getMessage())).build();
    pending.set(0, failed);
    writeMetadata();
    return BatchFailedException.runsFailed(batch.getBatchTimeMs(), runs, failed.getFailedAttempts(),
        failed.getFailedRuns(), batch.getRunByEpochsCount(), cause);
  }

  /**
   * Records that this driver starts running a batch earlier drivers planned, after checking that
   * they did not end on it so often that this is a crash loop: then this attempt, the last or
   * last but one YARN allows, stops with diagnostics that name the batch instead.
   */
  private BatchRecord startRerun(BatchRecord batch, BatchInfo info) throws Exception {
    if (batch.getRunByEpochsList().contains(epoch)) {
      return batch;
    }
    int ended = batch.getRunByEpochsCount();
    int died = ended - batch.getFailedAttempts();
    if (ended > 0) {
      LOG.warn("Application {}: batch {} was running when {} earlier attempt(s) ended: {} died, {} failed{}",
          env.applicationId(), batch.getBatchTimeMs(), ended, died, batch.getFailedAttempts(),
          batch.getFailedAttempts() > 0 ? " (last error: " + batch.getLastError() + ")" : "");
    }
    if (env.maxAttempts() > 0 && died > 0 && ended >= Math.max(2, env.maxAttempts() - 1)) {
      throw BatchFailedException.crashLoop(batch.getBatchTimeMs(), info.index(), ended, died,
          batch.getFailedAttempts(), batch.getLastError());
    }
    BatchRecord started = batch.toBuilder().addRunByEpochs(epoch).build();
    pending.set(0, started);
    writeMetadata();
    return started;
  }

  private BatchRecord plan(BatchInfo info) throws Exception {
    BatchRecord.Builder batch = BatchRecord.newBuilder().setBatchTimeMs(info.time().millis())
        .setStatus(BatchStatus.PLANNED).setEpoch(epoch).addRunByEpochs(epoch);
    long covered = (info.time().millis() - followingBatchMs()) / interval.millis() + 1;
    if (covered > 1) {
      LOG.info("Application {}: batch {} catches up, taking the input of {} batch times", env.applicationId(),
          info.time().millis(), covered);
    }
    for (OperatorNode source : graph.ofRole(OperatorKind.Role.SOURCE)) {
      batch.addInputs(sources.plan(source, info, covered, consumedFiles.get(source.id())));
    }
    BatchRecord planned = batch.build();
    pending.add(planned);
    writeMetadata();
    return planned;
  }

  /**
   * Fails with {@link FencedException} when a newer driver has written the checkpoint: a zombie
   * attempt (one YARN gave up on but that still runs) must neither commit output nor metadata.
   */
  private void checkNotFenced() throws Exception {
    // This driver wrote every file up to its own sequence: only a newer one can come from another.
    if (store.highestSequence() <= sequence) {
      return;
    }
    Optional<MetadataStore.Loaded> newest = store.readNewestValid(LOG::warn);
    if (newest.isPresent() && newest.get().checkpoint().getEpoch() > epoch) {
      throw new FencedException(epoch, newest.get().checkpoint().getEpoch());
    }
  }

  private void writeMetadata() throws Exception {
    if (sequence > 0) {
      checkNotFenced();
    }
    MetadataCheckpoint.Builder cp = MetadataCheckpoint.newBuilder()
        .setApplicationId(env.applicationId())
        .setAppClass(env.appClass())
        .setEpoch(epoch)
        .setStartTimeMs(startTimeMs)
        .setBatchIntervalMs(interval.millis())
        .setGraph(FingerprintCodec.toProto(graph.fingerprint()))
        .setLastCompletedBatchMs(lastCompletedMs)
        .setBatchesCompleted(batchesCompleted)
        .addAllPendingBatches(pending)
        .setSequence(++sequence)
        .setWrittenAtMs(env.clock().wallMillis())
        .addAllStateSnapshots(state.snapshots())
        .addAllReplayLog(state.replayLog())
        .addAllRecentBatches(recent)
        .addAllAccumulators(graph.accumulators().totals());
    consumedFiles.forEach((id, files) -> {
      if (!files.isEmpty()) {
        cp.addSources(SourceState.newBuilder().setSourceId(id).addAllConsumedFiles(files));
      }
    });
    try {
      store.write(cp.build());
    } catch (MetadataStore.SequenceTakenException e) {
      checkNotFenced();
      // An older driver (a zombie) wrote this sequence number between the fence check and the
      // write: this driver's metadata supersedes it under the next free number.
      LOG.warn("Application {}: {}; an older epoch wrote it, writing this epoch's metadata after it",
          env.applicationId(), e.getMessage());
      sequence = store.highestSequence() + 1;
      store.write(cp.setSequence(sequence).build());
    }
    completionUnwritten = false;
    for (String unreferenced : state.afterMetadataWritten(sequence, store.retained())) {
      org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(unreferenced);
      p.getFileSystem(env.hadoopConf()).delete(p, false);
    }
  }

  public long epoch() {
    return epoch;
  }

  public long startTimeMs() {
    return startTimeMs;
  }

  public long batchesCompleted() {
    return batchesCompleted;
  }

  public long lastCompletedBatchMs() {
    return lastCompletedMs;
  }

  /** Statistics of the most recent completed batches, oldest first. */
  public List<BatchStats> recentBatches() {
    return List.copyOf(recent);
  }

  public long lastSequence() {
    return sequence;
  }
}
