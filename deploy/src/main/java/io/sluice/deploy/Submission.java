package io.sluice.deploy;

import io.sluice.api.Duration;
import java.nio.file.Path;
import java.util.Map;

/**
 * What {@code sluice submit} asks for.
 *
 * @param checkpointDir null to use the application's own or a directory in the staging area
 * @param maxAttempts AM attempts YARN makes before the application fails
 */
public record Submission(Path jar, String appClass, String checkpointDir, Duration batchInterval, int executors,
    int executorMemoryMb, int executorCores, String queue, int maxAttempts, Map<String, String> conf) {

  public Submission {
    conf = Map.copyOf(conf);
  }
}
