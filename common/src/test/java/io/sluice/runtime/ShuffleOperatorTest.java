package io.sluice.runtime;

import static org.assertj.core.api.Assertions.assertThat;

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
  private static final long BATCH_MS = 1000;

  @Test
  void aMapTaskWithManyKeysSumsThemInBucketsAndWritesThemByRegionOfTheStateTable() throws Exception {
    OperatorNode reduce = GraphBuilder.build(ctx -> ctx.textFileStream("/in").mapToPair(w -> Pair.of(w, 1L))
        .withCodecs(Codecs.STRING, Codecs.LONG).reduceByKey(Reducers.longSum()).foreachBatch((b, r) -> {}),
        new Settings(Map.of())).node("reduceByKey-2");
    ShuffleStore store = new ShuffleStore(new ShuffleBuffers(1L << 30));
    OperatorEmitter writer = new ShuffleOperator(reduce).writer(store, BATCH_MS, "m-0", 1, () -> {});

    // 400,000 records over 200,000 keys: the first 100,000 hold too many distinct keys for one table.
    Map<String, Long> expected = new HashMap<>();
    Set<String> probed = new HashSet<>();
    Set<String> later = new HashSet<>();
    SplittableRandom random = new SplittableRandom(5);
    for (int i = 0; i < 400_000; i++) {
      String word = "w" + random.nextInt(200_000);
      long count = i % 10 == 0 ? 3 : 1;
      writer.emit(Pair.of(word, count));
      expected.merge(word, count, Long::sum);
      (i < 100_000 ? probed : later).add(word);
    }
    writer.finish();

    Map<String, Long> sums = new HashMap<>();
    int records = 0;
    for (int p = 0; p < reduce.partitions(); p++) {
      List<String> keys = new ArrayList<>();
      List<Integer> regions = new ArrayList<>();
      new ShuffleOperator(reduce).forEachRecord(store.read(BATCH_MS, reduce.id(), List.of("m-0"), p).chunks(),
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
        assertThat(regions.get(i)).as("region of record %d of partition %d", i, p).isGreaterThanOrEqualTo(regions.get(i - 1));
      }
    }
    assertThat(sums).isEqualTo(expected);
    assertThat(records).as("a record per key of the probe, and one per key after it").isEqualTo(probed.size() + later.size());
  }
}
