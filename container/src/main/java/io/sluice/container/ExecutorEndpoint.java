package io.sluice.container;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.sluice.proto.ExecutorServiceGrpc;
import io.sluice.proto.FetchShuffleRequest;
import io.sluice.proto.FetchShuffleResponse;
import io.sluice.proto.ReleaseBatchRequest;
import io.sluice.proto.ReleaseBatchResponse;
import io.sluice.proto.TaskRequest;
import io.sluice.proto.TaskResult;
import io.sluice.runtime.ShuffleStore;
import io.sluice.runtime.TaskRunner;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The executor's RPC endpoint: runs the driver's tasks and serves shuffle blocks to peers. Tasks
 * from an epoch older than the newest one seen are refused, so an old driver cannot run work here.
 */
final class ExecutorEndpoint extends ExecutorServiceGrpc.ExecutorServiceImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(ExecutorEndpoint.class);

  private final String executorId;
  private final TaskRunner runner;
  private final ShuffleStore shuffle;
  private final AtomicLong newestEpoch;

  ExecutorEndpoint(String executorId, TaskRunner runner, ShuffleStore shuffle, AtomicLong newestEpoch) {
    this.executorId = executorId;
    this.runner = runner;
    this.shuffle = shuffle;
    this.newestEpoch = newestEpoch;
  }

  @Override
  public void runTask(TaskRequest request, StreamObserver<TaskResult> out) {
    long epoch = request.getBatch().getEpoch();
    long newest = newestEpoch.accumulateAndGet(epoch, Math::max);
    if (epoch < newest) {
      out.onError(Status.FAILED_PRECONDITION.withDescription("task " + request.getTaskId() + " is from epoch " + epoch
          + " but this executor follows epoch " + newest).asRuntimeException());
      return;
    }
    try {
      out.onNext(runner.run(request));
      out.onCompleted();
    } catch (Exception e) {
      LOG.error("Executor {}: batch {} task {} failed", executorId, request.getBatch().getBatchTimeMs(),
          request.getTaskId(), e);
      out.onError(Status.INTERNAL.withDescription(String.valueOf(e.getMessage())).asRuntimeException());
    }
  }

  @Override
  public void fetchShuffle(FetchShuffleRequest request, StreamObserver<FetchShuffleResponse> out) {
    FetchShuffleResponse.Builder response = FetchShuffleResponse.newBuilder();
    for (byte[] block : shuffle.get(request.getBatchTimeMs(), request.getNodeId(), request.getTaskIdsList(),
        request.getPartition())) {
      response.addBlocks(ByteString.copyFrom(block));
    }
    out.onNext(response.build());
    out.onCompleted();
  }

  @Override
  public void releaseBatch(ReleaseBatchRequest request, StreamObserver<ReleaseBatchResponse> out) {
    shuffle.release(request.getBatchTimeMs());
    out.onNext(ReleaseBatchResponse.getDefaultInstance());
    out.onCompleted();
  }
}
