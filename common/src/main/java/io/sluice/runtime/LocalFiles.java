package io.sluice.runtime;

import io.sluice.proto.JobSpec;
import io.sluice.proto.LocalFile;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;

/** The files every Sluice container localizes: the job's jars and its job spec. */
public final class LocalFiles {
  private LocalFiles() {}

  /** Describes an uploaded file for localization under {@code name}. */
  public static LocalFile describe(String name, Path path, Configuration conf) throws IOException {
    FileStatus st = path.getFileSystem(conf).getFileStatus(path);
    return LocalFile.newBuilder().setName(name).setUri(st.getPath().toUri().toString()).setSize(st.getLen())
        .setModificationTime(st.getModificationTime()).build();
  }

  /** The jars of the spec plus the spec file and the client's Hadoop configuration, in the staging directory. */
  public static List<LocalFile> forContainers(JobSpec spec, Configuration conf) throws IOException {
    List<LocalFile> files = new ArrayList<>(spec.getFilesList());
    files.add(describe(JobSpecs.FILE_NAME, new Path(spec.getStagingDir(), JobSpecs.FILE_NAME), conf));
    files.add(describe(JobSpecs.HADOOP_CONF_FILE, new Path(spec.getStagingDir(), JobSpecs.HADOOP_CONF_FILE), conf));
    return files;
  }
}
