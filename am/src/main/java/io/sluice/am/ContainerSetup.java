package io.sluice.am;

import io.sluice.proto.LocalFile;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.yarn.api.ApplicationConstants;
import org.apache.hadoop.yarn.api.records.LocalResource;
import org.apache.hadoop.yarn.api.records.LocalResourceType;
import org.apache.hadoop.yarn.api.records.LocalResourceVisibility;
import org.apache.hadoop.yarn.api.records.URL;
import org.apache.hadoop.yarn.conf.YarnConfiguration;

/** What the AM's and the executors' containers are launched with, built the same way for both. */
public final class ContainerSetup {
  private ContainerSetup() {}

  public static Map<String, LocalResource> localResources(List<LocalFile> files) {
    Map<String, LocalResource> resources = new HashMap<>();
    for (LocalFile f : files) {
      resources.put(f.getName(), LocalResource.newInstance(URL.fromURI(java.net.URI.create(f.getUri())),
          LocalResourceType.FILE, LocalResourceVisibility.APPLICATION, f.getSize(), f.getModificationTime()));
    }
    return resources;
  }

  /**
   * The localized jars first, then the cluster's Hadoop classpath; under MiniYARNCluster also this
   * JVM's class path, as Hadoop's own distributedshell and MapReduce clients do, because the
   * embedded NodeManager's containers have no Hadoop installation to point at.
   */
  public static String classpath(Configuration conf) {
    List<String> entries = new ArrayList<>();
    entries.add(ApplicationConstants.Environment.PWD.$$() + "/*");
    for (String c : conf.getStrings(YarnConfiguration.YARN_APPLICATION_CLASSPATH,
        YarnConfiguration.DEFAULT_YARN_CROSS_PLATFORM_APPLICATION_CLASSPATH)) {
      entries.add(c.trim());
    }
    if (conf.getBoolean(YarnConfiguration.IS_MINI_YARN_CLUSTER, false)) {
      entries.add(System.getProperty("java.class.path"));
    }
    return String.join(ApplicationConstants.CLASS_PATH_SEPARATOR, entries);
  }

  /**
   * The java command of an executor container, with extra JVM options, its output going to YARN's
   * log directory. The heap has its full size from the start, as YARN reserved the container's
   * memory anyway: a heap that grows as the state does resized itself through full collections
   * (250 ms at K = 1M) and kept the young generation small, so that young collections came often.
   */
  public static String executorCommand(long heapMb, String javaOpts, String mainClass) {
    String heap = "-Xms" + heapMb + "m -Xmx" + heapMb + "m";
    return command(ApplicationConstants.Environment.JAVA_HOME.$$() + "/bin/java", heap, javaOpts, mainClass);
  }

  /**
   * The AM's command; with {@code classDataArchive}, through the start script of
   * {@link ClassDataArchive}, which the container must localize as {@link #AM_LAUNCH_SCRIPT}.
   */
  public static String amCommand(long heapMb, String javaOpts, boolean classDataArchive) {
    String launcher = classDataArchive ? "/bin/bash " + AM_LAUNCH_SCRIPT
        : ApplicationConstants.Environment.JAVA_HOME.$$() + "/bin/java";
    return command(launcher, "-Xmx" + heapMb + "m", javaOpts, AmMain.class.getName());
  }

  /** The file name of the AM's start script in its container. */
  public static final String AM_LAUNCH_SCRIPT = ClassDataArchive.LAUNCH_SCRIPT;

  /** The text of the AM's start script. */
  public static String amLaunchScript() {
    return ClassDataArchive.launchScript();
  }

  private static String command(String launcher, String heapOptions, String javaOpts, String mainClass) {
    return String.join(" ", launcher, heapOptions, javaOpts, "-Dlog4j.configuration=sluice-log4j.properties",
        mainClass, "1>" + ApplicationConstants.LOG_DIR_EXPANSION_VAR + "/stdout",
        "2>" + ApplicationConstants.LOG_DIR_EXPANSION_VAR + "/stderr");
  }
}
