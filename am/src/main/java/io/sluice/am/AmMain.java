package io.sluice.am;

import io.sluice.proto.JobSpec;
import io.sluice.rpc.AppSecret;
import io.sluice.runtime.Clock;
import io.sluice.runtime.JobSpecs;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.yarn.api.records.ContainerId;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ApplicationMaster's entry point: reads what its container was launched with (the job spec,
 * the client's Hadoop configuration, the application secret, YARN's environment) and runs an
 * {@link ApplicationMaster}. Any failure exits non-zero, so YARN starts a new attempt, which
 * resumes from the checkpoint.
 */
public final class AmMain {
  private static final Logger LOG = LoggerFactory.getLogger(AmMain.class);

  private AmMain() {}

  /**
   * Sets up the client of the default file system (HDFS) on another thread while this one
   * registers with YARN: its protocol classes and RPC proxy take a few hundred ms, which a
   * restarted AM otherwise spends before it can read its checkpoint. The AM's own calls get the
   * same cached client and report any failure; this one only logs it.
   */
  private static void setUpFileSystemClientInBackground(Configuration conf) {
    Thread setUp = new Thread(() -> {
      try {
        FileSystem.get(conf);
      } catch (IOException | RuntimeException e) {
        LOG.debug("Early set-up of the file system client failed: {}", e.toString());
      }
    }, "sluice-fs-client-setup");
    setUp.setDaemon(true);
    setUp.start();
  }

  public static void main(String[] args) {
    LOG.info("AM JVM started in {} ms{}", ManagementFactory.getRuntimeMXBean().getUptime(),
        ClassDataArchive.startedFromArchive() ? ", from the class-data archive of an earlier attempt" : "");
    try {
      JobSpec spec;
      try (InputStream in = Files.newInputStream(Path.of(JobSpecs.FILE_NAME))) {
        spec = JobSpec.parseFrom(in);
      }
      String host = System.getenv().getOrDefault("NM_HOST", InetAddress.getLocalHost().getCanonicalHostName());
      YarnConfiguration conf = new YarnConfiguration(JobSpecs.containerHadoopConf(new YarnConfiguration()));
      // Hadoop closes cached file systems in its own shutdown hook, which would cut a SIGTERM
      // drain off from HDFS; this process closes what it writes itself.
      conf.setBoolean("fs.automatic.close", false);
      setUpFileSystemClientInBackground(conf);
      new ApplicationMaster(new ApplicationMaster.Setup(spec, conf,
          ContainerId.fromString(System.getenv("CONTAINER_ID")).getApplicationAttemptId(),
          AppSecret.fromCurrentUser(), host, Clock.SYSTEM)).run();
      System.exit(0);
    } catch (Throwable t) {
      LOG.error("AM failed", t);
      System.exit(1);
    }
  }
}
