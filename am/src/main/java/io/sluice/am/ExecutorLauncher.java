package io.sluice.am;

import io.sluice.graph.SettingKeys;
import io.sluice.proto.JobSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.io.DataOutputBuffer;
import org.apache.hadoop.security.Credentials;
import org.apache.hadoop.security.UserGroupInformation;
import org.apache.hadoop.security.token.Token;
import org.apache.hadoop.yarn.api.records.Container;
import org.apache.hadoop.yarn.api.records.ContainerId;
import org.apache.hadoop.yarn.api.records.ContainerLaunchContext;
import org.apache.hadoop.yarn.api.records.ContainerStatus;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.apache.hadoop.yarn.api.records.LocalResource;
import org.apache.hadoop.yarn.api.records.NodeReport;
import org.apache.hadoop.yarn.api.records.Priority;
import org.apache.hadoop.yarn.api.records.Resource;
import org.apache.hadoop.yarn.api.records.UpdatedContainer;
import org.apache.hadoop.yarn.client.api.AMRMClient.ContainerRequest;
import org.apache.hadoop.yarn.client.api.async.AMRMClientAsync;
import org.apache.hadoop.yarn.client.api.async.NMClientAsync;
import org.apache.hadoop.yarn.security.AMRMTokenIdentifier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The AM's side of YARN: registers with the ResourceManager, asks for executor containers for
 * free slots and launches them, and unregisters at the end. YARN's callbacks only log and hand
 * containers on.
 */
