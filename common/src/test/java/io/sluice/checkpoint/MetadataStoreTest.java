package io.sluice.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.api.SluiceException;
import io.sluice.proto.MetadataCheckpoint;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FilterFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.PathFilter;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetadataStoreTest {
  @TempDir java.nio.file.Path tmp;
  private MetadataStore store;
  private final List<String> warnings = new ArrayList<>();

  @BeforeEach
  void setUp() throws IOException {
    FileSystem fs = FileSystem.getLocal(new Configuration()).getRawFileSystem();
    store = new MetadataStore(fs, new Path(tmp.toUri()), 3);
  }

  private static MetadataCheckpoint checkpoint(long sequence) {
    return MetadataCheckpoint.newBuilder().setApplicationId("app").setSequence(sequence).setEpoch(1)
        .setLastCompletedBatchMs(sequence * 1000).build();
  }

  @Test
  void writesReadsAndKeepsTheLastN() throws IOException {
    for (long s = 1; s <= 5; s++) {
      store.write(checkpoint(s));
    }
    assertThat(store.list()).extracting(Path::getName)
        .containsExactly(MetadataStore.fileName(5), MetadataStore.fileName(4), MetadataStore.fileName(3));
    assertThat(store.readNewestValid(warnings::add)).hasValueSatisfying(l ->
        assertThat(l.checkpoint()).isEqualTo(checkpoint(5)));
    assertThat(warnings).isEmpty();
    try (var files = Files.list(tmp)) {
      assertThat(files.map(p -> p.getFileName().toString())).allMatch(n -> n.startsWith("metadata-"));
    }
  }

  @Test
  void onlyTheFirstWriteListsTheDirectoryAndLaterOnesDeleteTheFileThatFellOutByName() throws IOException {
    FileSystem raw = FileSystem.getLocal(new Configuration()).getRawFileSystem();
    Path dir = new Path(tmp.toUri());
    MetadataStore earlier = new MetadataStore(raw, dir, 10);
    for (long s = 1; s <= 5; s++) {
      earlier.write(checkpoint(s));
    }
    int[] listings = new int[1];
    FileSystem counting = new FilterFileSystem(raw) {
      @Override
      public FileStatus[] listStatus(Path f, PathFilter filter) throws IOException {
        listings[0]++;
        return super.listStatus(f, filter);
      }
    };
    MetadataStore next = new MetadataStore(counting, dir, 3);
    next.write(checkpoint(7));
    assertThat(listings[0]).as("listings by the first write").isEqualTo(1);
    assertThat(names(next)).as("the first write keeps the newest three of what it finds")
        .containsExactly(MetadataStore.fileName(7), MetadataStore.fileName(5), MetadataStore.fileName(4));
    listings[0] = 0;
    for (long s = 8; s <= 12; s++) {
      next.write(checkpoint(s));
    }
    assertThat(listings[0]).as("listings by the later writes").isZero();
    assertThat(names(next)).containsExactly(MetadataStore.fileName(12), MetadataStore.fileName(11),
        MetadataStore.fileName(10));
  }

  private static List<String> names(MetadataStore store) throws IOException {
    return store.list().stream().map(Path::getName).toList();
  }

  @Test
  void aSequenceWrittenByAnotherEpochIsNeverReplacedAndTheHighestEpochIsFoundInAnyFile() throws IOException {
    store.write(checkpoint(3).toBuilder().setEpoch(2).build());
    store.write(checkpoint(4));
    assertThatThrownBy(() -> store.write(checkpoint(4).toBuilder().setEpoch(2).build()))
        .isInstanceOf(MetadataStore.SequenceTakenException.class).hasMessageContaining(MetadataStore.fileName(4));
    assertThat(store.read(store.list().get(0)).getEpoch()).isEqualTo(1);
    MetadataStore.Survey survey = store.survey(warnings::add);
    assertThat(survey.highestEpoch()).as("the newest file has epoch 1, an older one 2").isEqualTo(2);
    assertThat(survey.highestSequence()).isEqualTo(4);
    assertThat(survey.newest().orElseThrow().checkpoint().getSequence()).isEqualTo(4);
    try (var files = Files.list(tmp)) {
      assertThat(files.map(p -> p.getFileName().toString())).allMatch(n -> n.startsWith("metadata-"));
    }
  }

  @Test
  void emptyDirectoryMeansNoCheckpoint() throws IOException {
    assertThat(store.readNewestValid(warnings::add)).isEmpty();
  }

  @Test
  void truncatedNewestFileFallsBackToThePreviousWithAWarning() throws IOException {
    store.write(checkpoint(1));
    Path newest = store.write(checkpoint(2));
    truncate(newest, 20);
    assertThat(store.readNewestValid(warnings::add)).hasValueSatisfying(l ->
        assertThat(l.checkpoint().getSequence()).isEqualTo(1));
    assertThat(warnings).singleElement().asString().contains(newest.getName()).contains("truncated");
  }

  @Test
  void flippedByteIsCaughtByTheChecksum() throws IOException {
    Path file = store.write(checkpoint(1));
    store.write(checkpoint(2));
    Path newest = store.list().get(0);
    java.io.File f = new java.io.File(newest.toUri());
    try (RandomAccessFile raf = new RandomAccessFile(f, "rw")) {
      raf.seek(f.length() - 1);
      int b = raf.read();
      raf.seek(f.length() - 1);
      raf.write(b ^ 0xFF);
    }
    assertThatThrownBy(() -> store.read(newest)).isInstanceOf(CorruptCheckpointException.class)
        .hasMessage("checksum mismatch");
    assertThat(store.readNewestValid(warnings::add).orElseThrow().path().getName()).isEqualTo(file.getName());
  }

  @Test
  void noValidFileIsAnErrorNotAFreshStart() throws IOException {
    truncate(store.write(checkpoint(1)), 5);
    assertThatThrownBy(() -> store.readNewestValid(warnings::add)).isInstanceOf(SluiceException.class)
        .hasMessageContaining("no valid metadata checkpoint").hasMessageContaining("start with a new one");
  }

  @Test
  void unwritableDirectoryIsReportedClearly() throws IOException {
    java.nio.file.Path blocker = Files.writeString(tmp.resolve("file"), "x");
    FileSystem fs = FileSystem.getLocal(new Configuration()).getRawFileSystem();
    MetadataStore bad = new MetadataStore(fs, new Path(blocker.toUri().toString() + "/cp"), 3);
    assertThatThrownBy(bad::ensureWritable).isInstanceOf(SluiceException.class)
        .hasMessageContaining("is not writable").hasMessageContaining("--checkpoint");
  }

  private static void truncate(Path p, long length) throws IOException {
    try (RandomAccessFile raf = new RandomAccessFile(new java.io.File(p.toUri()), "rw")) {
      raf.setLength(length);
    }
  }
}
