package io.sluice.state;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.api.Codec;
import io.sluice.api.Codecs;
import io.sluice.codec.RecordCodecs;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The background writer leaves nothing behind once closed: every write finished, every dropped file gone. */
class BackgroundSnapshotsTest {
  @TempDir Path tmp;
  private final Configuration conf = new Configuration();

  @SuppressWarnings("unchecked")
  private static final Codec<Object> KEYS = (Codec<Object>) (Codec<?>) Codecs.STRING;

  @Test
  void closeWaitsForTheWritesAndDeletionsAlreadyStarted() throws Exception {
    BackgroundSnapshots snapshots = new BackgroundSnapshots();
    int partitions = 6;
    for (int p = 0; p < partitions; p++) {
      PartitionState state = new PartitionState();
      for (int k = 0; k < 20_000; k++) {
        String key = p + "-" + k;
        state.put(ByteBuffer.wrap(RecordCodecs.encode(KEYS, key, "op")), key, (long) k);
      }
      state.setVersionMs(1000);
      String path = tmp.resolve("p" + p + ".full").toUri().toString();
      snapshots.write(new BackgroundSnapshots.Request("op", p, path, 1000, true, -1),
          SnapshotFiles.take(state, true, Codecs.auto(), "op"), conf);
    }
    snapshots.drop("op", 0, conf);

    snapshots.close();

    assertThat(tmp.resolve("p0.full")).doesNotExist();
    for (int p = 1; p < partitions; p++) {
      PartitionState restored = new PartitionState();
      SnapshotFiles.restore(restored, List.of(tmp.resolve("p" + p + ".full").toUri().toString()), KEYS,
          Codecs.auto(), conf);
      assertThat(restored.size()).isEqualTo(20_000);
    }
    try (var files = Files.list(tmp)) {
      assertThat(files.map(f -> f.getFileName().toString()).filter(n -> !n.startsWith(".")))
          .containsExactlyInAnyOrder("p1.full", "p2.full", "p3.full", "p4.full", "p5.full");
    }
  }
}
