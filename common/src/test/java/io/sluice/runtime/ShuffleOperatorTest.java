package io.sluice.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.sluice.api.Codecs;
import io.sluice.api.Pair;
import io.sluice.api.Reducers;
import io.sluice.api.Settings;
import io.sluice.codec.RecordCodecs;
import io.sluice.graph.GraphBuilder;
import io.sluice.graph.OperatorNode;
import io.sluice.state.PartitionState;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ShuffleOperatorTest {
  private final OperatorNode reduce = GraphBuilder.build(ctx -> ctx.textFileStream("/in")
      .mapToPair(w -> Pair.of(w, 1L)).withCodecs(Codecs.STRING, Codecs.LONG).reduceByKey(Reducers.longSum())
      .foreachBatch((b, r) -> {}), new Settings(Map.of())).node("reduceByKey-2");
  private final ShuffleStore store = new ShuffleStore(new ShuffleBuffers(1L << 30));

  /** A record the map side wrote: its key and value, and the region of the state table its key falls in. */
  private record Written(String key, long value, int region) {}

  /** Runs map task {@code taskId} of batch {@code batchMs} over {@code input}; returns what it wrote, per partition. */
  private List<List<Written>> runMapTask(String taskId, long batchMs, List<Pair<String, Long>> input) throws Exception {
    OperatorEmitter writer = new ShuffleOperator(reduce).writer(store, batchMs, taskId, 1, () -> {});
    for (Pair<String, Long> record : input) {
      writer.emit(record);
    }
    writer.finish();
    List<List<Written>> partitions = new ArrayList<>();
    for (int p = 0; p < reduce.partitions(); p++) {
      List<Written> written = new ArrayList<>();
      new ShuffleOperator(reduce).forEachRecord(store.read(batchMs, reduce.id(), List.of(taskId), p).chunks(),
          (bytes, offset, length, value) -> written.add(new Written(
              (String) RecordCodecs.decode(Codecs.STRING, Arrays.copyOfRange(bytes, offset, offset + length)),
              (Long) value, PartitionState.keyHash(bytes, offset, length) >>> (Integer.SIZE - 6))));
      partitions.add(written);
    }
    return partitions;
  }

  private static Map<String, Long> sums(List<List<Written>> partitions) {
    Map<String, Long> sums = new HashMap<>();
    partitions.forEach(p -> p.forEach(w -> sums.merge(w.key(), w.value(), Long::sum)));
    return sums;
  }

  private static Map<String, Long> sumsOf(List<Pair<String, Long>> input) {
    Map<String, Long> sums = new HashMap<>();
    input.forEach(r -> sums.merge(r.key(), r.value(), Long::sum));
    return sums;
  }

  private static void assertInRegionOrder(List<Written> records) {
    for (int i = 1; i < records.size(); i++) {
      assertThat(records.get(i).region()).as("region of record %d", i).isGreaterThanOrEqualTo(records.get(i - 1).region());
    }
  }

  /** {@code records} records of keys "w0" to "w(keys - 1)", drawn from {@code random}; every tenth counts 3. */
  private static List<Pair<String, Long>> words(SplittableRandom random, int records, int keys) {
    List<Pair<String, Long>> input = new ArrayList<>();
    for (int i = 0; i < records; i++) {
      input.add(Pair.of("w" + random.nextInt(keys), i % 10 == 0 ? 3L : 1L));
    }
    return input;
  }

  @Test
  void aMapTaskWithManyKeysSumsThemInBucketsByRegionAndItsNextRunStartsThereWithoutTheProbe() throws Exception {
    // 400,000 records over 200,000 keys: the first 100,000 hold too many distinct keys for one
    // table, and the whole about 2.3 records per key.
    List<Pair<String, Long>> input = words(new SplittableRandom(5), 400_000, 200_000);
    Set<String> probed = new HashSet<>();
    Set<String> later = new HashSet<>();
    for (int i = 0; i < input.size(); i++) {
      (i < 100_000 ? probed : later).add(input.get(i).key());
    }

    List<List<Written>> first = runMapTask("m-0", 1000, input);
    assertThat(sums(first)).isEqualTo(sumsOf(input));
    // A record per key of the probe, and one per key after it: a first run in the JVM sums in buckets too.
    assertThat(first.stream().mapToInt(List::size).sum()).isEqualTo(probed.size() + later.size());
    for (List<Written> partition : first) {
      // The keys of the probe's table first, as that table held them; then each later key once, by region.
      int byRegion = (int) partition.stream().map(Written::key).distinct().filter(later::contains).count();
      assertThat(byRegion).isPositive();
      assertInRegionOrder(partition.subList(partition.size() - byRegion, partition.size()));
    }
    assertThat(store.lastRun(reduce.id(), "m-0"))
        .isEqualTo(new ShuffleOperator.MapRun(400_000, ShuffleOperator.Combining.IN_BUCKETS, ShuffleOperator.Combining.IN_BUCKETS));

    List<List<Written>> second = runMapTask("m-0", 2000, input);
    assertThat(sums(second)).isEqualTo(sumsOf(input));
    // Started in buckets: one record per key, every one by region.
    assertThat(second.stream().mapToInt(List::size).sum()).isEqualTo(sumsOf(input).size());
    second.forEach(ShuffleOperatorTest::assertInRegionOrder);
    assertThat(store.lastRun(reduce.id(), "m-0"))
        .isEqualTo(new ShuffleOperator.MapRun(400_000, ShuffleOperator.Combining.IN_BUCKETS, ShuffleOperator.Combining.IN_BUCKETS));
  }

  @Test
  void aProbeAfterARunOfAboutAsManyKeysAsRecordsWritesTheRestAsTheyCome() throws Exception {
    SplittableRandom random = new SplittableRandom(7);
    // A run of 400,000 records over 1,000 keys combines in one table to the end.
    runMapTask("m-1", 1000, words(random, 400_000, 1_000));
    assertThat(store.lastRun(reduce.id(), "m-1").combining()).isEqualTo(ShuffleOperator.Combining.IN_ONE_TABLE);
    // 150,000 records over ten million keys: 400,000 expected over about as many keys, too few
    // records per key for buckets, so each record after the probe is written as it came.
    List<Pair<String, Long>> sparse = words(random, 150_000, 10_000_000);
    Set<String> sparseProbed = new HashSet<>();
    sparse.subList(0, 100_000).forEach(r -> sparseProbed.add(r.key()));
    List<List<Written>> written = runMapTask("m-1", 2000, sparse);
    assertThat(sums(written)).isEqualTo(sumsOf(sparse));
    assertThat(written.stream().mapToInt(List::size).sum()).isEqualTo(sparseProbed.size() + sparse.size() - 100_000);
    assertThat(store.lastRun(reduce.id(), "m-1"))
        .isEqualTo(new ShuffleOperator.MapRun(150_000, ShuffleOperator.Combining.NOT, ShuffleOperator.Combining.NOT));
    // The next run writes every record as it comes from the start.
    List<Pair<String, Long>> next = words(random, 150_000, 10_000_000);
    List<List<Written>> nextWritten = runMapTask("m-1", 3000, next);
    assertThat(sums(nextWritten)).isEqualTo(sumsOf(next));
    assertThat(nextWritten.stream().mapToInt(List::size).sum()).isEqualTo(next.size());
    assertThat(store.lastRun(reduce.id(), "m-1"))
        .isEqualTo(new ShuffleOperator.MapRun(150_000, ShuffleOperator.Combining.NOT, ShuffleOperator.Combining.NOT));
  }

  /**
   * Each run tells the next how to start from the keys it counted, and a task follows its keys
   * from one run to the next without probing again: from writing records as they came to buckets,
   * from buckets to one table.
   */
  @Test
  void aTaskFollowsItsKeysFromRunToRunWithoutProbingAgain() throws Exception {
    SplittableRandom random = new SplittableRandom(11);
    // records, keys: the combining the run ends in, and how it tells the next to start.
    int[][] runs = {{110_000, 10_000_000}, {110_000, 10_000_000}, {300_000, 100_000}, {300_000, 100}, {300_000, 100}};
    ShuffleOperator.Combining[][] expected = {
        // A first run sums in buckets after its probe, but 1.0 records per key are too few for them.
        {ShuffleOperator.Combining.IN_BUCKETS, ShuffleOperator.Combining.NOT},
        {ShuffleOperator.Combining.NOT, ShuffleOperator.Combining.NOT},
        // 3.2 records per key, too many distinct keys in 100,000 for one table.
        {ShuffleOperator.Combining.NOT, ShuffleOperator.Combining.IN_BUCKETS},
        {ShuffleOperator.Combining.IN_BUCKETS, ShuffleOperator.Combining.IN_ONE_TABLE},
        {ShuffleOperator.Combining.IN_ONE_TABLE, ShuffleOperator.Combining.IN_ONE_TABLE}};
    for (int run = 0; run < runs.length; run++) {
      List<Pair<String, Long>> input = words(random, runs[run][0], runs[run][1]);
      List<List<Written>> written = runMapTask("m-2", 1000L * (run + 1), input);
      assertThat(sums(written)).as("sums of run %d", run).isEqualTo(sumsOf(input));
      assertThat(store.lastRun(reduce.id(), "m-2")).as("run %d", run)
          .isEqualTo(new ShuffleOperator.MapRun(runs[run][0], expected[run][0], expected[run][1]));
    }
  }

  @Test
  void oneTablePaysForKeysThatRepeatAsTheProbeRequires() {
    // 100,000 records of a hundred keys, or of a million; 50,000 distinct in 100,000 is the limit.
    assertThat(ShuffleOperator.oneTablePays(2_500_000, 100)).isTrue();
    assertThat(ShuffleOperator.oneTablePays(2_500_000, 918_000)).isFalse();
    assertThat(ShuffleOperator.oneTablePays(100_000, 50_000)).isTrue();
    assertThat(ShuffleOperator.oneTablePays(100_000, 60_000)).isFalse();
  }

  @Test
  void theDistinctKeysExpectedFollowFromTheProbeAsDrawsFromAUniformKeySpace() {
    // A million keys: 100,000 records hold 95,163 distinct, five million 993,262.
    assertThat(ShuffleOperator.expectedDistinctKeys(100_000, 95_163, 5_000_000)).isCloseTo(993_262, within(1_000.0));
    assertThat(ShuffleOperator.expectedDistinctKeys(100_000, 95_163, 1_000_000)).isCloseTo(632_121, within(1_000.0));
    // Ten thousand keys: all of them in 100,000 records (to the nearest unit), and no more later.
    assertThat(ShuffleOperator.expectedDistinctKeys(100_000, 9_999, 5_000_000)).isCloseTo(10_000, within(10.0));
    assertThat(ShuffleOperator.expectedDistinctKeys(100_000, 100_000, 5_000_000)).as("every key distinct").isEqualTo(5_000_000);
  }
}
