package io.sluice.runtime;

import io.sluice.api.BatchInfo;
import io.sluice.api.SluiceException;
import io.sluice.graph.OperatorNode;
import io.sluice.proto.FileInput;
import io.sluice.proto.GeneratorInput;
import io.sluice.proto.InputDescriptor;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.Arrays;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/** Decides what each source feeds a batch, before the batch runs. */
final class SourcePlanner {
  private final Configuration hadoopConf;

  SourcePlanner(Configuration hadoopConf) {
    this.hadoopConf = hadoopConf;
  }

  /**
   * The input of {@code source} for {@code batch}, which covers {@code batchCount} batch times
   * ending at its own. For a directory source, the files not yet in {@code consumed}, which are
   * then added to it.
   */
  InputDescriptor plan(OperatorNode source, BatchInfo batch, long batchCount, Set<String> consumed)
      throws IOException {
    InputDescriptor.Builder d = InputDescriptor.newBuilder().setSourceId(source.id());
    switch (source.kind()) {
      case GENERATOR_SOURCE -> d.setGenerator(GeneratorInput.newBuilder().setBatchIndex(batch.index())
          .setBatchCount(batchCount)
          .setLines(Long.parseLong(source.param("lines"))).setVocabulary(Long.parseLong(source.param("vocabulary")))
          .setPartitions(source.partitions()));
      case FILE_SOURCE -> d.setFiles(newFiles(new Path(source.param("dir")), consumed));
      default -> throw new IllegalArgumentException(source + " is not a source");
    }
    return d.build();
  }

  private FileInput newFiles(Path dir, Set<String> consumed) throws IOException {
    FileSystem fs = dir.getFileSystem(hadoopConf);
    FileStatus[] statuses;
    try {
      statuses = fs.listStatus(dir, p -> !p.getName().startsWith(".") && !p.getName().startsWith("_"));
    } catch (FileNotFoundException e) {
      throw new SluiceException("input directory " + dir + " does not exist; create it before starting the job");
    }
    FileInput.Builder files = FileInput.newBuilder();
    Arrays.stream(statuses).filter(FileStatus::isFile).map(s -> s.getPath().toString()).sorted()
        .filter(consumed::add).forEach(files::addPaths);
    return files.build();
  }
}
