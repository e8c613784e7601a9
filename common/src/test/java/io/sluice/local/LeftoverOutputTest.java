package io.sluice.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.api.StreamingApp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A resumed driver removes the hidden output directories that drivers of earlier epochs left. */
class LeftoverOutputTest {
  @TempDir Path tmp;

  @Test
  void resumingRemovesEarlierEpochsUncommittedDirectoriesOnly() throws Exception {
    Path out = tmp.resolve("out");
    StreamingApp app = ctx -> ctx.generatedLines(5, 3, 1).saveAsTextFiles(out.resolve("lines").toString());
    Map<String, String> settings = Map.of("sluice.checkpoint.dir", tmp.resolve("cp").toString());
    try (LocalRunner job = LocalRunner.start(app, settings)) {
      job.runBatches(2);
    }
    // As a driver killed while writing would leave them: one of epoch 1, and one of a later epoch.
    Files.createDirectories(out.resolve("_uncommitted-lines-9000-epoch1"));
    Files.createDirectories(out.resolve("_uncommitted-lines-9000-epoch7"));

    try (LocalRunner job = LocalRunner.start(app, settings)) {
      assertThat(job.epoch()).isEqualTo(2);
    }
    try (Stream<Path> files = Files.list(out)) {
      assertThat(files.map(p -> p.getFileName().toString()).sorted())
          .containsExactly("_uncommitted-lines-9000-epoch7", "lines-1000", "lines-2000");
    }
  }
}
