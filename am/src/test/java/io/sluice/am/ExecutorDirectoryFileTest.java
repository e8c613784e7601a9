package io.sluice.am;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.proto.ExecutorDirectory;
import io.sluice.proto.RegisterExecutorRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The directory file on the local Hadoop file system: the newest directory lands, an unchanged one is not rewritten. */
class ExecutorDirectoryFileTest {
  @TempDir Path tmp;

  private static ExecutorDirectory of(int executors) {
    ExecutorDirectory.Builder d = ExecutorDirectory.newBuilder();
    for (int i = 0; i < executors; i++) {
      d.addExecutors(RegisterExecutorRequest.newBuilder().setExecutorId("executor-" + i).setSlot(i)
          .setContainerId("container_" + i).setHost("localhost").setPort(9000 + i));
    }
    return d.build();
  }

  @Test
  void theNewestDirectoryLandsAndOneTheFileHoldsAlreadyIsNotWrittenAgain() throws Exception {
    ExecutorDirectoryFile file = new ExecutorDirectoryFile(new Configuration(), tmp.toUri().toString());
    assertThat(file.read()).isEqualTo(ExecutorDirectory.getDefaultInstance());
    for (int n = 1; n <= 5; n++) {
      file.write(of(n));
    }
    file.awaitWritten();
    Path written = tmp.resolve(ExecutorDirectoryFile.NAME);
    assertThat(ExecutorDirectory.parseFrom(Files.readAllBytes(written))).isEqualTo(of(5));

    ExecutorDirectoryFile nextAttempt = new ExecutorDirectoryFile(new Configuration(), tmp.toUri().toString());
    assertThat(nextAttempt.read()).isEqualTo(of(5));
    Files.delete(written);
    nextAttempt.write(of(5));
    nextAttempt.awaitWritten();
    assertThat(written).doesNotExist();
    nextAttempt.write(of(2));
    nextAttempt.awaitWritten();
    assertThat(ExecutorDirectory.parseFrom(Files.readAllBytes(written))).isEqualTo(of(2));
  }
}
