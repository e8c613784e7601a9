package io.sluice.container;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.sluice.checkpoint.WriteProbe;
import io.sluice.graph.StreamGraph;
import io.sluice.proto.DriverServiceGrpc;
import io.sluice.proto.JobSpec;
import io.sluice.proto.RegisterExecutorRequest;
import io.sluice.proto.RegisterExecutorResponse;
import io.sluice.rpc.AppSecret;
import io.sluice.rpc.RpcChannels;
import io.sluice.runtime.JobSpecs;
import io.sluice.runtime.ShuffleBuffers;
import io.sluice.runtime.ShuffleStore;
import io.sluice.runtime.TaskRunner;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The executor container's entry point: builds the application's graph from the same jar as the
 * driver, serves tasks and shuffle blocks over RPC, and registers with the AM.
 *
 * <p>Environment: {@value #ENV_AM_ADDRESS} (the AM's RPC address), {@value #ENV_EXECUTOR_ID},
 * {@value #ENV_EXECUTOR_SLOT} and YARN's {@code CONTAINER_ID}; the job spec {@code job.pb} and the
 * jars are localized into the working directory; the application secret is in the container's
 * credentials.
 */
public final class ExecutorMain {
  public static final String ENV_AM_ADDRESS = "SLUICE_AM_ADDRESS";
  public static final String ENV_EXECUTOR_ID = "SLUICE_EXECUTOR_ID";
  public static final String ENV_EXECUTOR_SLOT = "SLUICE_EXECUTOR_SLOT";
  private static final Logger LOG = LoggerFactory.getLogger(ExecutorMain.class);

  private ExecutorMain() {}

  public static void main(String[] args) throws Exception {
    String amAddress = requireEnv(ENV_AM_ADDRESS);
    String executorId = requireEnv(ENV_EXECUTOR_ID);
    int slot = Integer.parseInt(requireEnv(ENV_EXECUTOR_SLOT));
    JobSpec spec;
    try (InputStream in = Files.newInputStream(Path.of(JobSpecs.FILE_NAME))) {
      spec = JobSpec.parseFrom(in);
    }
    StreamGraph graph = JobSpecs.graph(spec, ExecutorMain.class.getClassLoader());
    Configuration conf = JobSpecs.containerHadoopConf(new Configuration());
    Thread connecting = new Thread(() -> connectToCheckpoints(graph, conf, executorId), "sluice-checkpoint-connect");
    connecting.setDaemon(true);
    connecting.start();
    AppSecret secret = AppSecret.fromCurrentUser();
    ShuffleStore shuffle = new ShuffleStore(ShuffleBuffers.forThisJvm());
    AtomicLong epoch = new AtomicLong();
    String host = InetAddress.getLocalHost().getCanonicalHostName();
    RemoteShuffleFetcher fetcher = new RemoteShuffleFetcher(shuffle, secret);
    TaskRunner runner = new TaskRunner(graph, shuffle, fetcher, conf);
    Server server = RpcChannels.startServer(0, secret, List.of(new ExecutorEndpoint(executorId, runner, shuffle, epoch)));
    String self = host + ":" + server.getPort();
    fetcher.servingAt(self);

    ManagedChannel am = RpcChannels.channel(amAddress);
    RegisterExecutorResponse registered = DriverServiceGrpc.newBlockingStub(am).withCallCredentials(secret.callCredentials())
        .registerExecutor(RegisterExecutorRequest.newBuilder().setExecutorId(executorId).setHost(host)
            .setPort(server.getPort()).setContainerId(System.getenv().getOrDefault("CONTAINER_ID", ""))
            .setSlot(slot).build());
    epoch.accumulateAndGet(registered.getEpoch(), Math::max);
    LOG.info("Executor {} serving at {}, registered with the AM at {} (epoch {})", executorId, self, amAddress,
        registered.getEpoch());
    am.shutdown();
    // Runs until YARN stops the container when the application ends; a later AM attempt adopts it.
    server.awaitTermination();
  }

  /**
   * Connects to the checkpoint directory's file system before any task needs it: the first state
   * snapshot, or a replacement executor's first restore, would otherwise pay for the client's
   * start-up (about half a second of CPU). It also writes a {@link WriteProbe} there, so that
   * the first snapshot, beside a batch, does not load the client's write path either (its classes,
   * and the configuration files they read again). It runs beside the rest of the
   * start-up, on a core a replacement's recovery leaves idle. A directory that cannot be reached or
   * written is reported here, and again by the task that needs it.
   */
  private static void connectToCheckpoints(StreamGraph graph, Configuration conf, String executorId) {
    graph.checkpointDir().ifPresent(dir -> {
      org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(dir);
      org.apache.hadoop.fs.Path probe = new org.apache.hadoop.fs.Path(path, ".executor-" + executorId + ".probe");
      try {
        WriteProbe.writeAndDelete(path.getFileSystem(conf), probe);
      } catch (IOException | RuntimeException e) {
        LOG.warn("Checkpoint directory {} cannot be written yet: {}", dir, e.toString());
      }
    });
  }

  private static String requireEnv(String name) {
    String v = System.getenv(name);
    if (v == null || v.isEmpty()) {
      throw new IllegalStateException(name + " is not set: executors are launched by the Sluice AM");
    }
    return v;
  }
}
