package io.sluice.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.api.Duration;
import io.sluice.api.Functions.ReduceFunction;
import io.sluice.api.Pair;
import io.sluice.api.PairDStream;
import io.sluice.api.Reducers;
import io.sluice.api.SluiceException;
import io.sluice.api.StreamingApp;
import io.sluice.graph.GraphBuilder;
import io.sluice.proto.StateOperatorStatus;
import io.sluice.proto.StateSnapshot;
import io.sluice.runtime.StateStatusText;
import io.sluice.source.WordGenerator;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StatefulStreamTest {
  private static final long LINES = 400;
  private static final long VOCABULARY = 60;
  /** Keys whose running count passes this are removed from the state. */
  private static final long LIMIT = 300;

  @TempDir Path tmp;
  private final Map<Long, Map<String, Long>> stateAfterBatch = new ConcurrentHashMap<>();
  /** Runs before each call of the update function. */
  private volatile Runnable onUpdateCall = () -> {};
  /** Runs before each line is split. */
  private volatile Consumer<String> onLine = line -> {};
  /** Runs before each batch's state is recorded in {@link #stateAfterBatch}, with the batch's index. */
  private volatile LongConsumer onOutput = batch -> {};
  /** Update calls, and how many had come when {@link #failOnce} threw (-1 before it did). */
  private final AtomicInteger updateCalls = new AtomicInteger();
  private final AtomicInteger updateCallsAtFailure = new AtomicInteger(-1);

  /** Running word counts over the generator; a key is dropped once its count passes LIMIT. */
  private StreamingApp app(Duration checkpointInterval) {
    return app(checkpointInterval, 2);
  }

  /**
   * With {@code statePartitions} equal to reduceByKey's 2 the state is updated inside the reduce
   * tasks; with another count it gets a shuffle of its own.
   */
  private StreamingApp app(Duration checkpointInterval, int statePartitions) {
    return ctx -> {
      PairDStream<String, Long> counts = ctx.generatedLines(LINES, VOCABULARY, 2)
          .flatMap(l -> {
            onLine.accept(l);
            return Arrays.asList(l.split(" "));
          })
          .mapToPair(w -> Pair.of(w, 1L))
          .reduceByKey(Long::sum)
          .updateStateByKey((List<Long> values, Optional<Long> state) -> {
            onUpdateCall.run();
            long next = state.orElse(0L) + values.stream().mapToLong(Long::longValue).sum();
            return next > LIMIT ? Optional.empty() : Optional.of(next);
          }, statePartitions)
          .uid("running-counts");
      if (checkpointInterval != null) {
        counts.checkpoint(checkpointInterval);
      }
      counts.foreachBatch((batch, records) -> {
        onOutput.accept(batch.index());
        Map<String, Long> m = new TreeMap<>();
        records.forEach(p -> m.put(p.key(), p.value()));
        stateAfterBatch.put(batch.index(), m);
      });
    };
  }

  /** The same computation, written plainly. */
  private static Map<String, Long> reference(long lastBatch) {
    return reference(lastBatch, LINES, VOCABULARY, LIMIT);
  }

  private static Map<String, Long> reference(long lastBatch, long lines, long vocabulary, long limit) {
    Map<String, Long> state = new TreeMap<>();
    for (long b = 0; b <= lastBatch; b++) {
      Map<String, Long> batch = new TreeMap<>();
      for (long j = 0; j < lines; j++) {
        for (String w : WordGenerator.line(b, j, vocabulary).split(" ")) {
          batch.merge(w, 1L, Long::sum);
        }
      }
      batch.forEach((w, n) -> {
        long next = state.getOrDefault(w, 0L) + n;
        if (next > limit) {
          state.remove(w);
        } else {
          state.put(w, next);
        }
      });
    }
    return state;
  }

  private Map<String, String> settings() {
    return Map.of("sluice.checkpoint.dir", tmp.resolve("cp").toString(), "sluice.state.fullSnapshotEvery", "2");
  }

  @Test
  void updateStateByKeyAgreesWithAPlainComputationBatchAfterBatch() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(null), settings())) {
      job.runBatches(12);
    }
    for (long b = 0; b < 12; b++) {
      assertThat(stateAfterBatch.get(b)).as("state after batch " + b).isEqualTo(reference(b));
    }
    long held = reference(11).values().stream().mapToLong(Long::longValue).sum();
    assertThat(held).as("keys were removed along the way").isLessThan(WordGenerator.WORDS_PER_LINE * LINES * 12);
  }

  /**
   * Batches of far more new keys than a state partition has room for, whose records come from the
   * map tasks in the order of the state's table (summed in buckets, {@code Reducers.longSum()}) or
   * in no order (a reducer the engine does not know), so that keys are added to the table both as
   * they come and after it grew for them; a key whose first count passes the limit is never kept.
   */
  @Test
  void batchesOfManyNewKeysAgreeWithAPlainComputationWhateverTheOrderOfTheirRecords() throws Exception {
    long lines = 30_000;
    long vocabulary = 200_000;
    long limit = 2;
    for (ReduceFunction<Long> reducer : List.<ReduceFunction<Long>>of(Reducers.longSum(), (a, b) -> a + b)) {
      stateAfterBatch.clear();
      StreamingApp app = ctx -> ctx.generatedLines(lines, vocabulary, 2)
          .flatMap(line -> Arrays.asList(line.split(" ")))
          .mapToPair(w -> Pair.of(w, 1L))
          .reduceByKey(reducer)
          .updateStateByKey((List<Long> values, Optional<Long> state) -> {
            long next = state.orElse(0L) + values.stream().mapToLong(Long::longValue).sum();
            return next > limit ? Optional.<Long>empty() : Optional.of(next);
          })
          .uid("counts")
          .foreachBatch((batch, records) -> {
            Map<String, Long> m = new TreeMap<>();
            records.forEach(p -> m.put(p.key(), p.value()));
            stateAfterBatch.put(batch.index(), m);
          });
      Path dir = Files.createTempDirectory(tmp, "cp");
      try (LocalRunner job = LocalRunner.start(app, Map.of("sluice.checkpoint.dir", dir.toString()))) {
        job.runBatches(3);
      }
      for (long b = 0; b < 3; b++) {
        assertThat(stateAfterBatch.get(b)).as("state after batch " + b).isEqualTo(reference(b, lines, vocabulary, limit));
      }
    }
  }

  @Test
  void anUpdateThatFailsHalfwayIsUndoneSoThatTheBatchRunsAgainOnTheSameState() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    // Halfway through the third batch's update of one partition (60 keys, 2 partitions). With a
    // snapshot after every batch, the retry finds the partition at the version it starts from.
    onUpdateCall = () -> {
      if (calls.incrementAndGet() == 150) {
        throw new IllegalStateException("injected failure");
      }
    };
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(1)), settings())) {
      job.runBatches(5);
    }
    assertThat(calls.get()).as("the failure happened").isGreaterThan(150);
    for (long b = 0; b < 5; b++) {
      assertThat(stateAfterBatch.get(b)).as("state after batch " + b).isEqualTo(reference(b));
    }
  }

  @Test
  void aBatchThatFailsBeforeItsStateTasksRunsAgainOnThePartitionsTheExecutorKept() throws Exception {
    // Batch 7 fails in its map stage, once.
    String failingLine = WordGenerator.line(7, 0, VOCABULARY);
    onLine = line -> {
      if (line.equals(failingLine)) {
        failOnce();
      }
    };
    assertBatch7RunsAgainOnThePartitionsTheExecutorKept();
  }

  @Test
  void aBatchThatFailsAfterItsStateTasksIsUndoneInPlaceAndRunsAgain() throws Exception {
    // Batch 7 updates both partitions, then its output fails, once: the retry's replay of batch 6
    // finds each partition one uncompleted batch ahead and undoes it.
    onOutput = batch -> {
      if (batch == 7) {
        failOnce();
      }
    };
    assertBatch7RunsAgainOnThePartitionsTheExecutorKept();
  }

  /** Throws the injected failure the first time only, noting how many update calls came before it. */
  private void failOnce() {
    if (updateCallsAtFailure.compareAndSet(-1, updateCalls.get())) {
      throw new IllegalStateException("injected failure");
    }
  }

  /**
   * Runs 9 batches with snapshots after batches 2 and 5, where batch 7 fails once: its retry would
   * replay batch 6 onto the snapshot of batch 5 if the executor did not keep its partitions, and
   * call the update function for batch 6's keys again.
   */
  private void assertBatch7RunsAgainOnThePartitionsTheExecutorKept() throws Exception {
    onUpdateCall = updateCalls::incrementAndGet;
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(3)), settings())) {
      job.runBatches(9);
      assertThat(job.batchesReplayed()).as("batch 6 replayed").isEqualTo(1);
    }
    assertThat(updateCallsAtFailure.get()).as("the failure happened").isPositive();
    assertThat(updateCalls.get() - updateCallsAtFailure.get()).as("update calls after the failure: batches 7 and 8 only")
        .isEqualTo(distinctWords(7) + distinctWords(8));
    for (long b = 0; b < 9; b++) {
      assertThat(stateAfterBatch.get(b)).as("state after batch " + b).isEqualTo(reference(b));
    }
  }

  @Test
  void stateWithItsOwnShuffleAgreesWithAPlainComputationAcrossARestart() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(2), 3), settings())) {
      job.runBatches(5);
    }
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(2), 3), settings())) {
      job.runBatches(3);
    }
    for (long b = 0; b < 8; b++) {
      assertThat(stateAfterBatch.get(b)).as("state after batch " + b).isEqualTo(reference(b));
    }
  }

  @Test
  void theStatusGivesEachStatefulOperatorsKeysTheBatchsChangesAndTheSnapshotARestartRestores() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(3)), settings())) {
      job.runBatches(1);
      assertThat(job.stateStatus()).singleElement().satisfies(s -> {
        assertThat(s.getNodeId()).isEqualTo("running-counts");
        assertThat(s.getPartitions()).isEqualTo(2);
        assertThat(s.getKeys()).isEqualTo(reference(0).size());
        assertThat(s.getChangedKeys()).isEqualTo(distinctWords(0));
        assertThat(s.getSnapshotBatchMs()).isZero();
        assertThat(StateStatusText.describe(s)).isEqualTo(reference(0).size() + " keys in 2 partitions, "
            + distinctWords(0) + " changed by the last batch; no snapshot recorded yet (a restart replays every batch)");
      });
      job.runBatches(6);
      StateOperatorStatus s = job.stateStatus().get(0);
      assertThat(s.getKeys()).isEqualTo(reference(6).size());
      assertThat(s.getChangedKeys()).isEqualTo(distinctWords(6));
      List<StateSnapshot> recorded = JobFiles.newestCheckpoint(tmp.resolve("cp")).getStateSnapshotsList();
      assertThat(s.getSnapshotBatchMs()).isPositive()
          .isEqualTo(recorded.stream().mapToLong(StateSnapshot::getBatchTimeMs).min().orElseThrow());
      assertThat(s.getSnapshotFiles()).isEqualTo(recorded.stream().mapToInt(StateSnapshot::getFilesCount).sum())
          .isGreaterThanOrEqualTo(2);
      assertThat(s.getSnapshotKeys()).isPositive();
    }
  }

  /** The words batch {@code b} holds, each once: the keys its update changes. */
  private static long distinctWords(long b) {
    Set<String> words = new HashSet<>();
    for (long j = 0; j < LINES; j++) {
      words.addAll(Arrays.asList(WordGenerator.line(b, j, VOCABULARY).split(" ")));
    }
    return words.size();
  }

  @Test
  void restartRestoresStateFromSnapshotsAndReplaysTheBatchesAfterThem() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(3)), settings())) {
      job.runBatches(7);
    }
    try (Stream<Path> files = Files.walk(tmp.resolve("cp/state"))) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .anyMatch(n -> n.endsWith(".full")).anyMatch(n -> n.endsWith(".delta"));
    }
    stateAfterBatch.clear();
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(3)), settings())) {
      assertThat(job.epoch()).isEqualTo(2);
      job.runBatches(4);
    }
    assertThat(stateAfterBatch.keySet()).containsExactlyInAnyOrder(7L, 8L, 9L, 10L);
    for (long b = 7; b <= 10; b++) {
      assertThat(stateAfterBatch.get(b)).as("state after batch " + b).isEqualTo(reference(b));
    }
  }

  @Test
  void aStoppedJobRecordsTheSnapshotsOfItsLastBatchSoThatTheNextStartReplaysNothing() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(3)), settings())) {
      // Snapshots after batches 2 and 5: those of 5 are written after it, and no later batch reports them.
      job.runBatches(6);
      job.stop(false);
    }
    assertNextStartReplaysNothingAndGoesOnFromBatch(6);
  }

  @Test
  void aGracefulStopEndsWithABatchThatSnapshotsTheStateSoThatTheNextStartReplaysNothing() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(3)), settings())) {
      // Snapshots are due after batches 2 and 5: batch 3 took none, so the stop runs batch 4, with one.
      job.runBatches(4);
      job.stop(true);
      assertThat(job.batchesCompleted()).isEqualTo(5);
    }
    assertNextStartReplaysNothingAndGoesOnFromBatch(5);
  }

  @Test
  void aGracefulStopAfterASnapshotBatchRunsNoMoreBatches() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(3)), settings())) {
      job.runBatches(3);
      job.stop(true);
      assertThat(job.batchesCompleted()).isEqualTo(3);
    }
    assertNextStartReplaysNothingAndGoesOnFromBatch(3);
  }

  /** Starts the job again on its checkpoint: two batches, from {@code first} on, exact, and none replayed. */
  private void assertNextStartReplaysNothingAndGoesOnFromBatch(long first) throws Exception {
    stateAfterBatch.clear();
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(3)), settings())) {
      job.runBatches(2);
      assertThat(job.batchesReplayed()).as("batches replayed onto the snapshots").isZero();
    }
    assertThat(stateAfterBatch.keySet()).containsExactlyInAnyOrder(first, first + 1);
    for (long b = first; b <= first + 1; b++) {
      assertThat(stateAfterBatch.get(b)).as("state after batch " + b).isEqualTo(reference(b));
    }
  }

  @Test
  void snapshotsThatCannotBeWrittenCostOnlyAReplayAndLaterOnesTakeOver() throws Exception {
    // A file where partition 0's snapshot directory should be: its snapshots cannot be written.
    Path blocked = tmp.resolve("cp/state/running-counts/0");
    Files.createDirectories(blocked.getParent());
    Files.writeString(blocked, "in the way");
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(1)), settings())) {
      job.runBatches(5);
    }
    Files.delete(blocked);
    stateAfterBatch.clear();
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(1)), settings())) {
      job.runBatches(4);
    }
    assertThat(stateAfterBatch.keySet()).containsExactlyInAnyOrder(5L, 6L, 7L, 8L);
    for (long b = 5; b <= 8; b++) {
      assertThat(stateAfterBatch.get(b)).as("state after batch " + b + ", replayed from the start").isEqualTo(reference(b));
    }
    try (Stream<Path> files = Files.list(blocked)) {
      assertThat(files.map(p -> p.getFileName().toString())).as("partition 0's snapshots are written again")
          .anyMatch(n -> n.endsWith(".full"));
    }
  }

  @Test
  void aResumedDriverDeletesTheSnapshotFilesThatItsPredecessorBeganAndNoMetadataFileRefersTo() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(1)), settings())) {
      job.runBatches(3);
    }
    // The snapshots of the last batch are written after it, and no batch reports them.
    Path partition0 = tmp.resolve("cp/state/running-counts/0");
    Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> names(partition0).stream()
        .anyMatch(n -> n.startsWith("3000-epoch1")));
    List<String> before = names(partition0);
    stateAfterBatch.clear();
    // Snapshots every 3 s from now on: batch 4000 takes none, so no file is being written during the cleanup.
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(3)), settings())) {
      job.runBatches(1);
    }
    assertThat(names(partition0)).as("the unreported files are gone, the recorded ones stay until retired")
        .noneMatch(n -> n.startsWith("3000-epoch1")).containsAll(before.stream().filter(n -> !n.startsWith("3000-")).toList());
    assertThat(stateAfterBatch.get(3L)).isEqualTo(reference(3));
  }

  private static List<String> names(Path dir) throws java.io.IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).toList();
    }
  }

  @Test
  void snapshotFilesThatNoRetainedMetadataFileRefersToAreDeletedAndTheRestStillRestore() throws Exception {
    Map<String, String> keepTwoMetadataFiles = new TreeMap<>(settings());
    keepTwoMetadataFiles.put("sluice.checkpoint.retained", "2");
    // A snapshot every batch, every other one full: full 1000, delta 2000, full 3000, and so on.
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(1)), keepTwoMetadataFiles)) {
      job.runBatches(8);
    }
    List<String> partition0 = names(tmp.resolve("cp/state/running-counts/0"));
    assertThat(partition0).as("the chains that later full snapshots replaced are gone")
        .noneMatch(n -> n.startsWith("1000-") || n.startsWith("2000-") || n.startsWith("3000-"))
        .anyMatch(n -> n.startsWith("7000-") && n.endsWith(".full"));
    stateAfterBatch.clear();
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(1)), keepTwoMetadataFiles)) {
      job.runBatches(1);
    }
    assertThat(stateAfterBatch.get(8L)).isEqualTo(reference(8));
  }

  @Test
  void corruptSnapshotFileIsDetectedOnRestore() throws Exception {
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(3)), settings())) {
      job.runBatches(4);
    }
    Path snapshot;
    try (Stream<Path> files = Files.walk(tmp.resolve("cp/state"))) {
      snapshot = files.filter(p -> p.getFileName().toString().endsWith(".full")).findFirst().orElseThrow();
    }
    try (RandomAccessFile f = new RandomAccessFile(snapshot.toFile(), "rw")) {
      f.seek(30);
      int b = f.read();
      f.seek(30);
      f.write(b ^ 0x5A);
    }
    try (LocalRunner job = LocalRunner.start(app(Duration.ofSeconds(3)), settings())) {
      assertThatThrownBy(() -> job.runBatches(1)).hasMessageContaining("is corrupt (checksum mismatch)")
          .hasMessageContaining(snapshot.getFileName().toString());
    }
  }

  @Test
  void statefulOperatorWithoutCheckpointDirectoryFailsAtStart() {
    assertThatThrownBy(() -> LocalRunner.start(app(null), Map.of())).isInstanceOf(SluiceException.class)
        .hasMessage("operator running-counts keeps state, which needs a checkpoint directory: call ctx.checkpoint(dir) "
            + "or submit with --checkpoint DIR");
  }

  @Test
  void checkpointIntervalMustBeAMultipleOfTheBatchInterval() {
    assertThatThrownBy(() -> GraphBuilder.build(app(Duration.ofMillis(2500)), new io.sluice.api.Settings(settings())))
        .hasMessage("checkpoint interval 2500ms of running-counts is not a multiple of its slide interval 1s");
  }

  @Test
  void defaultCheckpointIntervalIsTheSmallestMultipleOfTheBatchIntervalOfAtLeastTenSeconds() {
    var graph = GraphBuilder.build(app(null), new io.sluice.api.Settings(Map.of(
        "sluice.checkpoint.dir", "/cp", "sluice.batch.interval", "3s")));
    assertThat(graph.node("running-counts").checkpointInterval()).isEqualTo(Duration.ofSeconds(12));
  }
}
