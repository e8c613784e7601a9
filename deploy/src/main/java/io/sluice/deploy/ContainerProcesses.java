package io.sluice.deploy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.apache.hadoop.yarn.api.records.ApplicationAttemptId;

/**
 * Finds the JVM processes of an embedded cluster's containers by the {@code CONTAINER_ID} in their
 * environment (Linux {@code /proc}), so the demo and the tests can {@code kill -9} them for real.
 */
public final class ContainerProcesses {
  private ContainerProcesses() {}

  /** The AM process of an attempt: the JVM of its first container. */
  public static Optional<ProcessHandle> am(ApplicationAttemptId attempt) throws IOException {
    String container = String.format("container_%d_%04d_%02d_%06d", attempt.getApplicationId().getClusterTimestamp(),
        attempt.getApplicationId().getId(), attempt.getAttemptId(), 1);
    return javaProcessesOf(container).stream().findFirst();
  }

  /** The executor processes started by an attempt's AM (every container but the AM's own). */
  public static List<ProcessHandle> executors(ApplicationAttemptId attempt) throws IOException {
    String prefix = String.format("container_%d_%04d_%02d_", attempt.getApplicationId().getClusterTimestamp(),
        attempt.getApplicationId().getId(), attempt.getAttemptId());
    return javaProcesses(id -> id.startsWith(prefix) && !id.endsWith("_000001"));
  }

  /** Every container process of the cluster whose ResourceManager started at {@code clusterTimestamp}. */
  public static List<ProcessHandle> ofCluster(long clusterTimestamp) throws IOException {
    String prefix = "container_" + clusterTimestamp + "_";
    return javaProcesses(id -> id.startsWith(prefix));
  }

  /** Java processes whose environment names the container id exactly. */
  public static List<ProcessHandle> javaProcessesOf(String containerId) throws IOException {
    return javaProcesses(containerId::equals);
  }

  private static List<ProcessHandle> javaProcesses(java.util.function.Predicate<String> containerId) throws IOException {
    List<ProcessHandle> found = new ArrayList<>();
    String key = "CONTAINER_ID=";
    try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
      for (Path p : procs.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).toList()) {
        try {
          String env = new String(Files.readAllBytes(p.resolve("environ")), StandardCharsets.UTF_8);
          if (Stream.of(env.split("\0")).anyMatch(v -> v.startsWith(key) && containerId.test(v.substring(key.length())))) {
            ProcessHandle.of(Long.parseLong(p.getFileName().toString()))
                .filter(h -> h.info().command().map(c -> c.endsWith("/java")).orElse(false))
                .ifPresent(found::add);
          }
        } catch (IOException e) {
          // The process ended or is not ours to read: not a container of this cluster.
        }
      }
    }
    return found;
  }

  /** Sends SIGKILL and waits until the process is gone. */
  public static void killHard(ProcessHandle process) throws Exception {
    process.destroyForcibly();
    process.onExit().get();
  }
}
