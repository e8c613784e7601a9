package io.sluice.local;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.api.Pair;
import io.sluice.api.StreamingApp;
import io.sluice.checkpoint.MetadataStore;
import io.sluice.proto.MetadataCheckpoint;
import io.sluice.source.WordGenerator;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A zombie driver (an older epoch) writes a metadata file between a newer driver's fence check
 * and its write, taking the sequence number the newer one was about to use. The newer driver's
 * metadata must supersede it, and the next driver's epoch must be above every epoch on disk.
 */
class ZombieMetadataRaceTest {
  private static final long LINES = 20;
  private static final long VOCABULARY = 10;

  @TempDir Path tmp;
  private final Map<Long, Long> totalAfterBatch = new ConcurrentHashMap<>();

  private StreamingApp app() {
    return ctx -> ctx.generatedLines(LINES, VOCABULARY, 2)
        .flatMap(l -> Arrays.asList(l.split(" ")))
        .mapToPair(w -> Pair.of(w, 1L))
        .updateStateByKey((List<Long> v, Optional<Long> s) -> Optional.of(s.orElse(0L) + v.size()))
        .uid("counts")
        .foreachBatch((batch, records) ->
            totalAfterBatch.put(batch.index(), records.stream().mapToLong(Pair::value).sum()));
  }

  private MetadataStore store() throws Exception {
    FileSystem fs = FileSystem.getLocal(new Configuration());
    return new MetadataStore(fs, new org.apache.hadoop.fs.Path(tmp.resolve("cp").toUri()), 10);
  }

  /** Plants what an epoch-1 zombie would write next: the newest checkpoint, as its own, one sequence on. */
  private void zombieWritesNextSequence() throws Exception {
    MetadataStore store = store();
    MetadataCheckpoint newest = store.readNewestValid(w -> { }).orElseThrow().checkpoint();
    store.write(newest.toBuilder().setEpoch(1).setSequence(store.highestSequence() + 1).build());
  }

  @Test
  void theNewerDriversMetadataSupersedesAZombiesAndEpochsNeverRepeat() throws Exception {
    Map<String, String> settings = Map.of("sluice.checkpoint.dir", tmp.resolve("cp").toString());
    try (LocalRunner job = LocalRunner.start(app(), settings)) {
      job.runBatches(2);
    }
    try (LocalRunner job = LocalRunner.start(app(), settings)) {
      job.runBatches(1);
      zombieWritesNextSequence();
      job.runBatches(2);
    }
    assertThat(store().readNewestValid(w -> { }).orElseThrow().checkpoint().getEpoch()).isEqualTo(2);
    zombieWritesNextSequence();
    try (LocalRunner job = LocalRunner.start(app(), settings)) {
      job.runBatches(1);
    }
    MetadataCheckpoint last = store().readNewestValid(w -> { }).orElseThrow().checkpoint();
    assertThat(last.getEpoch()).as("above epoch 2, though the newest file said 1").isEqualTo(3);
    assertThat(last.getBatchesCompleted()).isEqualTo(6);
    for (long b = 0; b < 6; b++) {
      assertThat(totalAfterBatch.get(b)).as("running total after batch " + b)
          .isEqualTo(WordGenerator.WORDS_PER_LINE * LINES * (b + 1));
    }
  }
}
