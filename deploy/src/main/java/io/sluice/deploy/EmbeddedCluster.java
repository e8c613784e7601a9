package io.sluice.deploy;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;

/**
 * A real HDFS (one DataNode) and YARN (one NodeManager) in this JVM, for {@code sluice demo},
 * {@code sluice minicluster} and the integration tests.
 */
public final class EmbeddedCluster implements AutoCloseable {
  /** Held so the level sticks: Guice warns through java.util.logging about the embedded web apps. */
  private static final java.util.logging.Logger GUICE_LOG = java.util.logging.Logger.getLogger("com.google.inject");

  private final MiniDFSCluster dfs;
  private final MiniYARNCluster yarn;

  private EmbeddedCluster(MiniDFSCluster dfs, MiniYARNCluster yarn) {
    this.dfs = dfs;
    this.yarn = yarn;
  }

  /** Starts HDFS and YARN with their data under {@code baseDir}. */
  public static EmbeddedCluster start(Path baseDir) throws IOException {
    GUICE_LOG.setLevel(java.util.logging.Level.SEVERE);
    Configuration conf = new YarnConfiguration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, baseDir.resolve("hdfs").toString());
    MiniDFSCluster dfs = new MiniDFSCluster.Builder(conf, new File(baseDir.resolve("hdfs").toString()))
        .numDataNodes(1).build();
    dfs.waitActive();
    conf.set("fs.defaultFS", dfs.getURI().toString());
    // MiniYARNCluster gives each NodeManager its own memory setting (4 GiB by default).
    conf.setInt(YarnConfiguration.YARN_MINICLUSTER_NM_PMEM_MB, 8192);
    conf.setInt(YarnConfiguration.NM_PMEM_MB, 8192);
    conf.setInt(YarnConfiguration.NM_VCORES, 8);
    conf.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 128);
    conf.setInt(YarnConfiguration.RM_AM_MAX_ATTEMPTS, 4);
    // Room for several jobs' AMs at once, not the default tenth of the cluster.
    conf.setFloat("yarn.scheduler.capacity.maximum-am-resource-percent", 0.5f);
    // Stop containers quickly: the defaults wait seconds before SIGKILL.
    conf.setLong(YarnConfiguration.NM_PROCESS_KILL_WAIT_MS, 500);
    conf.setLong(YarnConfiguration.NM_SLEEP_DELAY_BEFORE_SIGKILL_MS, 100);
    conf.set(YarnConfiguration.YARN_MINICLUSTER_FIXED_PORTS, "false");
    // The NodeManager reports a dead AM, and receives the next attempt's container, on its heartbeat:
    // 200 ms instead of 1 s takes up to 1.6 s off a driver restart. Real clusters set their own.
    conf.setLong(YarnConfiguration.RM_NM_HEARTBEAT_INTERVAL_MS, 200);
    System.setProperty("hadoop.log.dir", baseDir.resolve("logs").toString());
    try {
      MiniYARNCluster yarn = new MiniYARNCluster("sluice", 1, 1, 1);
      yarn.init(conf);
      yarn.start();
      // Containers are processes of their own: when this JVM ends without stopping the cluster
      // (Ctrl-C), nothing else would stop them.
      long timestamp = org.apache.hadoop.yarn.server.resourcemanager.ResourceManager.getClusterTimeStamp();
      Runtime.getRuntime().addShutdownHook(new Thread(() -> killContainers(timestamp), "sluice-kill-containers"));
      return new EmbeddedCluster(dfs, yarn);
    } catch (RuntimeException | Error e) {
      dfs.shutdown();
      throw e;
    }
  }

  /** Client configuration: HDFS and the ResourceManager of this cluster. */
  public Configuration conf() {
    Configuration c = new YarnConfiguration(yarn.getConfig());
    c.set("fs.defaultFS", dfs.getURI().toString());
    return c;
  }

  public FileSystem fileSystem() throws IOException {
    return dfs.getFileSystem();
  }

  public MiniYARNCluster yarn() {
    return yarn;
  }

  /** Writes core-site.xml and yarn-site.xml into {@code dir}, for {@code HADOOP_CONF_DIR}. */
  public void writeClientConfig(Path dir) throws IOException {
    Files.createDirectories(dir);
    Configuration core = new Configuration(false);
    core.set("fs.defaultFS", dfs.getURI().toString());
    try (OutputStream out = Files.newOutputStream(dir.resolve("core-site.xml"))) {
      core.writeXml(out);
    }
    try (OutputStream out = Files.newOutputStream(dir.resolve("yarn-site.xml"))) {
      conf().writeXml(out);
    }
  }

  @Override
  public void close() {
    yarn.stop();
    killContainers(org.apache.hadoop.yarn.server.resourcemanager.ResourceManager.getClusterTimeStamp());
    dfs.shutdown();
  }

  private static void killContainers(long clusterTimestamp) {
    try {
      ContainerProcesses.ofCluster(clusterTimestamp).forEach(ProcessHandle::destroyForcibly);
    } catch (IOException e) {
      // Best effort: /proc unreadable means there is nothing this JVM could stop anyway.
    }
  }
}
