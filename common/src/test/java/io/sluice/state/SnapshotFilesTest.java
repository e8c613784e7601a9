package io.sluice.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.api.Codec;
import io.sluice.api.Codecs;
import io.sluice.checkpoint.CorruptCheckpointException;
import io.sluice.codec.RecordCodecs;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Snapshot files on the local Hadoop file system: round trips, an empty partition, damage detected. */
class SnapshotFilesTest {
  @TempDir Path tmp;
  private final Configuration conf = new Configuration();

  @SuppressWarnings("unchecked")
  private static final Codec<Object> KEYS = (Codec<Object>) (Codec<?>) Codecs.STRING;

  private static ByteBuffer key(String k) {
    return ByteBuffer.wrap(RecordCodecs.encode(KEYS, k, "op"));
  }

  private String write(PartitionState state, boolean full, long batchMs, String name) throws Exception {
    org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(tmp.resolve(name).toUri());
    state.setVersionMs(batchMs);
    SnapshotFiles.write(SnapshotFiles.take(state, full, Codecs.auto(), "op"), path, conf);
    return path.toString();
  }

  @Test
  void aFullSnapshotAndADeltaRestoreTheStateAndAnEmptyPartitionRestoresEmpty() throws Exception {
    PartitionState state = new PartitionState();
    state.put(key("a"), "a", 1L);
    state.put(key("b"), "b", 2L);
    String full = write(state, true, 1000, "1000.full");
    state.put(key("a"), "a", 5L);
    state.remove(key("b"));
    String delta = write(state, false, 2000, "2000.delta");

    PartitionState restored = new PartitionState();
    assertThat(SnapshotFiles.restore(restored, List.of(full, delta), KEYS, Codecs.auto(), conf)).isEqualTo(2000);
    assertThat(restored.size()).isEqualTo(1);
    assertThat(restored.stateAt(restored.slotOf(key("a")))).isEqualTo(5L);

    String empty = write(new PartitionState(), true, 3000, "3000.full");
    restored.put(key("c"), "c", 1L);
    assertThat(SnapshotFiles.restore(restored, List.of(empty), KEYS, Codecs.auto(), conf)).isEqualTo(3000);
    assertThat(restored.size()).isZero();
  }

  @Test
  void aSnapshotHoldsTheStateAsTakenWhateverTheTaskDoesToItOnceItsEntriesAreCopied() throws Exception {
    PartitionState state = new PartitionState();
    List<Integer> mutable = new ArrayList<>(List.of(1));
    state.put(key("a"), "a", mutable);
    state.put(key("b"), "b", 1L);
    state.setVersionMs(1000);
    SnapshotFiles.Taken taken = SnapshotFiles.take(state, true, Codecs.auto(), "op");
    taken.copyEntries();
    mutable.add(2);
    state.put(key("b"), "b", 5L);
    state.put(key("c"), "c", 1L);
    org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(tmp.resolve("1000.full").toUri());
    SnapshotFiles.write(taken, path, conf);

    PartitionState restored = new PartitionState();
    SnapshotFiles.restore(restored, List.of(path.toString()), KEYS, Codecs.auto(), conf);
    assertThat(restored.size()).isEqualTo(2);
    assertThat(restored.stateAt(restored.slotOf(key("a")))).isEqualTo(List.of(1));
    assertThat(restored.stateAt(restored.slotOf(key("b")))).isEqualTo(1L);
  }

