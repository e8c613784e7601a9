package io.sluice.runtime;

import io.sluice.proto.TaskRequest;
import io.sluice.proto.TaskResult;
import java.util.List;

/** Where the driver's tasks run: executors over RPC, or threads of the local runner. */
public interface TaskService {

  /** A finished task and the address of the executor that holds its map output. */
  record CompletedTask(TaskResult result, String location) {}

  /** Runs all tasks, concurrently where it can, and fails if any of them fails. */
  List<CompletedTask> runAll(List<TaskRequest> tasks) throws Exception;

  /** Lets every executor drop the shuffle data of batches up to {@code batchMs}. */
  void release(long batchMs);
}
