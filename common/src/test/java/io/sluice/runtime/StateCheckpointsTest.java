package io.sluice.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.api.Duration;
import io.sluice.api.Pair;
import io.sluice.api.Settings;
import io.sluice.graph.GraphBuilder;
import io.sluice.graph.OperatorNode;
import io.sluice.graph.StreamGraph;
import io.sluice.proto.BatchRecord;
import io.sluice.proto.SnapshotWritten;
import io.sluice.proto.StateAccess;
import io.sluice.proto.StateSnapshot;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;

/**
 * The driver's book of snapshots that executors write in the background: a round of snapshots
 * enters the chains only when later tasks have reported every partition's file, and what does not
 * make it is deleted and followed by full snapshots.
 */
class StateCheckpointsTest {
  private static final long EPOCH = 3;
  private static final int PARTITIONS = 2;

  private final StreamGraph graph = GraphBuilder.build(ctx -> ctx.textFileStream("/in")
      .mapToPair(w -> Pair.of(w, 1L))
      .<Long>updateStateByKey((v, s) -> Optional.of(s.orElse(0L) + v.size()), PARTITIONS).uid("state")
      .checkpoint(Duration.ofSeconds(1)).foreachBatch((b, r) -> {}),
      new Settings(Map.of("sluice.checkpoint.dir", "/cp")));
  private final OperatorNode state = graph.node("state");
  private final StateCheckpoints book = new StateCheckpoints(graph, new Path("/cp"), 3, 0);
  private final List<String> deleted = new ArrayList<>();
  private long metadataFiles;

  /** Asks every partition's access for batch {@code batchMs}, as BatchExecution does. */
  private List<StateAccess> run(long batchMs) {
    List<StateAccess> access = new ArrayList<>();
    for (int p = 0; p < PARTITIONS; p++) {
      access.add(book.access(state, p, batchMs, EPOCH, false));
    }
    return access;
  }

  /** What the partition's next task reports for the snapshot {@code a} asked for in batch {@code batchMs}. */
  private static SnapshotWritten written(StateAccess a, int partition, long batchMs) {
    return SnapshotWritten.newBuilder().setNodeId("state").setPartition(partition).setPath(a.getSnapshotPath())
        .setFull(a.getFullSnapshot()).setBatchTimeMs(batchMs)
        .setDeltaBaseBatchMs(a.getFullSnapshot() ? 0 : a.getDeltaBaseBatchMs()).setBytes(10).build();
  }

  private void complete(long batchMs, List<SnapshotWritten> reports) {
    book.completed(BatchRecord.newBuilder().setBatchTimeMs(batchMs).build(), reports, false);
    // One metadata file per batch, two kept: a file retired at n is deleted at n + 2.
    deleted.addAll(book.afterMetadataWritten(++metadataFiles, 2));
  }

  private List<List<String>> chains() {
    return book.snapshots().stream().<List<String>>map(StateSnapshot::getFilesList).toList();
  }

  @Test
  void aRoundEntersTheChainsWhenTheNextBatchReportsEveryPartitionsFile() {
    List<StateAccess> first = run(1000);
    assertThat(first).allMatch(StateAccess::getFullSnapshot);
    complete(1000, List.of());
    assertThat(book.snapshots()).as("nothing is in the chains before the files are reported").isEmpty();

    List<StateAccess> second = run(2000);
    assertThat(second).as("deltas follow the round still on its way")
        .allMatch(a -> !a.getFullSnapshot() && a.getDeltaBaseBatchMs() == 1000);
    complete(2000, List.of(written(first.get(0), 0, 1000), written(first.get(1), 1, 1000)));
    assertThat(book.snapshots()).extracting(StateSnapshot::getBatchTimeMs).containsOnly(1000L);
    assertThat(book.replayLog()).as("what a restart replays onto the snapshot").extracting(BatchRecord::getBatchTimeMs).containsExactly(2000L);

    List<StateAccess> third = run(3000);
    assertThat(third).as("a full snapshot every 3: full, delta, delta").allMatch(a -> !a.getFullSnapshot());
    complete(3000, List.of(written(second.get(0), 0, 2000), written(second.get(1), 1, 2000)));
    assertThat(run(4000)).allMatch(StateAccess::getFullSnapshot);
    complete(4000, List.of(written(third.get(0), 0, 3000), written(third.get(1), 1, 3000)));
    assertThat(chains()).allMatch(files -> files.size() == 3);
    assertThat(deleted).isEmpty();
  }