  /**
   * A copy leaves out the arrays of keys and states a partition of short keys and long states has no
   * use for; once the partition holds a long key and a boxed state, the next copy, into the arrays
   * the first gave back, holds them as taken.
   */
  @Test
  void aCopyHoldsLongKeysAndBoxedStatesOnceThePartitionHasThem() throws Exception {
    PartitionState state = new PartitionState();
    state.put(key("a"), "a", 1L);
    String first = write(state, true, 1000, "1000.full");
    String longKey = "a key longer than sixteen bytes";
    state.put(key(longKey), longKey, 2L);
    state.put(key("boxed"), "boxed", List.of(3L));
    state.setVersionMs(2000);
    SnapshotFiles.Taken taken = SnapshotFiles.take(state, true, Codecs.auto(), "op");
    taken.copyEntries();
    state.remove(key(longKey));
    state.put(key("boxed"), "boxed", 4L);
    state.put(key("another key longer than sixteen"), "another key longer than sixteen", 5L);
    org.apache.hadoop.fs.Path second = new org.apache.hadoop.fs.Path(tmp.resolve("2000.full").toUri());
    SnapshotFiles.write(taken, second, conf);

    PartitionState restored = new PartitionState();
    SnapshotFiles.restore(restored, List.of(first), KEYS, Codecs.auto(), conf);
    assertThat(restored.size()).isEqualTo(1);
    SnapshotFiles.restore(restored, List.of(second.toString()), KEYS, Codecs.auto(), conf);
    assertThat(restored.size()).isEqualTo(3);
    assertThat(restored.stateAt(restored.slotOf(key("a")))).isEqualTo(1L);
    assertThat(restored.stateAt(restored.slotOf(key(longKey)))).isEqualTo(2L);
    assertThat(restored.keyAt(restored.slotOf(key(longKey)))).isEqualTo(longKey);
    assertThat(restored.stateAt(restored.slotOf(key("boxed")))).isEqualTo(List.of(3L));
  }

  /**
   * A restore sizes the table for each file's new keys before putting them (a file lists its keys in
   * table order, which crowds a table that has yet to grow): a delta that more than doubles the
   * partition, with boxed and long states, replacements and removals among its new keys.
   */
  @Test
  void aDeltaThatAddsMoreKeysThanTheFullSnapshotHeldRestoresExactly() throws Exception {
    PartitionState state = new PartitionState();
    for (int i = 0; i < 20_000; i++) {
      state.put(key("k" + i), "k" + i, (long) i);
    }
    String full = write(state, true, 1000, "1000.full");
    for (int i = 0; i < 60_000; i += 2) {
      state.put(key("k" + i), "k" + i, i % 3 == 0 ? List.of((long) i) : (Object) (-(long) i));
    }
    for (int i = 1; i < 20_000; i += 10) {
      state.remove(key("k" + i));
    }
    String delta = write(state, false, 2000, "2000.delta");

    PartitionState restored = new PartitionState();
    assertThat(SnapshotFiles.restore(restored, List.of(full, delta), KEYS, Codecs.auto(), conf)).isEqualTo(2000);
    assertThat(restored.size()).isEqualTo(state.size());
    for (int i = 0; i < 60_000; i++) {
      int slot = state.slotOf(key("k" + i));
      int restoredSlot = restored.slotOf(key("k" + i));
      assertThat(restoredSlot == -1).as("k%d held", i).isEqualTo(slot == -1);
      if (slot != -1) {
        assertThat(restored.stateAt(restoredSlot)).as("k%d", i).isEqualTo(state.stateAt(slot));
        assertThat(restored.keyAt(restoredSlot)).isEqualTo("k" + i);
      }
    }
  }

  @Test
  void longStatesOfAnySizeAndSignRoundTrip() throws Exception {
    PartitionState state = new PartitionState();
    long[] values = {0, 1, -1, 127, 128, -7_000_000_000L, Long.MAX_VALUE, Long.MIN_VALUE};
    for (int i = 0; i < values.length; i++) {
      state.put(key("k" + i), "k" + i, values[i]);
    }
    state.put(key("boxed-list"), "boxed-list", List.of(3L, 4L));
    String full = write(state, true, 1000, "1000.full");

    PartitionState restored = new PartitionState();
    SnapshotFiles.restore(restored, List.of(full), KEYS, Codecs.auto(), conf);
    assertThat(restored.size()).isEqualTo(values.length + 1);
    for (int i = 0; i < values.length; i++) {
      assertThat(restored.stateAt(restored.slotOf(key("k" + i)))).isEqualTo(values[i]);
    }
    assertThat(restored.stateAt(restored.slotOf(key("boxed-list")))).isEqualTo(List.of(3L, 4L));
  }

