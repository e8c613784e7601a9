package io.sluice.state;

import com.google.common.util.concurrent.ThreadFactoryBuilder;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.sluice.proto.SnapshotWritten;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Encodes the snapshots that tasks took and writes them to their files on one background thread, so that a batch
 * does not wait for the checkpoint file system (Flink's heap backend writes its snapshots
 * asynchronously for the same reason). Each state partition has at most one snapshot not yet
 * reported to the driver: a later task of the partition reports it once written ({@link
 * #writtenUnreported}), and the task that takes the partition's next snapshot waits for its write
 * first ({@link #awaitWritten}). A snapshot of a state that was then rolled back, restored or cleared is
 * dropped: its file is deleted once written, and never reported.
 *
 * <p>A write runs in the time between batches: it begins once the driver is done with its batch
 * ({@link #batchDone}), and before each piece of the file it waits while a task runs in this JVM
 * ({@link #taskRunning}); it is held back for at most {@link #MAX_HELD_BACK} in all. On a machine
 * whose cores the tasks keep busy, a write that runs beside them, with the file system's own work
 * for it, slows the batches down by about its own cost. A task waiting for a write does not hold
 * it back.
 *
 * <p>Thread-safe: tasks of different partitions call it concurrently; calls for one partition come
 * from its task, one at a time.
 */
public final class BackgroundSnapshots implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(BackgroundSnapshots.class);

  /** A snapshot the driver asked for: the state at batch {@code batchMs}, to {@code path}. */
  public record Request(String nodeId, int partition, String path, long batchMs, boolean full, long deltaBaseMs) {}

  /** A snapshot after its write: {@code written} when the file holds it, else {@code error}. */
  public record Outcome(Request request, Optional<SnapshotFiles.Written> written, String error) {
    /** The outcome as the driver gets it. */
    public SnapshotWritten report() {
      SnapshotWritten.Builder r = SnapshotWritten.newBuilder().setNodeId(request.nodeId())
          .setPartition(request.partition()).setPath(request.path()).setFull(request.full())
          .setBatchTimeMs(request.batchMs()).setDeltaBaseBatchMs(request.deltaBaseMs()).setError(error);
      written.ifPresent(w -> r.setBytes(w.bytes()).setKeys(w.keys()));
      return r.build();
    }
  }

  private record PartitionId(String nodeId, int partition) {}

  /** A snapshot not yet reported: its entries, copied by the writer or the partition's next task, and its write. */
  private record Unreported(SnapshotFiles.Taken snapshot, CompletableFuture<Outcome> outcome) {}

  /**
   * The longest a write is held back for running tasks, in all: after it the write goes on beside
   * them, so that a JVM whose tasks never pause still writes its snapshots. Half the default
   * checkpoint interval: under a load that leaves the executors idle part of each second, a write
   * finds enough of that idle time long before the next snapshot waits for it.
   */
  static final Duration MAX_HELD_BACK = Duration.ofSeconds(5);

  private final Map<PartitionId, Unreported> unreported = new ConcurrentHashMap<>();
  private final Duration maxHeldBack;
  @GuardedBy("this")
  private int runningTasks;
  /** The latest batch the driver is done with. */
  @GuardedBy("this")
  private long doneBatchMs = Long.MIN_VALUE;
  private final ExecutorService writer = Executors.newSingleThreadExecutor(
      new ThreadFactoryBuilder().setNameFormat("sluice-snapshot-writer").setDaemon(true).build());

  public BackgroundSnapshots() {
    this(MAX_HELD_BACK);
  }

  BackgroundSnapshots(Duration maxHeldBack) {
    this.maxHeldBack = maxHeldBack;
  }

  /** Counts a task as running in this JVM until the returned handle is closed; writes give way to it. */
  public TaskRunning taskRunning() {
    changeRunningTasks(1);
    return () -> changeRunningTasks(-1);
  }

  /** A task counted as running, until closed. */
  public interface TaskRunning extends AutoCloseable {
    @Override
    void close();
  }

  /** The driver is done with the batches up to {@code batchMs}: their snapshots can be written. */
  public synchronized void batchDone(long batchMs) {
    doneBatchMs = Math.max(doneBatchMs, batchMs);
    notifyAll();
  }

  private synchronized void changeRunningTasks(int by) {
    runningTasks += by;
    if (runningTasks == 0) {
      notifyAll();
    }
  }

  /**
   * Waits while batch {@code batchMs} is not done or a task runs, until {@code deadlineNanos} (of
   * {@link System#nanoTime}): called by the writer before each piece of a file.
   */
  private synchronized void awaitTimeToWrite(long batchMs, long deadlineNanos) throws InterruptedException {
    for (long left = deadlineNanos - System.nanoTime(); (doneBatchMs < batchMs || runningTasks > 0) && left > 0;
        left = deadlineNanos - System.nanoTime()) {
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
  }

  /**
   * Starts copying, encoding and writing {@code snapshot}; the outcome is the partition's unreported
   * snapshot until {@link #writtenUnreported}. The file is begun at once; the copy of its entries
   * waits for the time to write like the rest, unless the partition's next task makes it first
   * ({@link #copyBeforeChange}).
   */
  public void write(Request request, SnapshotFiles.Taken snapshot, Configuration conf) {
    CompletableFuture<Outcome> outcome = CompletableFuture.supplyAsync(() -> {
      try {
        long deadline = System.nanoTime() + maxHeldBack.toNanos();
        return new Outcome(request, Optional.of(SnapshotFiles.write(snapshot, new Path(request.path()), conf,
            () -> awaitTimeToWrite(request.batchMs(), deadline))), "");
      } catch (Exception e) {
        LOG.warn("Could not write the snapshot {}: {}", request.path(), e.toString());
        return new Outcome(request, Optional.empty(), String.valueOf(e.getMessage()));
      }
    }, writer);
    Unreported earlier = unreported.put(new PartitionId(request.nodeId(), request.partition()),
        new Unreported(snapshot, outcome));
    if (earlier != null) {
      throw new IllegalStateException("partition " + request.partition() + " of " + request.nodeId()
          + " took a snapshot before reporting the one before it");
    }
  }

  /**
   * Copies the entries of the partition's unreported snapshot if the writer has not yet: for the
   * partition's next task, before it changes the state. Never waits for a write.
   */
  public void copyBeforeChange(String nodeId, int partition) {
    Unreported last = unreported.get(new PartitionId(nodeId, partition));
    if (last != null) {
      last.snapshot().copyEntries();
    }
  }

  /**
   * Hands over the partition's unreported snapshot to be reported if its write has finished; never
   * waits. A task that takes no snapshot calls it, so that it does not wait for a write held back
   * for the tasks.
   */
  public Optional<Outcome> writtenUnreported(String nodeId, int partition) {
    PartitionId id = new PartitionId(nodeId, partition);
    Unreported last = unreported.get(id);
    if (last == null || !last.outcome().isDone() || !unreported.remove(id, last)) {
      return Optional.empty();
    }
    return Optional.of(last.outcome().join());
  }

  /**
   * Waits until the write of the partition's unreported snapshot, if it has one, is over; the
   * snapshot stays unreported, for {@link #writtenUnreported}. For a task about to take the
   * partition's next snapshot. Called by a task that is counted as {@link #taskRunning}, which is
   * not counted while it waits, so that the write does not wait for it.
   */
  public void awaitWritten(String nodeId, int partition) throws InterruptedException {
    Unreported last = unreported.get(new PartitionId(nodeId, partition));
    if (last == null) {
      return;
    }
    changeRunningTasks(-1);
    try {
      joined(last.outcome());
    } finally {
      changeRunningTasks(1);
    }
  }

  private static Outcome joined(CompletableFuture<Outcome> outcome) throws InterruptedException {
    try {
      return outcome.get();
    } catch (ExecutionException e) {
      throw new IllegalStateException("the snapshot writer failed", e.getCause());
    }
  }

  /**
   * Waits for the unreported snapshots of every partition and hands them over to be reported: for a
   * driver that stops after a batch that took snapshots, since no next task will report them.
   */
  public List<SnapshotWritten> awaitAllUnreported() throws InterruptedException {
    List<SnapshotWritten> reports = new ArrayList<>();
    for (PartitionId id : List.copyOf(unreported.keySet())) {
      Unreported last = unreported.remove(id);
      if (last != null) {
        reports.add(joined(last.outcome()).report());
      }
    }
    return reports;
  }

  /**
   * Drops the partition's unreported snapshot: the state it holds is not the partition's any more.
   * Its file is deleted once written, so that no metadata file can refer to it by mistake.
   */
  public void drop(String nodeId, int partition, Configuration conf) {
    Unreported last = unreported.remove(new PartitionId(nodeId, partition));
    if (last != null) {
      CompletableFuture<Outcome> outcome = last.outcome();
      // Queued behind the write on the one writer thread, so the write has finished when this runs,
      // and close() waits for it like for a write.
      writer.execute(() -> {
        Outcome o = outcome.join();
        if (o.written().isPresent()) {
          Path path = new Path(o.request().path());
          try {
            path.getFileSystem(conf).delete(path, false);
            LOG.info("Deleted the snapshot {}: its partition's state was rolled back or replaced", path);
          } catch (Exception e) {
            LOG.warn("Could not delete the dropped snapshot {}: {}", path, e.toString());
          }
        }
      });
    }
  }

  /**
   * Lets the writes and deletions already started finish, and waits for them, so that nothing
   * writes into the checkpoint directory after its owner let go of it (a test deleting it, a
   * local runner's temporary directory). Takes no new writes.
   */
  @Override
  public void close() throws InterruptedException {
    writer.shutdown();
    if (!writer.awaitTermination(1, TimeUnit.MINUTES)) {
      LOG.warn("Snapshot writes still running a minute after close; leaving them to finish on their own");
    }
  }
}