  @Test
  void aChainReplacedByANewFullSnapshotIsDeletedOnceNoRetainedMetadataFileRefersToIt() {
    List<List<StateAccess>> rounds = new ArrayList<>();
    for (long batchMs = 1000; batchMs <= 5000; batchMs += 1000) {
      completeReportingTheRoundBefore(batchMs, rounds);
    }
    List<String> firstChain = rounds.subList(0, 3).stream().flatMap(List::stream).map(StateAccess::getSnapshotPath)
        .toList();
    assertThat(rounds.get(3)).as("a full snapshot every 3").allMatch(StateAccess::getFullSnapshot);
    assertThat(chains()).as("the full snapshot of 4000 replaced the chain of 1000-3000")
        .containsExactly(List.of(rounds.get(3).get(0).getSnapshotPath()), List.of(rounds.get(3).get(1).getSnapshotPath()));
    assertThat(deleted).as("metadata file 4, still retained, refers to the old chain").isEmpty();

    completeReportingTheRoundBefore(6000, rounds);
    completeReportingTheRoundBefore(7000, rounds);
    assertThat(deleted).containsExactlyInAnyOrderElementsOf(firstChain);
  }

  /** Runs batch {@code batchMs}, whose tasks report the snapshots that the batch before it took. */
  private void completeReportingTheRoundBefore(long batchMs, List<List<StateAccess>> rounds) {
    List<SnapshotWritten> reports = new ArrayList<>();
    if (!rounds.isEmpty()) {
      List<StateAccess> before = rounds.get(rounds.size() - 1);
      for (int p = 0; p < PARTITIONS; p++) {
        reports.add(written(before.get(p), p, batchMs - 1000));
      }
    }
    rounds.add(run(batchMs));
    complete(batchMs, reports);
  }

  @Test
  void aRoundWaitsForFilesWrittenSeveralBatchesLaterUntilTheNextRoundIsAskedAndAFailedWriteDropsItAtOnce() {
    StreamGraph everyFourSeconds = GraphBuilder.build(ctx -> ctx.textFileStream("/in")
        .mapToPair(w -> Pair.of(w, 1L))
        .<Long>updateStateByKey((v, s) -> Optional.of(s.orElse(0L) + v.size()), PARTITIONS).uid("state")
        .checkpoint(Duration.ofSeconds(4)).foreachBatch((b, r) -> {}),
        new Settings(Map.of("sluice.checkpoint.dir", "/cp")));
    OperatorNode node = everyFourSeconds.node("state");
    StateCheckpoints slow = new StateCheckpoints(everyFourSeconds, new Path("/cp"), 3, 0);
    List<List<StateAccess>> rounds = new ArrayList<>();
    for (long batchMs = 1000; batchMs <= 8000; batchMs += 1000) {
      List<StateAccess> access = new ArrayList<>();
      for (int p = 0; p < PARTITIONS; p++) {
        access.add(slow.access(node, p, batchMs, EPOCH, false));
      }
      if (access.get(0).getSnapshotPath().isEmpty()) {
        assertThat(access).allMatch(a -> a.getSnapshotPath().isEmpty());
      } else {
        rounds.add(access);
      }
      List<SnapshotWritten> reports = new ArrayList<>();
      if (batchMs == 6000) {
        // Batch 4000's round: partition 0's file two batches after it, partition 1's three.
        reports.add(written(rounds.get(0).get(0), 0, 4000));
      } else if (batchMs == 7000) {
        assertThat(slow.snapshots()).as("a round waits while a file is still being written").isEmpty();
        assertThat(slow.awaitsReports()).isTrue();
        reports.add(written(rounds.get(0).get(1), 1, 4000));
      }
      slow.completed(BatchRecord.newBuilder().setBatchTimeMs(batchMs).build(), reports, false);
    }
    assertThat(slow.snapshots()).extracting(StateSnapshot::getBatchTimeMs).containsOnly(4000L);
    assertThat(slow.replayLog()).extracting(BatchRecord::getBatchTimeMs).containsExactly(5000L, 6000L, 7000L, 8000L);
    assertThat(rounds).hasSize(2);
    assertThat(rounds.get(1)).as("batch 8000's round is a delta of batch 4000's")
        .allMatch(a -> !a.getFullSnapshot() && a.getDeltaBaseBatchMs() == 4000);

    slow.completed(BatchRecord.newBuilder().setBatchTimeMs(9000).build(),
        List.of(written(rounds.get(1).get(0), 0, 8000).toBuilder().setError("disk full").build()), false);
    assertThat(slow.awaitsReports()).as("partition 0's write failed: the round cannot make it").isFalse();
    SnapshotWritten late = written(rounds.get(1).get(1), 1, 8000);
    slow.completed(BatchRecord.newBuilder().setBatchTimeMs(10000).build(), List.of(late), false);
    assertThat(slow.afterMetadataWritten(1, 0)).as("partition 1's file of the dropped round").containsExactly(late.getPath());
    assertThat(slow.snapshots()).extracting(StateSnapshot::getBatchTimeMs).containsOnly(4000L);
    assertThat(slow.access(node, 0, 12000, EPOCH, false).getFullSnapshot())
        .as("the next round follows the chains, which end at 4000: a delta of it").isFalse();
  }

