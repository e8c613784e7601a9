package io.sluice.local;

import io.sluice.checkpoint.MetadataStore;
import io.sluice.proto.MetadataCheckpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

/** What a local runner's job left on the local disk, read back for the tests' checks. */
final class JobFiles {
  private JobFiles() {}

  /** The newest valid metadata checkpoint in {@code checkpointDir}. */
  static MetadataCheckpoint newestCheckpoint(Path checkpointDir) throws IOException {
    return new MetadataStore(FileSystem.getLocal(new Configuration()),
        new org.apache.hadoop.fs.Path(checkpointDir.toUri()), 10).readNewestValid(w -> { }).orElseThrow().checkpoint();
  }

  /** The lines of a committed {@code saveAsTextFiles} directory's part files, sorted. */
  static List<String> committedLines(Path dir) throws IOException {
    try (Stream<Path> parts = Files.list(dir)) {
      return parts.filter(p -> p.getFileName().toString().startsWith("part-")).flatMap(p -> {
        try {
          return Files.readAllLines(p).stream();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }).sorted().toList();
    }
  }
}
