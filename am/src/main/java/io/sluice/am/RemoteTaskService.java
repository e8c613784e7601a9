package io.sluice.am;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.Status;
import io.sluice.graph.SettingKeys;
import io.sluice.proto.RegisterExecutorRequest;
import io.sluice.proto.ReleaseBatchRequest;
import io.sluice.proto.ReportSnapshotsRequest;
import io.sluice.proto.ReportSnapshotsResponse;
import io.sluice.proto.SnapshotWritten;
import io.sluice.proto.TaskRequest;
import io.sluice.runtime.Clock;
import io.sluice.runtime.TaskService;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.hadoop.yarn.api.records.ContainerId;
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
  private final ExecutorLauncher containers;
  private final long registrationTimeoutMs;
  private final long taskTimeoutMs;
  private final Clock clock;
  /** Slots whose executor let a task run past its deadline: replaced by the next {@link #recover()}. */
  private final Set<Integer> hungSlots = ConcurrentHashMap.newKeySet();

  /**
   * {@code containers} starts executors for empty slots and stops hung ones; a task that runs
   * longer than {@code taskTimeoutMs} fails its batch.
   */
  RemoteTaskService(ExecutorPool pool, ExecutorLauncher containers, long registrationTimeoutMs, long taskTimeoutMs,
      Clock clock) {
    this.pool = pool;
    this.containers = containers;
    this.registrationTimeoutMs = registrationTimeoutMs;
    this.taskTimeoutMs = taskTimeoutMs;
    this.clock = clock;
  }

  /**
   * Replaces the executors that stopped answering or let a task hang (their containers are
   * stopped, so a hung task cannot hold a state partition), and waits until the replacements, and
   * those of executors whose containers {@linkplain #executorContainerEnded ended}, have registered.
   */
  @Override
  public void recover() throws Exception {
    Set<Integer> hung = Set.copyOf(hungSlots);
    hungSlots.clear();
    List<RegisterExecutorRequest> lost = pool.dropUnreachable(PING_TIMEOUT_MS, hung);
    List<Integer> slots = lost.stream().map(RegisterExecutorRequest::getSlot).toList();
    for (RegisterExecutorRequest r : lost) {
      if (hung.contains(r.getSlot())) {
        LOG.warn("Executor {} in slot {} let a task run past {} ms; stopping its container {}", r.getExecutorId(),
            r.getSlot(), taskTimeoutMs, r.getContainerId());
        containers.release(ContainerId.fromString(r.getContainerId()));
      }
    }
    if (!slots.isEmpty()) {
      LOG.warn("Executors in slots {} do not answer or hung; starting replacements", slots);
      containers.requestExecutors(slots, false);
    }
    List<Integer> awaited = pool.freeSlots();
    if (awaited.isEmpty()) {
      return;
    }
    pool.awaitRegistered(registrationTimeoutMs, clock);
    LOG.info("Replaced the executors of slots {}", awaited);
  }

  /**
   * YARN says a container ended: if an executor in it held a slot, the slot is emptied and a
   * replacement asked for at once, rather than when a batch next fails on it, which can be a batch
   * interval later. The batch that finds the slot empty fails, and {@link #recover} waits for the
   * replacement. Called on YARN's callback thread.
   */
  void executorContainerEnded(ContainerId id) {
    pool.dropContainer(id.toString()).ifPresent(r -> {
      LOG.warn("Executor {} in slot {} ended with its container {}; starting a replacement", r.getExecutorId(),
          r.getSlot(), id);
      containers.requestExecutors(List.of(r.getSlot()), false);
    });
  }

  @Override
  public List<CompletedTask> runAll(List<TaskRequest> tasks) throws Exception {
    List<ExecutorPool.Executor> executors = pool.everySlot();
    List<ListenableFuture<CompletedTask>> futures = new ArrayList<>();
    for (int i = 0; i < tasks.size(); i++) {
      TaskRequest task = tasks.get(i);
      ExecutorPool.Executor e = executors.get((task.hasPlacement() ? task.getPlacement() : i) % executors.size());
      futures.add(Futures.catchingAsync(
          Futures.transform(e.stub().withDeadlineAfter(taskTimeoutMs, TimeUnit.MILLISECONDS).runTask(task),
              r -> new CompletedTask(r, e.address()), MoreExecutors.directExecutor()),
          Exception.class,
          ex -> {
            if (Status.fromThrowable(ex).getCode() == Status.Code.DEADLINE_EXCEEDED) {
              hungSlots.add(e.registration().getSlot());
              return Futures.immediateFailedFuture(new TaskFailedException(task, e.id(), new TimeoutException(
                  "did not finish within " + taskTimeoutMs + " ms (" + SettingKeys.TASK_TIMEOUT + ")")));
            }
            return Futures.immediateFailedFuture(new TaskFailedException(task, e.id(), ex));
          },
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

  @Override
  public List<SnapshotWritten> reportSnapshots(long epoch) throws Exception {
    ReportSnapshotsRequest request = ReportSnapshotsRequest.newBuilder().setEpoch(epoch).build();
    List<ListenableFuture<ReportSnapshotsResponse>> answers = new ArrayList<>();
    for (ExecutorPool.Executor e : pool.snapshot()) {
      answers.add(e.stub().withDeadlineAfter(taskTimeoutMs, TimeUnit.MILLISECONDS).reportSnapshots(request));
    }
    List<SnapshotWritten> reports = new ArrayList<>();
    for (ReportSnapshotsResponse answer : Futures.allAsList(answers).get()) {
      reports.addAll(answer.getSnapshotsList());
    }
    return reports;
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