final class ExecutorLauncher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ExecutorLauncher.class);
  private static final Priority EXECUTOR_PRIORITY = Priority.newInstance(1);
  /** How often the AM tells the ResourceManager it is alive, and hears of allocated and ended containers. */
  private static final int HEARTBEAT_MS = 500;
  /**
   * The heartbeat while containers are asked for and not yet given: an allocated container comes
   * back with the next heartbeat, and a lost executor's batches wait for its replacement.
   */
  private static final int HEARTBEAT_WHILE_ASKING_MS = 100;

  /**
   * The parallel collector: a state partition is a large, long-lived heap that each batch rewrites
   * in part, where it finished the K = 1M benchmark batches in about two thirds of G1's time. No
   * transparent huge pages: touching a heap of them took 2-4 s here (the kernel compacts memory for
   * each), and with the heap touched they made no difference to the batches. A metaspace
   * threshold above what an executor loads: at the default (about 21 MB) the classes its first
   * snapshot write loads set off a full collection, which took 450-500 ms of a batch at K = 1M. Objects that live through two young collections go to the old generation: what a
   * batch allocates is gone by the next batch, and what lives longer is mostly new state entries,
   * which live as long as the state. At the default threshold (adaptive, up to 15) a K = 1M
   * partition's new keys were copied between the survivor spaces for a dozen batches and then
   * promoted by the hundred thousand in one collection, 120-180 ms of a batch.
   *
   * <p>gRPC's Netty (the shuffle's transport) is compiled by the JIT ten times later than the
   * rest: its methods run per network frame, not per record, so their optimized code saves little,
   * while compiling it took a quarter of the C2 compilations of an executor's first 40 s at K = 1M,
   * on cores the batches need. The executors' JIT then took 15 s of CPU instead of 20 s over a K = 1M
   * R = 200k run of 32 batches. The pattern is quoted for the container's shell.
   */
  static final String DEFAULT_EXECUTOR_JAVA_OPTS =
      "-XX:+UseParallelGC -XX:MetaspaceSize=256m -XX:MaxTenuringThreshold=2 -XX:CompileCommand=quiet"
          + " '-XX:CompileCommand=CompileThresholdScaling,io.grpc.netty.shaded.*::*,10.0'";
  /**
   * Added to the default options of the executors a fresh application starts with: their heap
   * touched at start, so that the young collections that promote a growing state into the old
   * generation do not also fault its pages in. Without it they took 250-360 ms in an executor's
   * first seconds, mostly in the kernel, and a K = 1M R = 50k batch after the first snapshot 137-187
   * ms more than the median; with it, at most 27 ms. It costs 0.5-3 s at the start of a 2 GiB
   * container, depending on the machine, so executors that a recovery waits for (a replacement, or
   * those of an application resumed from its checkpoint) start without it and fault in only the
   * pages they use, as they use them: a replacement registered 3.2 s after its launch instead of
   * 5.6-7.2 s.
   */
  private static final String TOUCH_HEAP_AT_START = "-XX:+AlwaysPreTouch";

  /** A slot to fill, and whether its executor touches its heap at start. */
  private record SlotRequest(int slot, boolean touchHeap) {}

  private final Configuration conf;
  private final JobSpec spec;
  /** Describes the files every executor container gets; asked once, at the first launch. */
  private final ContainerFiles containerFiles;
  /** Confined to the ResourceManager callback thread, which launches containers; null until the first launch. */
  private Map<String, LocalResource> resources;
  private final String amAddress;
  private final Consumer<String> onFatal;
  /** Slots asked for and not yet given a container, in the order asked. */
  private final Queue<SlotRequest> slotsToFill = new ConcurrentLinkedQueue<>();
  private AMRMClientAsync<ContainerRequest> rm;
  private NMClientAsync nm;
  private Resource executorResource;
  /** Told of each container that ended while this attempt is registered; set once, before the first batch. */
  private volatile Consumer<ContainerId> onContainerEnded = id -> { };
  /** Set once the attempt unregisters: containers that end after that are YARN's cleaning up. */
  private volatile boolean unregistered;

  /**
   * The files of an executor container, looked up in HDFS when the first container is launched
   * rather than when the AM starts: a restarted AM that adopts all its executors launches none,
   * and its recovery does not wait for those lookups.
   */
  @FunctionalInterface
  interface ContainerFiles {
    Map<String, LocalResource> describe() throws IOException;
  }

  ExecutorLauncher(Configuration conf, JobSpec spec, ContainerFiles containerFiles, String amAddress,
      Consumer<String> onFatal) {
    this.conf = conf;
    this.spec = spec;
    this.containerFiles = containerFiles;
    this.amAddress = amAddress;
    this.onFatal = onFatal;
  }

  /**
   * Registers this attempt with the ResourceManager; returns the containers of earlier attempts
   * that are still running (YARN keeps them across attempts).
   */
  List<Container> register(String host, int rpcPort, String trackingUrl) throws Exception {
    nm = NMClientAsync.createNMClientAsync(new NodeManagerCallbacks());
    // An attempt that fails leaves its executors running for the next attempt to adopt; when the
    // application ends, YARN stops them.
    nm.getClient().cleanupRunningContainersOnStop(false);
    nm.init(conf);
    nm.start();
    rm = AMRMClientAsync.createAMRMClientAsync(HEARTBEAT_MS, new ResourceManagerCallbacks());
    rm.init(conf);
    rm.start();
    var response = rm.registerApplicationMaster(host, rpcPort, trackingUrl);
    Resource max = response.getMaximumResourceCapability();
    executorResource = Resource.newInstance(Math.min(spec.getExecutorMemoryMb(), max.getMemorySize()),
        Math.min(spec.getExecutorCores(), max.getVirtualCores()));
    return response.getContainersFromPreviousAttempts();
  }

  /**
   * Asks for one executor container per slot; {@code touchHeap} when no batch waits for them, as
   * at the start of a fresh application (see {@link #TOUCH_HEAP_AT_START}).
   */
  void requestExecutors(List<Integer> slots, boolean touchHeap) {
    if (slots.isEmpty()) {
      return;
    }
    for (int slot : slots) {
      slotsToFill.add(new SlotRequest(slot, touchHeap));
      rm.addContainerRequest(new ContainerRequest(executorResource, null, null, EXECUTOR_PRIORITY));
    }
    rm.setHeartbeatInterval(HEARTBEAT_WHILE_ASKING_MS);
  }

  /** Calls {@code onEnded} with every container that ends from now on while this attempt is registered. */
  void whenContainerEnds(Consumer<ContainerId> onEnded) {
    this.onContainerEnded = onEnded;
  }

  /** Gives back a container this attempt will not use, such as an earlier attempt's executor that did not answer. */
  void release(ContainerId id) {
    rm.releaseAssignedContainer(id);
  }

  void unregister(FinalApplicationStatus status, String message) {
    unregistered = true;
    try {
      rm.unregisterApplicationMaster(status, message, null);
    } catch (Exception e) {
      LOG.warn("Could not unregister from the ResourceManager: {}", e.toString());
    }
  }

  @Override
  public void close() {
    if (rm != null) {
      rm.stop();
    }
    if (nm != null) {
      nm.stop();
    }
  }

  private void launch(Container container, SlotRequest request) throws IOException {
    int slot = request.slot();
    if (resources == null) {
      resources = Map.copyOf(containerFiles.describe());
    }
    String executorId = "executor-" + (slot + 1);
    Map<String, String> env = new HashMap<>();
    env.put("CLASSPATH", System.getenv("CLASSPATH"));
    env.put("SLUICE_AM_ADDRESS", amAddress);
    env.put("SLUICE_EXECUTOR_ID", executorId);
    env.put("SLUICE_EXECUTOR_SLOT", Integer.toString(slot));
    // A JVM needs room beside its heap; 3/4 of the container keeps it under YARN's memory limit.
    long heapMb = Math.max(64, container.getResource().getMemorySize() * 3 / 4);
    String command = ContainerSetup.executorCommand(heapMb,
        spec.getConfOrDefault(SettingKeys.EXECUTOR_JAVA_OPTS,
            request.touchHeap() ? DEFAULT_EXECUTOR_JAVA_OPTS + " " + TOUCH_HEAP_AT_START : DEFAULT_EXECUTOR_JAVA_OPTS),
        "io.sluice.container.ExecutorMain");
    ContainerLaunchContext ctx = ContainerLaunchContext.newInstance(resources, env, List.of(command), null,
        executorTokens(), null);
    LOG.info("Launching {} in {} on {} ({}, files {})", executorId, container.getId(), container.getNodeId(),
        container.getResource(), resources.keySet());
    nm.startContainerAsync(container, ctx);
  }

  /** This AM's credentials without its AMRM token, which must never reach an executor. */
  private static ByteBuffer executorTokens() throws IOException {
    Credentials own = UserGroupInformation.getCurrentUser().getCredentials();
    Credentials forExecutors = new Credentials();
    for (Token<?> token : own.getAllTokens()) {
      if (!AMRMTokenIdentifier.KIND_NAME.equals(token.getKind())) {
        forExecutors.addToken(token.getService(), token);
      }
    }
    own.getSecretKeyMap().forEach(forExecutors::addSecretKey);
    DataOutputBuffer out = new DataOutputBuffer();
    forExecutors.writeTokenStorageToStream(out);
    return ByteBuffer.wrap(out.getData(), 0, out.getLength());
  }

  private final class ResourceManagerCallbacks extends AMRMClientAsync.AbstractCallbackHandler {
    @Override
    public void onContainersAllocated(List<Container> containers) {
      for (Container c : containers) {
        List<? extends java.util.Collection<ContainerRequest>> matching =
            rm.getMatchingRequests(c.getPriority(), "*", c.getResource());
        if (matching.isEmpty() || matching.get(0).isEmpty()) {
          LOG.info("Releasing surplus container {}", c.getId());
          rm.releaseAssignedContainer(c.getId());
          continue;
        }
        rm.removeContainerRequest(matching.get(0).iterator().next());
        try {
          launch(c, slotsToFill.remove());
        } catch (IOException e) {
          onFatal.accept("cannot launch an executor in " + c.getId() + ": " + e);
        }
      }
      if (slotsToFill.isEmpty()) {
        rm.setHeartbeatInterval(HEARTBEAT_MS);
      }
    }

    @Override
    public void onContainersCompleted(List<ContainerStatus> statuses) {
      for (ContainerStatus s : statuses) {
        LOG.warn("Container {} ended: exit {} {}", s.getContainerId(), s.getExitStatus(), s.getDiagnostics());
        if (!unregistered) {
          onContainerEnded.accept(s.getContainerId());
        }
      }
    }

    @Override
    public void onContainersUpdated(List<UpdatedContainer> containers) {}

    @Override
    public void onShutdownRequest() {
      onFatal.accept("the ResourceManager asked this AM to shut down");
    }

    @Override
    public void onNodesUpdated(List<NodeReport> updatedNodes) {}

    @Override
    public float getProgress() {
      return 0;
    }

    @Override
    public void onError(Throwable e) {
      onFatal.accept("lost the ResourceManager: " + e);
    }
  }

  private static final class NodeManagerCallbacks extends NMClientAsync.AbstractCallbackHandler {
    @Override
    public void onContainerStarted(ContainerId id, Map<String, ByteBuffer> serviceResponse) {
      LOG.info("Container {} started", id);
    }

    @Override
    public void onContainerStatusReceived(ContainerId id, ContainerStatus status) {}

    @Override
    public void onContainerStopped(ContainerId id) {}

    @Override
    public void onStartContainerError(ContainerId id, Throwable t) {
      LOG.error("Container {} failed to start: {}", id, t.toString());
    }

    @Override
    public void onContainerResourceIncreased(ContainerId id, Resource resource) {}

    @Override
    public void onContainerResourceUpdated(ContainerId id, Resource resource) {}

    @Override
    public void onGetContainerStatusError(ContainerId id, Throwable t) {}

    @Override
    public void onIncreaseContainerResourceError(ContainerId id, Throwable t) {}

    @Override
    public void onUpdateContainerResourceError(ContainerId id, Throwable t) {}

    @Override
    public void onStopContainerError(ContainerId id, Throwable t) {}
  }
}