  @Test
  void aPartitionWhoseDeltasHoldAsManyKeysAsItsFullSnapshotTakesAFullOneNext() {
    StateCheckpoints everyTenth = new StateCheckpoints(graph, new Path("/cp"), 10, 0);
    List<List<StateAccess>> asked = new ArrayList<>();
    // Partition 0 changes every key between snapshots, partition 1 a tenth of them.
    long[] deltaKeys = {100, 10};
    for (long batchMs = 1000; batchMs <= 4000; batchMs += 1000) {
      List<StateAccess> access = new ArrayList<>();
      for (int p = 0; p < PARTITIONS; p++) {
        access.add(everyTenth.access(state, p, batchMs, EPOCH, false));
      }
      List<SnapshotWritten> reports = new ArrayList<>();
      if (!asked.isEmpty()) {
        List<StateAccess> before = asked.get(asked.size() - 1);
        for (int p = 0; p < PARTITIONS; p++) {
          long keys = before.get(p).getFullSnapshot() ? 100 : deltaKeys[p];
          reports.add(written(before.get(p), p, batchMs - 1000).toBuilder().setKeys(keys).build());
        }
      }
      everyTenth.completed(BatchRecord.newBuilder().setBatchTimeMs(batchMs).build(), reports, false);
      asked.add(access);
    }
    assertThat(asked).extracting(a -> a.get(0).getFullSnapshot()).as("partition 0: full, delta, delta, then full")
        .containsExactly(true, false, false, true);
    assertThat(asked).extracting(a -> a.get(1).getFullSnapshot()).as("partition 1: deltas until the tenth")
        .containsExactly(true, false, false, false);
    assertThat(everyTenth.snapshots()).extracting(StateSnapshot::getFullKeys).containsOnly(100L);
    assertThat(everyTenth.snapshots()).extracting(StateSnapshot::getDeltaKeys).containsExactly(200L, 20L);
  }

