package io.sluice.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import io.sluice.api.Codec;
import io.sluice.api.Codecs;
import io.sluice.codec.RecordCodecs;
import io.sluice.proto.SnapshotWritten;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The background writer leaves nothing behind once closed (every write finished, every dropped file
 * gone), gives way to running tasks without ever waiting for a task that waits for it, and hands a
 * written snapshot's report over once.
 */
class BackgroundSnapshotsTest {
  @TempDir Path tmp;
  private final Configuration conf = new Configuration();

  @SuppressWarnings("unchecked")
  private static final Codec<Object> KEYS = (Codec<Object>) (Codec<?>) Codecs.STRING;

  private SnapshotFiles.Taken snapshotOf(int keys) {
    PartitionState state = new PartitionState();
    for (int k = 0; k < keys; k++) {
      String key = "k" + k;
      state.put(ByteBuffer.wrap(RecordCodecs.encode(KEYS, key, "op")), key, (long) k);
    }
    state.setVersionMs(1000);
    return SnapshotFiles.take(state, true, Codecs.auto(), "op");
  }

  private BackgroundSnapshots.Request request(String name) {
    return new BackgroundSnapshots.Request("op", 0, tmp.resolve(name).toUri().toString(), 1000, true, -1);
  }

  @Test
  void aWriteWaitsForItsBatchToBeDoneAndWhileATaskRunsAndGoesOnWhenItEnds() throws Exception {
    BackgroundSnapshots snapshots = new BackgroundSnapshots(Duration.ofMinutes(1));
    snapshots.write(request("0.full"), snapshotOf(1000), conf);
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).until(() -> !Files.exists(tmp.resolve("0.full")));
    BackgroundSnapshots.TaskRunning task = snapshots.taskRunning();
    snapshots.batchDone(1000);

    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).until(() -> !Files.exists(tmp.resolve("0.full")));
    task.close();
    await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(tmp.resolve("0.full")));
    snapshots.close();
  }

  @Test
  void theNextTaskCopiesASnapshotTheWriterHasNotCopiedYetBeforeChangingThePartition() throws Exception {
    BackgroundSnapshots snapshots = new BackgroundSnapshots(Duration.ofMinutes(1));
    PartitionState state = new PartitionState();
    ByteBuffer a = ByteBuffer.wrap(RecordCodecs.encode(KEYS, "a", "op"));
    state.put(a, "a", 1L);
    state.setVersionMs(1000);
    try (BackgroundSnapshots.TaskRunning task = snapshots.taskRunning()) {
      snapshots.write(request("0.delta"), SnapshotFiles.take(state, false, Codecs.auto(), "op"), conf);
    }
    // The batch is not done: the writer has copied nothing when the partition's next task begins.
    try (BackgroundSnapshots.TaskRunning task = snapshots.taskRunning()) {
      snapshots.copyBeforeChange("op", 0);
      state.put(a, "a", 2L);
      state.put(ByteBuffer.wrap(RecordCodecs.encode(KEYS, "b", "op")), "b", 1L);
      state.setVersionMs(2000);
      snapshots.batchDone(2000);
    }
    assertThat(assertTimeoutPreemptively(Duration.ofSeconds(30), snapshots::awaitAllUnreported)).singleElement()
        .satisfies(r -> assertThat(r.getKeys()).isEqualTo(1));
    PartitionState restored = new PartitionState();
    assertThat(SnapshotFiles.restore(restored, List.of(tmp.resolve("0.delta").toUri().toString()), KEYS,
        Codecs.auto(), conf)).isEqualTo(1000);
    assertThat(restored.size()).isEqualTo(1);
    assertThat(restored.stateAt(restored.slotOf(a))).isEqualTo(1L);
    snapshots.close();
  }

  @Test
  void aTaskWaitingForTheWriteDoesNotHoldItBack() throws Exception {
    BackgroundSnapshots snapshots = new BackgroundSnapshots(Duration.ofMinutes(1));
    snapshots.batchDone(1000);
    try (BackgroundSnapshots.TaskRunning task = snapshots.taskRunning()) {
      snapshots.write(request("0.full"), snapshotOf(1000), conf);
      assertTimeoutPreemptively(Duration.ofSeconds(30), () -> snapshots.awaitWritten("op", 0));
      assertThat(snapshots.writtenUnreported("op", 0)).hasValueSatisfying(o -> assertThat(o.written()).isPresent());
    }
    snapshots.close();
  }

  @Test
  void aTaskTakingNoSnapshotGetsTheReportOnlyOnceWrittenAndNeverWaits() throws Exception {
    BackgroundSnapshots snapshots = new BackgroundSnapshots(Duration.ofMinutes(1));
    snapshots.batchDone(1000);
    try (BackgroundSnapshots.TaskRunning task = snapshots.taskRunning()) {
      snapshots.write(request("0.full"), snapshotOf(1000), conf);
      assertThat(snapshots.writtenUnreported("op", 0)).as("held back while the task runs").isEmpty();
    }
    AtomicReference<BackgroundSnapshots.Outcome> reported = new AtomicReference<>();
    await().atMost(Duration.ofSeconds(30))
        .until(() -> snapshots.writtenUnreported("op", 0).map(o -> reported.getAndSet(o) == null).orElse(false));
    assertThat(reported.get().written()).hasValueSatisfying(w -> assertThat(w.keys()).isEqualTo(1000));
    assertThat(snapshots.writtenUnreported("op", 0)).as("handed over once").isEmpty();
    assertThat(snapshots.awaitAllUnreported()).isEmpty();
    snapshots.close();
  }

  @Test
  void aWriteHeldBackTooLongGoesOnBesideTheTasks() throws Exception {
    BackgroundSnapshots snapshots = new BackgroundSnapshots(Duration.ofMillis(100));
    try (BackgroundSnapshots.TaskRunning task = snapshots.taskRunning()) {
      snapshots.write(request("0.full"), snapshotOf(1000), conf);
      List<SnapshotWritten> reports = assertTimeoutPreemptively(Duration.ofSeconds(30), snapshots::awaitAllUnreported);
      assertThat(reports).singleElement().satisfies(r -> assertThat(r.getKeys()).isEqualTo(1000));
    }
    snapshots.close();
  }

  @Test
  void closeWaitsForTheWritesAndDeletionsAlreadyStarted() throws Exception {
    BackgroundSnapshots snapshots = new BackgroundSnapshots();
    snapshots.batchDone(1000);
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
