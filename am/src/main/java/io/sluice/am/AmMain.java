package io.sluice.am;

import io.sluice.proto.JobSpec;
import io.sluice.rpc.AppSecret;
import io.sluice.runtime.Clock;
import io.sluice.runtime.JobSpecs;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
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
