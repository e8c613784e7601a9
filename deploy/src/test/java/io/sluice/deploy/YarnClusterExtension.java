package io.sluice.deploy;

import io.sluice.api.Duration;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import io.sluice.graph.SettingKeys;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One real MiniDFSCluster + MiniYARNCluster per test class, with helpers to submit jobs, wait for
 * them and read their committed outputs.
 */
public final class YarnClusterExtension implements BeforeAllCallback, AfterAllCallback, AfterEachCallback {
  private EmbeddedCluster cluster;
  private SluiceClient client;
  private Path baseDir;

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    baseDir = Files.createTempDirectory("sluice-it-");
    cluster = EmbeddedCluster.start(baseDir);
    client = new SluiceClient(cluster.conf());
  }

  /** Kills what a test left running, so that a failed test cannot hold the cluster's resources for the next. */
  @Override
  public void afterEach(ExtensionContext context) throws Exception {
    for (var app : client.yarn().getApplications(java.util.EnumSet.of(YarnApplicationState.NEW,
        YarnApplicationState.NEW_SAVING, YarnApplicationState.SUBMITTED, YarnApplicationState.ACCEPTED,
        YarnApplicationState.RUNNING))) {
      client.yarn().killApplication(app.getApplicationId());
    }
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    client.close();
    cluster.close();
  }

  public Configuration conf() {
    return cluster.conf();
  }

  public FileSystem fs() throws IOException {
    return cluster.fileSystem();
  }

  public SluiceClient client() {
    return client;
  }

  public Path baseDir() {
    return baseDir;
  }

  /** The examples jar built by this module's package phase. */
  public static Path examplesJar() {
    return Path.of(System.getProperty("sluice.examples.jar"));
  }

  public ApplicationId submit(String appClass, String checkpoint, int executors, Map<String, String> conf)
      throws Exception {
    return submit(appClass, checkpoint, executors, 2, conf);
  }

  public ApplicationId submit(String appClass, String checkpoint, int executors, int maxAttempts,
      Map<String, String> conf) throws Exception {
    return submit(examplesJar(), appClass, checkpoint, executors, maxAttempts, conf);
  }

  public ApplicationId submit(Path jar, String appClass, String checkpoint, int executors, int maxAttempts,
      Map<String, String> conf) throws Exception {
    // A test job ends before its AM's class-data archive would be written; the test of the archive turns it on.
    Map<String, String> withDefaults = new java.util.HashMap<>(conf);
    withDefaults.putIfAbsent(SettingKeys.AM_CLASS_DATA_ARCHIVE, "false");
    return client.submit(new Submission(jar, appClass, checkpoint, Duration.ofSeconds(1), executors, 256, 1,
        null, maxAttempts, withDefaults));
  }

  /** A jar holding just the given classes of the test class path, as an application jar. */
  public Path jarOf(Class<?>... classes) throws IOException {
    Path jar = Files.createTempFile(baseDir, "app-", ".jar");
    try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar))) {
      for (Class<?> c : classes) {
        String entry = c.getName().replace('.', '/') + ".class";
        out.putNextEntry(new java.util.jar.JarEntry(entry));
        try (var in = c.getClassLoader().getResourceAsStream(entry)) {
          in.transferTo(out);
        }
        out.closeEntry();
      }
    }
    return jar;
  }

  public ApplicationReport awaitState(ApplicationId id, YarnApplicationState state) {
    Awaitility.await().atMost(java.time.Duration.ofSeconds(120)).pollInterval(java.time.Duration.ofMillis(200))
        .until(() -> client.report(id).getYarnApplicationState(), s -> s == state || isFinal(s));
    try {
      return client.report(id);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static boolean isFinal(YarnApplicationState s) {
    return s == YarnApplicationState.FINISHED || s == YarnApplicationState.FAILED || s == YarnApplicationState.KILLED;
  }

  /** Lines of every committed output directory under {@code dir} whose name starts with {@code prefix}, by name. */
  public Map<String, List<String>> readOutputs(String dir, String prefix) throws IOException {
    Map<String, List<String>> outputs = new TreeMap<>();
    org.apache.hadoop.fs.Path d = new org.apache.hadoop.fs.Path(dir);
    if (!fs().exists(d)) {
      return outputs;
    }
    for (FileStatus batch : fs().listStatus(d, p -> p.getName().startsWith(prefix))) {
      List<String> lines = new ArrayList<>();
      for (FileStatus part : fs().listStatus(batch.getPath(), p -> p.getName().startsWith("part-"))) {
        try (InputStream in = fs().open(part.getPath())) {
          lines.addAll(new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList());
        }
      }
      outputs.put(batch.getPath().getName(), lines);
    }
    return outputs;
  }

  /**
   * The files named {@code fileName} in the containers' directories on the node managers, by the
   * container they belong to. The node managers delete a finished container's working directory
   * while the walk may be in it, so what vanishes meanwhile is passed over.
   */
  public static Map<String, Path> containerFiles(String fileName) throws IOException {
    Map<String, Path> found = new TreeMap<>();
    Files.walkFileTree(Path.of("target", "test", "data"), new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
        if (file.getFileName().toString().equals(fileName) && file.getParent().getFileName().toString()
            .startsWith("container_")) {
          found.put(file.getParent().getFileName().toString(), file);
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
        return passOverVanished(e);
      }

      @Override
      public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
        return e == null ? FileVisitResult.CONTINUE : passOverVanished(e);
      }

      private FileVisitResult passOverVanished(IOException e) throws IOException {
        if (e instanceof NoSuchFileException) {
          return FileVisitResult.CONTINUE;
        }
        throw e;
      }
    });
    return found;
  }

  public void writeFile(String path, String content) throws IOException {
    org.apache.hadoop.fs.Path target = new org.apache.hadoop.fs.Path(path);
    org.apache.hadoop.fs.Path temp = new org.apache.hadoop.fs.Path(target.getParent(), "_" + target.getName());
    try (var out = fs().create(temp)) {
      out.write(content.getBytes(StandardCharsets.UTF_8));
    }
    fs().rename(temp, target);
  }
}
