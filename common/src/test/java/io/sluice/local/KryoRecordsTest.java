package io.sluice.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.api.Codecs;
import io.sluice.api.Duration;
import io.sluice.api.Pair;
import io.sluice.api.SluiceException;
import io.sluice.api.StreamingApp;
import io.sluice.source.WordGenerator;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Types that no built-in codec knows go through Kryo: as shuffle keys, as values and as state in
 * snapshots; a type Kryo cannot take is refused at start (when declared) or fails its batch
 * naming the operator.
 */
class KryoRecordsTest {
  private static final long LINES = 50;
  private static final long VOCABULARY = 20;

  @TempDir Path tmp;
  private final Map<Long, Map<String, Long>> totals = new ConcurrentHashMap<>();

  /** A key type of the application: the word's first letter and length. */
  record Shape(char first, int length) {}

  /** A state type without a no-argument constructor. */
  static final class Tally {
    private final long words;
    private final long letters;

    Tally(long words, long letters) {
      this.words = words;
      this.letters = letters;
    }
  }

  /** Holds a resource, not data. */
  static final class WithStream {
    InputStream in;
  }

  /** Captures its enclosing instance. */
  final class Inner {
    long n;
  }

  private StreamingApp app() {
    return ctx -> ctx.generatedLines(LINES, VOCABULARY, 2)
        .flatMap(l -> Arrays.asList(l.split(" ")))
        .mapToPair(w -> Pair.of(new Shape(w.charAt(0), w.length()), (long) w.length()))
        .reduceByKey(Long::sum)
        .updateStateByKey((List<Long> letters, Optional<Tally> t) -> Optional.of(new Tally(
            t.map(x -> x.words).orElse(0L) + letters.get(0) / letters.get(0),
            t.map(x -> x.letters).orElse(0L) + letters.stream().mapToLong(Long::longValue).sum())))
        .uid("tallies")
        .checkpoint(Duration.ofSeconds(2))
        .foreachBatch((batch, records) -> {
          Map<String, Long> m = new TreeMap<>();
          records.forEach(p -> m.put(p.key().toString(), p.value().letters * 1000 + p.value().words));
          totals.put(batch.index(), m);
        });
  }

  /** Per shape: letters so far * 1000 + batches in which the shape occurred. */
  private static Map<String, Long> reference(long last) {
    Map<String, Long> letters = new TreeMap<>();
    Map<String, Long> batches = new TreeMap<>();
    for (long b = 0; b <= last; b++) {
      Map<String, Long> inBatch = new TreeMap<>();
      for (long j = 0; j < LINES; j++) {
        for (String w : WordGenerator.line(b, j, VOCABULARY).split(" ")) {
          inBatch.merge(new Shape(w.charAt(0), w.length()).toString(), (long) w.length(), Long::sum);
        }
      }
      inBatch.forEach((k, v) -> {
        letters.merge(k, v, Long::sum);
        batches.merge(k, 1L, Long::sum);
      });
    }
    Map<String, Long> out = new TreeMap<>();
    letters.forEach((k, v) -> out.put(k, v * 1000 + batches.get(k)));
    return out;
  }

  @Test
  void applicationTypesAreShuffledAndSnapshottedThroughKryoAcrossARestart() throws Exception {
    Map<String, String> settings = Map.of("sluice.checkpoint.dir", tmp.resolve("cp").toString());
    try (LocalRunner job = LocalRunner.start(app(), settings)) {
      job.runBatches(3);
    }
    try (LocalRunner job = LocalRunner.start(app(), settings)) {
      job.runBatches(3);
    }
    for (long b = 0; b < 6; b++) {
      assertThat(totals.get(b)).as("totals after batch " + b).isEqualTo(reference(b));
    }
  }

  @Test
  void aDeclaredTypeKryoCannotTakeIsRefusedAtStartNamingTheOperator() {
    StreamingApp resource = ctx -> ctx.generatedLines(1, 1, 1).map(l -> new WithStream())
        .withCodec(Codecs.kryo(WithStream.class)).uid("opened").foreachBatch((b, r) -> { });
    assertThatThrownBy(() -> LocalRunner.start(resource, Map.of())).isInstanceOf(SluiceException.class)
        .hasMessageStartingWith("operator opened cannot encode its records: field WithStream.in is a "
            + "java.io.InputStream, a resource rather than data; mark the field transient");
    StreamingApp inner = ctx -> ctx.generatedLines(1, 1, 1).map(l -> new Inner())
        .withCodec(Codecs.kryo(Inner.class)).uid("inner").foreachBatch((b, r) -> { });
    assertThatThrownBy(() -> LocalRunner.start(inner, Map.of())).isInstanceOf(SluiceException.class)
        .hasMessageStartingWith("operator inner cannot encode its records: " + Inner.class.getName()
            + " is an inner class");
  }

  @Test
  void aValueKryoCannotEncodeFailsTheBatchNamingTheOperator() throws Exception {
    StreamingApp app = ctx -> ctx.generatedLines(1, 1, 1).map(l -> Thread.currentThread()).uid("threads")
        .countByValue().foreachBatch((b, r) -> { });
    try (LocalRunner job = LocalRunner.start(app, Map.of())) {
      assertThatThrownBy(() -> job.runBatches(1)).hasStackTraceContaining("operator countByValue-2: codec ");
    }
  }
}
