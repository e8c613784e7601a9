package io.sluice.runtime;

import io.sluice.proto.SnapshotWritten;
import io.sluice.proto.TaskRequest;
import io.sluice.proto.TaskResult;
import java.util.List;

/** Where the driver's tasks run: executors over RPC, or threads of the local runner. */
public interface TaskService {

  /** A finished task and the address of the executor that holds its map output. */
  record CompletedTask(TaskResult result, String location) {}

  /** Runs all tasks, concurrently where it can, and fails if any of them fails. */
  List<CompletedTask> runAll(List<TaskRequest> tasks) throws Exception;

  /**
   * Whether the executor that runs {@code partition} of stateful operator {@code nodeId} already
   * holds it at batch {@code versionMs}, as executors adopted from an earlier AM attempt may.
   */
  default boolean holdsState(String nodeId, int partition, long versionMs) {
    return false;
  }

  /**
   * Makes the service fit to run a failed batch again: executors that no longer answer are
   * replaced, and no executor's state is trusted to be where it was.
   */
  default void recover() throws Exception {}

  /**
   * Tells every executor that the driver is done with the batches up to {@code batchMs}: their
   * shuffle data can go, and their state snapshots be written.
   */
  void release(long batchMs);

  /**
   * Waits for the state snapshots the executors are writing, or wrote and have not reported, and
   * returns them: the driver of epoch {@code epoch} stops, and no next task will report them.
   */
  List<SnapshotWritten> reportSnapshots(long epoch) throws Exception;
}
