package io.sluice.deploy;

import java.io.File;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.yarn.conf.YarnConfiguration;

/** Hadoop client configuration from HADOOP_CONF_DIR and YARN_CONF_DIR, as every Hadoop tool reads it. */
final class ClientConfiguration {
  private ClientConfiguration() {}

  static Configuration load() {
    Configuration conf = new YarnConfiguration();
    for (String env : new String[] {"HADOOP_CONF_DIR", "YARN_CONF_DIR"}) {
      String dir = System.getenv(env);
      if (dir == null) {
        continue;
      }
      for (String name : new String[] {"core-site.xml", "hdfs-site.xml", "yarn-site.xml"}) {
        File f = new File(dir, name);
        if (f.isFile()) {
          conf.addResource(new Path(f.toURI()));
        }
      }
    }
    return conf;
  }
}
