package io.sluice.am;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The executors' default JVM options, started the way a container starts them (words of a bash
 * command): a JVM takes a malformed {@code -XX:CompileCommand} with a message on its stdout and
 * starts anyway, and an unquoted pattern would be expanded by the shell, so only the JVM's own
 * flags tell that the option arrived as written.
 */
class ExecutorJavaOptionsTest {
  private static final String NETTY_LATER = "CompileThresholdScaling,io.grpc.netty.shaded.*::*,10.0";

  @Test
  void theJvmGetsTheOptionsAsWrittenThroughTheContainersShell(@TempDir Path workDir) throws Exception {
    // A file the pattern would match were it not quoted: bash would put its name in the pattern's place.
    Files.createFile(workDir.resolve("-XX:CompileCommand=CompileThresholdScaling,io.grpc.netty.shaded.x::y,10.0"));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process jvm = new ProcessBuilder("bash", "-c",
        java + " " + ExecutorLauncher.DEFAULT_EXECUTOR_JAVA_OPTS + " -XX:+PrintFlagsFinal -version")
        .directory(workDir.toFile()).redirectErrorStream(true).start();
    // Read to its end, which comes when the JVM exits.
    String output = new String(jvm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

    assertThat(jvm.waitFor()).as(output).isZero();
    assertThat(output).doesNotContain("error occurred").contains(NETTY_LATER)
        .doesNotContain("io.grpc.netty.shaded.x::y");
  }
}
