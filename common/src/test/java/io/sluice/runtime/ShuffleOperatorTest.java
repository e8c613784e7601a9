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
  @Test
  void aMapTaskWithManyKeysSumsThemInBucketsUnlessItsLastRunHadTooFewRecordsPerKeyAndWritesThemByRegion()
      throws Exception {
    OperatorNode reduce = GraphBuilder.build(ctx -> ctx.textFileStream("/in").mapToPair(w -> Pair.of(w, 1L))
        .withCodecs(Codecs.STRING, Codecs.LONG).reduceByKey(Reducers.longSum()).foreachBatch((b, r) -> {}),
        new Settings(Map.of())).node("reduceByKey-2");
    ShuffleStore store = new ShuffleStore(new ShuffleBuffers(1L << 30));
    // 400,000 records over 200,000 keys: the first 100,000 hold too many distinct keys for one
    // table, and the whole about 2.3 records per key.
    List<Pair<String, Long>> input = new ArrayList<>();
    Map<String, Long> expected = new HashMap<>();
    Set<String> probed = new HashSet<>();
    Set<String> later = new HashSet<>();
    SplittableRandom random = new SplittableRandom(5);
    for (int i = 0; i < 400_000; i++) {
      String word = "w" + random.nextInt(200_000);
      long count = i % 10 == 0 ? 3 : 1;
      input.add(Pair.of(word, count));
      expected.merge(word, count, Long::sum);
      (i < 100_000 ? probed : later).add(word);
    }

    for (long batchMs : new long[] {1000, 2000}) {
      OperatorEmitter writer = new ShuffleOperator(reduce).writer(store, batchMs, "m-0", 1, () -> {});
      for (Pair<String, Long> record : input) {
        writer.emit(record);
      }
      writer.finish();
      Map<String, Long> sums = new HashMap<>();
      int records = 0;
      for (int p = 0; p < reduce.partitions(); p++) {
        List<String> keys = new ArrayList<>();
        List<Integer> regions = new ArrayList<>();
        new ShuffleOperator(reduce).forEachRecord(store.read(batchMs, reduce.id(), List.of("m-0"), p).chunks(),
            (bytes, offset, length, value) -> {
              String key = (String) RecordCodecs.decode(Codecs.STRING, Arrays.copyOfRange(bytes, offset, offset + length));
              sums.merge(key, (Long) value, Long::sum);
              keys.add(key);
              regions.add(PartitionState.keyHash(bytes, offset, length) >>> (Integer.SIZE - 6));
            });
        records += keys.size();
        // The keys of the probe's table first, as that table held them; then each later key once, by region.
        int byRegion = (int) keys.stream().distinct().filter(later::contains).count();
        assertThat(byRegion).isPositive();
        for (int i = keys.size() - byRegion + 1; i < keys.size(); i++) {
          assertThat(regions.get(i)).as("region of record %d of partition %d", i, p)
              .isGreaterThanOrEqualTo(regions.get(i - 1));
        }
      }
      assertThat(sums).as("sums of batch %d", batchMs).isEqualTo(expected);
      // A record per key of the probe, and one per key after it: a first run in the JVM sums in buckets too.
      assertThat(records).as("records of batch %d", batchMs).isEqualTo(probed.size() + later.size());
    }

    // 150,000 records over ten million keys, after a run of 400,000 records: 400,000 expected over
    // about as many keys, too few records per key for buckets, so each record after the probe is
    // written as it came.
    Set<String> sparseProbed = new HashSet<>();
    int sparseRecords = 150_000;
    OperatorEmitter writer = new ShuffleOperator(reduce).writer(store, 3000, "m-0", 1, () -> {});
    for (int i = 0; i < sparseRecords; i++) {
      String word = "w" + random.nextInt(10_000_000);
      writer.emit(Pair.of(word, 1L));
      if (i < 100_000) {
        sparseProbed.add(word);
      }
    }
    writer.finish();
    int records = 0;
    for (int p = 0; p < reduce.partitions(); p++) {
      int[] count = new int[1];
      new ShuffleOperator(reduce).forEachRecord(store.read(3000, reduce.id(), List.of("m-0"), p).chunks(),
          (bytes, offset, length, value) -> count[0]++);
      records += count[0];
    }
    assertThat(records).isEqualTo(sparseProbed.size() + sparseRecords - 100_000);
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
