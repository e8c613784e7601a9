package io.sluice.am;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import io.sluice.proto.ReleaseBatchRequest;
import io.sluice.proto.TaskRequest;
import io.sluice.runtime.Clock;
import io.sluice.runtime.TaskService;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs tasks on the registered executors over RPC: a task with a placement on the executor of that
 * slot (where its state partition lives), the others round-robin.
 */
final class RemoteTaskService implements TaskService {
  private static final Logger LOG = LoggerFactory.getLogger(RemoteTaskService.class);
  private static final long PING_TIMEOUT_MS = 3_000;

  private final ExecutorPool pool;
  private final Consumer<List<Integer>> requestExecutors;
  private final long registrationTimeoutMs;
  private final Clock clock;

  /** {@code requestExecutors} asks YARN for containers for the given slots. */
  RemoteTaskService(ExecutorPool pool, Consumer<List<Integer>> requestExecutors, long registrationTimeoutMs,
      Clock clock) {
    this.pool = pool;
    this.requestExecutors = requestExecutors;
    this.registrationTimeoutMs = registrationTimeoutMs;
    this.clock = clock;
  }

  /** Replaces the executors that stopped answering, and waits until the replacements have registered. */
  @Override
  public void recover() throws Exception {
    List<Integer> lost = pool.dropUnreachable(PING_TIMEOUT_MS);
    if (lost.isEmpty()) {
      return;
    }
    LOG.warn("Executors in slots {} do not answer; starting replacements", lost);
    requestExecutors.accept(lost);
    pool.awaitRegistered(registrationTimeoutMs, clock);
    LOG.info("Replaced the executors of slots {}", lost);
  }

  @Override
  public List<CompletedTask> runAll(List<TaskRequest> tasks) throws Exception {
    List<ExecutorPool.Executor> executors = pool.snapshot();
    List<ListenableFuture<CompletedTask>> futures = new ArrayList<>();
    for (int i = 0; i < tasks.size(); i++) {
      TaskRequest task = tasks.get(i);
      ExecutorPool.Executor e = executors.get((task.hasPlacement() ? task.getPlacement() : i) % executors.size());
      futures.add(Futures.catchingAsync(
          Futures.transform(e.stub().runTask(task), r -> new CompletedTask(r, e.address()), MoreExecutors.directExecutor()),
          Exception.class,
          ex -> Futures.immediateFailedFuture(new TaskFailedException(task, e.id(), ex)),
          MoreExecutors.directExecutor()));
    }
    try {
      return Futures.allAsList(futures).get();
    } catch (ExecutionException e) {
      throw e.getCause() instanceof Exception ex ? ex : e;
    }
  }

  @Override
  public boolean holdsState(String nodeId, int partition, long versionMs) {
    return pool.holds(nodeId, partition, versionMs);
  }

  @Override
  public void release(long batchMs) {
    ReleaseBatchRequest request = ReleaseBatchRequest.newBuilder().setBatchTimeMs(batchMs).build();
    pool.snapshot().forEach(e -> e.stub().releaseBatch(request));
  }

  /** A task that failed on an executor. */
  static final class TaskFailedException extends Exception {
    private static final long serialVersionUID = 1L;

    TaskFailedException(TaskRequest task, String executorId, Throwable cause) {
      super("batch " + task.getBatch().getBatchTimeMs() + " task " + task.getTaskId() + " failed on executor "
          + executorId + ": " + cause.getMessage(), cause);
    }
  }
}
