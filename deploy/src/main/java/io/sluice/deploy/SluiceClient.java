package io.sluice.deploy;

import io.grpc.ManagedChannel;
import io.sluice.am.ContainerSetup;
import io.sluice.api.SluiceException;
import io.sluice.checkpoint.MetadataStore;
import io.sluice.graph.SettingKeys;
import io.sluice.graph.StreamGraph;
import io.sluice.proto.ControlServiceGrpc;
import io.sluice.proto.JobSpec;
import io.sluice.proto.LocalFile;
import io.sluice.proto.StatusRequest;
import io.sluice.proto.StatusResponse;
import io.sluice.proto.StopRequest;
import io.sluice.rpc.AppSecret;
import io.sluice.rpc.RpcChannels;
import io.sluice.runtime.JobSpecs;
import io.sluice.runtime.LocalFiles;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLClassLoader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.io.DataOutputBuffer;
import org.apache.hadoop.security.Credentials;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.ApplicationSubmissionContext;
import org.apache.hadoop.yarn.api.records.ContainerLaunchContext;
import org.apache.hadoop.yarn.api.records.Resource;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import org.apache.hadoop.yarn.client.api.YarnClient;
import org.apache.hadoop.yarn.client.api.YarnClientApplication;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Submits Sluice jobs to YARN and asks after them: what {@code sluice submit/status/kill} run. */
public final class SluiceClient implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SluiceClient.class);
  public static final String APPLICATION_TYPE = "SLUICE";
  /** Extra JVM options of the AM (setting). */
  static final String AM_JAVA_OPTS = "sluice.am.javaOpts";
  /**
   * The driver does little computing but must start fast after a failure: the client compiler
   * alone and the serial collector leave the CPU to start-up work instead of JIT and GC threads.
   */
  static final String DEFAULT_AM_JAVA_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC";
  private static final String SECRET_FILE = "secret";
  private static final long ATTEMPT_FAILURES_VALIDITY_MS = 3_600_000L;

  private final Configuration conf;
  private final YarnClient yarn;

  public SluiceClient(Configuration base) {
    this.conf = new YarnConfiguration(base);
    // Without these a client waits about 15 minutes for an unreachable ResourceManager.
    setIfUnset(YarnConfiguration.RESOURCEMANAGER_CONNECT_MAX_WAIT_MS, "10000");
    setIfUnset(YarnConfiguration.RESOURCEMANAGER_CONNECT_RETRY_INTERVAL_MS, "1000");
    setIfUnset("ipc.client.connect.max.retries", "2");
    this.yarn = YarnClient.createYarnClient();
    yarn.init(conf);
    yarn.start();
  }

  private void setIfUnset(String key, String value) {
    if (conf.get(key) == null || conf.getPropertySources(key) == null
        || conf.getPropertySources(key)[0].endsWith("-default.xml")) {
      conf.set(key, value);
    }
  }

  /** Validates the application, uploads what it needs and submits it; leaves nothing behind if that fails. */
  public ApplicationId submit(Submission s) throws Exception {
    JobSpec.Builder spec = JobSpec.newBuilder().setAppClass(s.appClass()).setBatchIntervalMs(s.batchInterval().millis())
        .setExecutors(s.executors()).setMaxAttempts(s.maxAttempts()).setExecutorMemoryMb(s.executorMemoryMb()).setExecutorCores(s.executorCores())
        .putAllConf(s.conf());
    if (s.checkpointDir() != null) {
      spec.setCheckpointDir(s.checkpointDir());
    }
    StreamGraph graph = loadGraph(s.jar(), spec.build());

    YarnClientApplication app = newApplication();
    ApplicationId id = app.getNewApplicationResponse().getApplicationId();
    FileSystem fs = FileSystem.get(conf);
    Path staging = fs.makeQualified(stagingDir(fs, id));
    Path checkpoint = fs.makeQualified(new Path(graph.checkpointDir().orElse(staging + "/checkpoint")));
    boolean checkpointCreated = new MetadataStore(checkpoint.getFileSystem(conf), checkpoint, 2).ensureWritable();
    try {
      spec.setCheckpointDir(checkpoint.toString()).setStagingDir(staging.toString())
          .setApplicationName(graph.settings().get("sluice.app.name", s.appClass()));
      fs.mkdirs(staging, new FsPermission((short) 0700));
      spec.addFiles(upload(fs, s.jar(), new Path(staging, "app.jar"), "app.jar"));
      Optional<java.nio.file.Path> runtimeJar = runtimeJar();
      if (runtimeJar.isPresent()) {
        spec.addFiles(upload(fs, runtimeJar.get(), new Path(staging, "sluice.jar"), "sluice.jar"));
      }
      JobSpec built = spec.build();
      try (OutputStream out = fs.create(new Path(staging, JobSpecs.FILE_NAME))) {
        built.writeTo(out);
      }
      try (OutputStream out = fs.create(new Path(staging, JobSpecs.HADOOP_CONF_FILE))) {
        conf.writeXml(out);
      }
      AppSecret secret = AppSecret.generate(new SecureRandom());
      try (OutputStream out = fs.create(new Path(staging, SECRET_FILE))) {
        out.write(secret.bytes());
      }
      fs.setPermission(new Path(staging, SECRET_FILE), new FsPermission((short) 0600));
      yarn.submitApplication(submissionContext(app, built, graph, s, secret));
      LOG.info("Submitted {} ({}), checkpoint directory {}", id, s.appClass(), checkpoint);
      return id;
    } catch (Exception e) {
      fs.delete(staging, true);
      if (checkpointCreated) {
        fs.delete(checkpoint, true);
      }
      throw e;
    }
  }

  /** Builds the application's graph from its jar, as the AM and the executors will. */
  static StreamGraph loadGraph(java.nio.file.Path jar, JobSpec spec) throws IOException {
    if (!Files.isRegularFile(jar)) {
      throw new SluiceException("application jar " + jar + " does not exist; check --jar");
    }
    try (URLClassLoader loader = new URLClassLoader(new java.net.URL[] {jar.toUri().toURL()},
        SluiceClient.class.getClassLoader())) {
      return JobSpecs.graph(spec, loader);
    }
  }

  private YarnClientApplication newApplication() throws Exception {
    try {
      return yarn.createApplication();
    } catch (IOException e) {
      throw new SluiceException("cannot reach the ResourceManager at " + conf.get(YarnConfiguration.RM_ADDRESS)
          + "; check that it runs and that HADOOP_CONF_DIR/YARN_CONF_DIR point at its configuration", e);
    }
  }

  private ApplicationSubmissionContext submissionContext(YarnClientApplication app, JobSpec spec, StreamGraph graph,
      Submission s, AppSecret secret) throws IOException {
    List<LocalFile> files = LocalFiles.forContainers(spec, conf);
    Credentials credentials = new Credentials();
    secret.addTo(credentials);
    DataOutputBuffer tokens = new DataOutputBuffer();
    credentials.writeTokenStorageToStream(tokens);
    int amMemory = graph.settings().getInt(SettingKeys.AM_MEMORY_MB, SettingKeys.DEFAULT_AM_MEMORY_MB);
    boolean classDataArchive = graph.settings().getBoolean(SettingKeys.AM_CLASS_DATA_ARCHIVE, true);
    if (classDataArchive) {
      Path script = new Path(spec.getStagingDir(), ContainerSetup.AM_LAUNCH_SCRIPT);
      try (OutputStream out = script.getFileSystem(conf).create(script)) {
        out.write(ContainerSetup.amLaunchScript().getBytes(StandardCharsets.UTF_8));
      }
      files.add(LocalFiles.describe(ContainerSetup.AM_LAUNCH_SCRIPT, script, conf));
    }
    ContainerLaunchContext am = ContainerLaunchContext.newInstance(ContainerSetup.localResources(files),
        Map.of("CLASSPATH", ContainerSetup.classpath(conf)),
        List.of(ContainerSetup.amCommand(amMemory * 3L / 4, graph.settings().get(AM_JAVA_OPTS, DEFAULT_AM_JAVA_OPTS),
            classDataArchive)), null,
        ByteBuffer.wrap(tokens.getData(), 0, tokens.getLength()), null);
    ApplicationSubmissionContext ctx = app.getApplicationSubmissionContext();
    ctx.setApplicationName(spec.getApplicationName());
    ctx.setApplicationType(APPLICATION_TYPE);
    ctx.setAMContainerSpec(am);
    ctx.setResource(Resource.newInstance(amMemory, 1));
    ctx.setMaxAppAttempts(s.maxAttempts());
    // Only failures within the last hour count, so a job that fails once a day is never given up on.
    ctx.setAttemptFailuresValidityInterval(ATTEMPT_FAILURES_VALIDITY_MS);
    // Executors outlive a failed AM attempt, so the next one adopts them with their state.
    ctx.setKeepContainersAcrossApplicationAttempts(true);
    if (s.queue() != null) {
      ctx.setQueue(s.queue());
    }
    return ctx;
  }

  private static LocalFile upload(FileSystem fs, java.nio.file.Path local, Path target, String name) throws IOException {
    fs.copyFromLocalFile(false, true, new Path(local.toUri()), target);
    return LocalFiles.describe(name, target, fs.getConf());
  }

  /** The jar holding Sluice itself, when the client runs from one (not from a build's class directories). */
  private static Optional<java.nio.file.Path> runtimeJar() throws Exception {
    java.nio.file.Path p = java.nio.file.Path.of(ContainerSetup.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    return Files.isRegularFile(p) && p.toString().endsWith(".jar") ? Optional.of(p) : Optional.empty();
  }

  static Path stagingDir(FileSystem fs, ApplicationId id) {
    return new Path(fs.getHomeDirectory(), ".sluice/" + id);
  }

  public ApplicationReport report(ApplicationId id) throws Exception {
    try {
      return yarn.getApplicationReport(id);
    } catch (ApplicationNotFoundException e) {
      throw new SluiceException("the ResourceManager knows no application " + id + "; check the id with yarn application -list");
    } catch (IOException e) {
      throw new SluiceException("cannot reach the ResourceManager at " + conf.get(YarnConfiguration.RM_ADDRESS)
          + "; check that it runs and that HADOOP_CONF_DIR/YARN_CONF_DIR point at its configuration", e);
    }
  }

  /** The running AM's own status, asked over its authenticated RPC; empty when it is not running. */
  public Optional<StatusResponse> amStatus(ApplicationReport report) throws IOException {
    if (report.getYarnApplicationState() != YarnApplicationState.RUNNING || report.getRpcPort() <= 0) {
      return Optional.empty();
    }
    return Optional.of(withControl(report, stub -> stub.getStatus(StatusRequest.getDefaultInstance())));
  }

  /** Calls the AM's control service with the application's secret from the staging directory. */
  private <T> T withControl(ApplicationReport report,
      java.util.function.Function<ControlServiceGrpc.ControlServiceBlockingStub, T> call) throws IOException {
    FileSystem fs = FileSystem.get(conf);
    byte[] secret;
    try (InputStream in = fs.open(new Path(stagingDir(fs, report.getApplicationId()), SECRET_FILE))) {
      secret = in.readAllBytes();
    }
    ManagedChannel channel = RpcChannels.channel(report.getHost() + ":" + report.getRpcPort());
    try {
      return call.apply(ControlServiceGrpc.newBlockingStub(channel)
          .withCallCredentials(AppSecret.of(secret).callCredentials()).withDeadlineAfter(10, TimeUnit.SECONDS));
    } finally {
      channel.shutdownNow();
    }
  }

  /** Asks the running AM to stop; see {@code sluice stop}. */
  public void stop(ApplicationId id, boolean graceful) throws Exception {
    ApplicationReport report = report(id);
    if (report.getYarnApplicationState() != YarnApplicationState.RUNNING || report.getRpcPort() <= 0) {
      throw new SluiceException("application " + id + " is " + report.getYarnApplicationState()
          + ", not running; nothing to stop");
    }
    withControl(report, stub -> stub.stop(StopRequest.newBuilder().setGraceful(graceful).build()));
  }

  public void kill(ApplicationId id) throws Exception {
    report(id);
    yarn.killApplication(id);
  }

  public YarnClient yarn() {
    return yarn;
  }

  public static ApplicationId parseId(String text) {
    try {
      return ApplicationId.fromString(text);
    } catch (IllegalArgumentException e) {
      throw new SluiceException("\"" + text + "\" is not an application id (like application_1700000000000_0001)");
    }
  }

  @Override
  public void close() {
    yarn.stop();
  }

  static List<String> describe(ApplicationReport r) {
    List<String> lines = new ArrayList<>();
    lines.add("application " + r.getApplicationId() + " (" + r.getName() + ")");
    lines.add("state       " + r.getYarnApplicationState() + " / " + r.getFinalApplicationStatus());
    lines.add("attempt     " + r.getCurrentApplicationAttemptId());
    if (r.getDiagnostics() != null && !r.getDiagnostics().isBlank()) {
      lines.add("diagnostics " + r.getDiagnostics().strip().lines().findFirst().orElse(""));
    }
    return lines;
  }
}