  /**
   * Files of format 1, written by the Sluice before format 2 (int lengths, no {@code Long} puts):
   * a full snapshot of a = 1, b = 2, c = "text", d = [1, 2] at batch 1000, then a delta at batch
   * 2000 that sets a = 5, removes b and adds e = -7. A checkpoint taken by that Sluice restores.
   */
  @Test
  void snapshotsOfTheEarlierFormatStillRestore() throws Exception {
    List<String> files = new ArrayList<>();
    for (String name : List.of("1000.full", "2000.delta")) {
      Path copy = tmp.resolve(name);
      try (var in = getClass().getResourceAsStream("format-v1/" + name)) {
        java.nio.file.Files.copy(in, copy);
      }
      files.add(new org.apache.hadoop.fs.Path(copy.toUri()).toString());
    }
    PartitionState restored = new PartitionState();
    assertThat(SnapshotFiles.restore(restored, files, KEYS, Codecs.auto(), conf)).isEqualTo(2000);
    assertThat(restored.size()).isEqualTo(4);
    assertThat(restored.stateAt(restored.slotOf(key("a")))).isEqualTo(5L);
    assertThat(restored.slotOf(key("b"))).isEqualTo(-1);
    assertThat(restored.stateAt(restored.slotOf(key("c")))).isEqualTo("text");
    assertThat(restored.stateAt(restored.slotOf(key("d")))).isEqualTo(List.of(1L, 2L));
    assertThat(restored.stateAt(restored.slotOf(key("e")))).isEqualTo(-7L);
  }

  /**
   * The format-2 files that the encoder before this one wrote (protobuf's stream encoder) for a full
   * snapshot and a delta of a state with short and long keys, long states of every size and sign,
   * boxed states, a state larger than a 64 KiB piece and removals: this encoder writes the same bytes.
   */
  @Test
  void theEncoderWritesTheBytesOfFormatTwoAsBefore() throws Exception {
    PartitionState state = new PartitionState();
    long[] values = {0, 1, -1, 63, -64, 127, 128, 300, -7_000_000_000L, Long.MAX_VALUE, Long.MIN_VALUE};
    for (int i = 0; i < 2_000; i++) {
      state.put(key("w" + i), "w" + i, values[i % values.length] + (i < values.length ? 0 : i));
    }
    state.put(key("a key longer than sixteen bytes"), "a key longer than sixteen bytes", -5L);
    state.put(key("boxed"), "boxed", List.of(3L, 4L));
    state.put(key("large"), "large", "x".repeat(100_000));
    String full = write(state, true, 1000, "1000.full");
    for (int i = 0; i < 2_000; i += 3) {
      state.put(key("w" + i), "w" + i, (long) -i);
    }
    state.remove(key("w1"));
    state.remove(key("boxed"));
    String delta = write(state, false, 2000, "2000.delta");

    for (String file : List.of(full, delta)) {
      String name = new org.apache.hadoop.fs.Path(file).getName();
      try (var expected = getClass().getResourceAsStream("format-v2/" + name)) {
        assertThat(java.nio.file.Files.readAllBytes(tmp.resolve(name))).as(name).isEqualTo(expected.readAllBytes());
      }
    }
    PartitionState restored = new PartitionState();
    SnapshotFiles.restore(restored, List.of(full, delta), KEYS, Codecs.auto(), conf);
    assertThat(restored.size()).isEqualTo(state.size());
    assertThat(restored.stateAt(restored.slotOf(key("large")))).isEqualTo("x".repeat(100_000));
    assertThat(restored.stateAt(restored.slotOf(key("w3")))).isEqualTo(-3L);
  }

  @Test
  void aTruncatedSnapshotIsDetected() throws Exception {
    PartitionState state = new PartitionState();
    state.put(key("a"), "a", 1L);
    String file = write(state, true, 1000, "1000.full");
    Path local = tmp.resolve("1000.full");
    try (RandomAccessFile f = new RandomAccessFile(local.toFile(), "rw")) {
      f.setLength(f.length() - 3);
    }
    tmp.resolve(".1000.full.crc").toFile().delete();
    assertThatThrownBy(() -> SnapshotFiles.restore(new PartitionState(), List.of(file), KEYS, Codecs.auto(),
        conf)).isInstanceOf(CorruptCheckpointException.class).hasMessageContaining("1000.full");
  }
}