  @Test
  void aRoundWithAMissingFileIsDroppedWithTheDeltasThatFollowItAndFullSnapshotsComeNext() {
    List<StateAccess> first = run(1000);
    complete(1000, List.of());
    List<StateAccess> second = run(2000);
    complete(2000, List.of(written(first.get(0), 0, 1000)));
    assertThat(book.snapshots()).as("partition 1's file never came").isEmpty();

    List<StateAccess> third = run(3000);
    assertThat(third).as("batch 2000's deltas follow a round that did not make it").allMatch(StateAccess::getFullSnapshot);
    complete(3000, List.of(written(second.get(0), 0, 2000), written(second.get(1), 1, 2000)));
    assertThat(book.snapshots()).isEmpty();
    complete(4000, List.of(written(third.get(0), 0, 3000), written(third.get(1), 1, 3000)));
    assertThat(book.snapshots()).extracting(StateSnapshot::getBatchTimeMs).containsOnly(3000L);

    complete(5000, List.of());
    complete(6000, List.of());
    assertThat(deleted).as("the files of the dropped rounds").containsExactlyInAnyOrder(first.get(0).getSnapshotPath(),
        second.get(0).getSnapshotPath(), second.get(1).getSnapshotPath());
  }

  @Test
  void filesOfARoundGivenUpAfterAFailedBatchOrOfAnEarlierDriverAreDeletedNotUsed() {
    List<StateAccess> failed = run(1000);
    book.resetToSnapshot();
    List<StateAccess> retry = run(1000);
    assertThat(retry).as("the batch's second run asks again, under new names").allMatch(StateAccess::getFullSnapshot);
    assertThat(retry.get(0).getSnapshotPath()).isNotEqualTo(failed.get(0).getSnapshotPath());
    SnapshotWritten stale = written(failed.get(0), 0, 1000);
    complete(1000, List.of(stale));
    SnapshotWritten earlierDriver = written(retry.get(1), 1, 1000).toBuilder()
        .setPath(retry.get(1).getSnapshotPath().replace("-epoch" + EPOCH, "-epoch" + (EPOCH - 1))).build();
    complete(2000, List.of(earlierDriver, written(retry.get(0), 0, 1000), written(retry.get(1), 1, 1000)));
    complete(3000, List.of());
    complete(4000, List.of());
    assertThat(book.snapshots()).extracting(StateSnapshot::getBatchTimeMs).containsOnly(1000L);
    assertThat(chains()).containsExactly(List.of(retry.get(0).getSnapshotPath()), List.of(retry.get(1).getSnapshotPath()));
    assertThat(deleted).containsExactlyInAnyOrder(stale.getPath(), earlierDriver.getPath());
  }

  @Test
  void aReplayLeavesInPlaceThePartitionsOfOperatorsWhoseRecordsFeedNoOtherState() {
    StreamGraph chained = GraphBuilder.build(ctx -> ctx.textFileStream("/in")
        .mapToPair(w -> Pair.of(w, 1L))
        .<Long>updateStateByKey((v, s) -> Optional.of(s.orElse(0L) + v.size()), PARTITIONS).uid("first")
        .<Long>updateStateByKey((v, s) -> Optional.of(s.orElse(0L) + v.size()), PARTITIONS).uid("second")
        .foreachBatch((b, r) -> {}),
        new Settings(Map.of("sluice.checkpoint.dir", "/cp")));
    OperatorNode first = chained.node("first");
    OperatorNode second = chained.node("second");
    StateCheckpoints restarted = new StateCheckpoints(chained, new Path("/cp"), 3, 0);
    restarted.restore(List.of(), List.of(batch(1000), batch(2000)), Set.of());
    assertThat(restarted.access(second, 0, 1000, EPOCH, true).getReplayKeptAtBatchMs())
        .as("the last completed batch").isEqualTo(2000);
    assertThat(restarted.access(first, 0, 1000, EPOCH, true).getReplayKeptAtBatchMs())
        .as("its records feed the second operator's replay").isZero();
    assertThat(restarted.access(second, 0, 3000, EPOCH, false).getReplayKeptAtBatchMs()).as("not a replay").isZero();

    StateCheckpoints upgraded = new StateCheckpoints(chained, new Path("/cp"), 3, 0);
    upgraded.restore(List.of(), List.of(batch(1000), batch(2000)), Set.of("second"));
    assertThat(upgraded.access(second, 0, 1000, EPOCH, true).getReplayKeptAtBatchMs())
        .as("an operator whose state an upgrade resets").isZero();
  }

  private static BatchRecord batch(long batchMs) {
    return BatchRecord.newBuilder().setBatchTimeMs(batchMs).build();
  }
}
