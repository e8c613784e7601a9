package io.sluice.am;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClassDataArchiveTest {
  @TempDir Path tmp;

  @Test
  void theArchiveClassPathHoldsTheJarsByTheirRealPathsInOrderWithoutDirectories() throws IOException {
    Path a = Files.writeString(tmp.resolve("a.jar"), "a");
    Path cached = Files.createDirectories(tmp.resolve("filecache/10"));
    Path b = Files.writeString(cached.resolve("b.jar"), "b");
    Path container = Files.createDirectories(tmp.resolve("container"));
    Files.createSymbolicLink(container.resolve("b.jar"), b);
    Path conf = Files.createDirectories(tmp.resolve("conf"));
    Files.writeString(conf.resolve("core-site.xml"), "<configuration/>");
    String classPath = String.join(File.pathSeparator, container.resolve("b.jar").toString(), conf.toString(),
        a.toString(), tmp.resolve("missing.jar").toString(), b.toString());

    assertThat(ClassDataArchive.dumpClasspath(classPath))
        .containsExactly(b.toRealPath().toString(), a.toRealPath().toString());
  }

  @Test
  void aClassListBeingWrittenIsCutAfterItsLastCompleteLine() {
    assertThat(ClassDataArchive.completeLines("java/lang/Object id: 1\nio/sluice/am/Am")).isEqualTo("java/lang/Object id: 1\n");
    assertThat(ClassDataArchive.completeLines("no line break yet")).isEmpty();
  }

  @Test
  void theLaunchScriptRecordsTheClassListWhenNoArchiveIsThere() throws Exception {
    List<String> args = launch();

    Path dir = tmp.resolve("app1/sluice-class-data");
    assertThat(dir).isDirectory();
    assertThat(args.get(0)).startsWith("-XX:DumpLoadedClassList=" + dir + "/am-").endsWith(".classlist");
    assertThat(args.subList(1, args.size()))
        .containsExactly("-D" + ClassDataArchive.DIR_PROPERTY + "=" + dir, "-Xmx10m", "io.example.Main");
  }

  @Test
  void theLaunchScriptMapsTheArchiveWithItsClassPathFirst() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("app1/sluice-class-data"));
    Files.writeString(dir.resolve(ClassDataArchive.ARCHIVE), "archive");
    Files.writeString(dir.resolve(ClassDataArchive.CLASSPATH_FILE), "/cache/a.jar:/cache/b.jar");

    assertThat(launch()).containsExactly("-XX:SharedArchiveFile=" + dir.resolve(ClassDataArchive.ARCHIVE), "-cp",
        "/cache/a.jar:/cache/b.jar:" + tmp + "/container/*", "-D" + ClassDataArchive.DIR_PROPERTY + "=" + dir,
        "-Xmx10m", "io.example.Main");
  }

  @Test
  void anArchiveWithoutItsClassPathIsNotUsed() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("app1/sluice-class-data"));
    Files.writeString(dir.resolve(ClassDataArchive.ARCHIVE), "archive being replaced");

    assertThat(launch().get(0)).startsWith("-XX:DumpLoadedClassList=");
  }

  /** Runs the launch script as YARN would, with a java that writes down its arguments. */
  private List<String> launch() throws Exception {
    Path javaHome = Files.createDirectories(tmp.resolve("jdk/bin")).getParent();
    Path argsFile = tmp.resolve("args");
    Path java = javaHome.resolve("bin/java");
    Files.writeString(java, "#!/bin/bash\nprintf '%s\\n' \"$@\" > " + argsFile + "\n");
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path script = Files.writeString(tmp.resolve(ClassDataArchive.LAUNCH_SCRIPT), ClassDataArchive.launchScript());
    ProcessBuilder pb = new ProcessBuilder("/bin/bash", script.toString(), "-Xmx10m", "io.example.Main")
        .redirectErrorStream(true);
    pb.environment().putAll(Map.of("JAVA_HOME", javaHome.toString(),
        "LOCAL_DIRS", tmp.resolve("app1") + "," + tmp.resolve("app2"), "CLASSPATH", tmp + "/container/*"));
    Process p = pb.start();
    String output = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as(output).isZero();
    return Files.readAllLines(argsFile);
  }
}
