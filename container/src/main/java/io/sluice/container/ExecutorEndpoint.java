package io.sluice.container;

import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.sluice.proto.AdoptRequest;
import io.sluice.proto.AdoptResponse;
import io.sluice.proto.ExecutorServiceGrpc;
import io.sluice.proto.FetchShuffleRequest;
import io.sluice.proto.FetchShuffleResponse;
import io.sluice.proto.HeldState;
import io.sluice.proto.ReleaseBatchRequest;
import io.sluice.proto.ReleaseBatchResponse;
import io.sluice.proto.ReportSnapshotsRequest;
import io.sluice.proto.ReportSnapshotsResponse;
import io.sluice.proto.TaskRequest;
import io.sluice.proto.TaskResult;
import io.sluice.runtime.ShuffleChunk;
import io.sluice.runtime.ShuffleInput;
import io.sluice.runtime.ShuffleStore;
import io.sluice.runtime.TaskRunner;
import io.sluice.state.StateStores;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The executor's RPC endpoint: runs the driver's tasks and serves shuffle blocks to peers. Tasks
 * from an epoch older than the newest one seen are refused, so an old driver cannot run work here.
 *
 * <p>A new AM attempt adopts the executor: from then on only its epoch runs tasks, and it learns
 * which state partitions this JVM holds at which batch. Tasks run under the read side of
 * {@link #adoption} and adoption takes the write side, so no task of an older epoch is still
 * changing state when the versions are reported.
 */
final class ExecutorEndpoint extends ExecutorServiceGrpc.ExecutorServiceImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(ExecutorEndpoint.class);

  private static final long ADOPTION_WAIT_SECONDS = 10;
  /**
   * A shuffle fetch's messages carry about this many bytes of chunks: enough that the cost per
   * message vanishes, little enough that sending, receiving and copying them overlap.
   */
  private static final long FETCH_MESSAGE_BYTES = 1 << 20;

  private final String executorId;
  private final TaskRunner runner;
  private final ShuffleStore shuffle;
  private final AtomicLong newestEpoch;
  private final ReadWriteLock adoption = new ReentrantReadWriteLock();

  ExecutorEndpoint(String executorId, TaskRunner runner, ShuffleStore shuffle, AtomicLong newestEpoch) {
    this.executorId = executorId;
    this.runner = runner;
    this.shuffle = shuffle;
    this.newestEpoch = newestEpoch;
  }

  @Override
  public void runTask(TaskRequest request, StreamObserver<TaskResult> out) {
    adoption.readLock().lock();
    try {
      if (refusedAsOlder(request.getBatch().getEpoch(), "task " + request.getTaskId(), out)) {
        return;
      }
      out.onNext(runner.run(request));
      out.onCompleted();
    } catch (Exception e) {
      LOG.error("Executor {}: batch {} task {} failed", executorId, request.getBatch().getBatchTimeMs(),
          request.getTaskId(), e);
      out.onError(Status.INTERNAL.withDescription(String.valueOf(e.getMessage())).asRuntimeException());
    } finally {
      adoption.readLock().unlock();
    }
  }

  @Override
  public void adopt(AdoptRequest request, StreamObserver<AdoptResponse> out) {
    if (refusedAsOlder(request.getEpoch(), "adoption", out)) {
      return;
    }
    try {
      // Tasks of the older epoch that are still running finish first; new ones are refused.
      if (!adoption.writeLock().tryLock(ADOPTION_WAIT_SECONDS, TimeUnit.SECONDS)) {
        out.onError(Status.UNAVAILABLE.withDescription("tasks of an earlier epoch still running after "
            + ADOPTION_WAIT_SECONDS + " s").asRuntimeException());
        return;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      out.onError(Status.CANCELLED.asRuntimeException());
      return;
    }
    try {
      runner.release(Long.MAX_VALUE);
      AdoptResponse.Builder response = AdoptResponse.newBuilder().setExecutorId(executorId);
      for (StateStores.Held h : runner.stateStores().held()) {
        HeldState.Builder held = HeldState.newBuilder().setNodeId(h.nodeId()).setPartition(h.partition())
            .setVersionMs(h.versionMs());
        if (h.undoableToMs() >= 0) {
          held.setUndoableToMs(h.undoableToMs());
        }
        response.addHeld(held);
      }
      LOG.info("Executor {}: adopted by epoch {}, holding {} state partitions", executorId, request.getEpoch(),
          response.getHeldCount());
      out.onNext(response.build());
      out.onCompleted();
    } finally {
      adoption.writeLock().unlock();
    }
  }

  /**
   * Notes {@code epoch} as seen; when a newer one was seen already, answers {@code out} with the
   * refusal of {@code what} and returns true.
   */
  private boolean refusedAsOlder(long epoch, String what, StreamObserver<?> out) {
    long newest = newestEpoch.accumulateAndGet(epoch, Math::max);
    if (epoch >= newest) {
      return false;
    }
    out.onError(Status.FAILED_PRECONDITION.withDescription(what + " is from epoch " + epoch
        + " but this executor follows epoch " + newest).asRuntimeException());
    return true;
  }

  @Override
  public void fetchShuffle(FetchShuffleRequest request, StreamObserver<FetchShuffleResponse> out) {
    // The stored chunks are never changed, so they are sent without a copy. gRPC copies them into
    // its own buffers in onNext, so the blocks are held until the last one only.
    try (ShuffleInput blocks = shuffle.read(request.getBatchTimeMs(), request.getNodeId(), request.getTaskIdsList(),
        request.getPartition())) {
      FetchShuffleResponse.Builder response = FetchShuffleResponse.newBuilder();
      long bytes = 0;
      for (ShuffleChunk chunk : blocks.chunks()) {
        response.addBlocks(UnsafeByteOperations.unsafeWrap(chunk.bytes(), 0, chunk.length()));
        bytes += chunk.length();
        if (bytes >= FETCH_MESSAGE_BYTES) {
          out.onNext(response.build());
          response.clear();
          bytes = 0;
        }
      }
      if (response.getBlocksCount() > 0) {
        out.onNext(response.build());
      }
    }
    out.onCompleted();
  }

  @Override
  public void reportSnapshots(ReportSnapshotsRequest request, StreamObserver<ReportSnapshotsResponse> out) {
    if (refusedAsOlder(request.getEpoch(), "snapshot report", out)) {
      return;
    }
    try {
      out.onNext(ReportSnapshotsResponse.newBuilder()
          .addAllSnapshots(runner.stateStores().snapshots().awaitAllUnreported()).build());
      out.onCompleted();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      out.onError(Status.CANCELLED.withDescription("interrupted").asRuntimeException());
    }
  }

  @Override
  public void releaseBatch(ReleaseBatchRequest request, StreamObserver<ReleaseBatchResponse> out) {
    runner.release(request.getBatchTimeMs());
    out.onNext(ReleaseBatchResponse.getDefaultInstance());
    out.onCompleted();
  }
}
