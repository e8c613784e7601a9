package io.sluice.graph;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.api.Codecs;
import io.sluice.api.DStream;
import io.sluice.api.Pair;
import io.sluice.api.Settings;
import io.sluice.api.SluiceException;
import io.sluice.api.StreamingApp;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GraphBuilderTest {

  /** A word count whose partition count and a uid can be varied. */
  private static StreamingApp wordCount(int partitions, String mapUid) {
    return ctx -> {
      DStream<String> words = ctx.textFileStream("/in").flatMap(l -> Arrays.asList(l.split(" ")));
      if (mapUid != null) {
        words.uid(mapUid);
      }
      words.mapToPair(w -> Pair.of(w, 1L)).reduceByKey(Long::sum, partitions).saveAsTextFiles("/out/counts");
    };
  }

  private static StreamGraph build(StreamingApp app) {
    return GraphBuilder.build(app, new Settings(Map.of()));
  }

  @Test
  void derivesIdsFromKindAndPosition() {
    StreamGraph g = build(wordCount(2, null));
    assertThat(g.nodes()).extracting(OperatorNode::id)
        .containsExactly("fileSource-0", "flatMap-1", "mapToPair-2", "reduceByKey-3", "saveAsText-4");
    assertThat(g.node("reduceByKey-3").signature()).isEqualTo("reduceByKey(mapToPair-2) partitions=2 codec=auto");
  }

  @Test
  void userIdsReplaceDerivedOnes() {
    StreamGraph g = build(wordCount(2, "words"));
    assertThat(g.node("words").kind()).isEqualTo(OperatorKind.FLAT_MAP);
    assertThat(g.node("mapToPair-2").parents()).extracting(OperatorNode::id).containsExactly("words");
  }

  @Test
  void fingerprintIsStableAcrossBuildsAndChangesWithPartitions() {
    Fingerprint a = build(wordCount(2, null)).fingerprint();
    Fingerprint b = build(wordCount(2, null)).fingerprint();
    Fingerprint c = build(wordCount(3, null)).fingerprint();
    assertThat(a).isEqualTo(b);
    assertThat(a.digest()).hasSize(64).isNotEqualTo(c.digest());
    assertThat(c.incompatibilityWith(a)).hasValueSatisfying(why -> assertThat(why)
        .startsWith("operator reduceByKey-3 differs")
        .contains("partitions=3").contains("partitions=2"));
    assertThat(b.incompatibilityWith(a)).isEmpty();
  }

  @Test
  void fingerprintCoversCodecsAndTheBatchInterval() {
    StreamingApp typed = ctx -> ctx.textFileStream("/in").mapToPair(w -> Pair.of(w, 1L))
        .withCodecs(Codecs.STRING, Codecs.LONG).reduceByKey(Long::sum).saveAsTextFiles("/o");
    StreamingApp auto = ctx -> ctx.textFileStream("/in").mapToPair(w -> Pair.of(w, 1L))
        .reduceByKey(Long::sum).saveAsTextFiles("/o");
    assertThat(build(typed).fingerprint().incompatibilityWith(build(auto).fingerprint()))
        .hasValueSatisfying(why -> assertThat(why).contains("mapToPair-1").contains("pair(string,long)"));
    StreamGraph slow = GraphBuilder.build(auto, new Settings(Map.of(SettingKeys.BATCH_INTERVAL, "2s")));
    assertThat(slow.fingerprint().incompatibilityWith(build(auto).fingerprint()))
        .hasValue("the batch interval is 2000 ms, the checkpoint was written with 1000 ms");
  }

  @Test
  void rejectsDuplicateIds() {
    StreamingApp app = ctx -> {
      DStream<String> in = ctx.textFileStream("/in");
      in.map(x -> x).uid("same").saveAsTextFiles("/a");
      in.map(x -> x).uid("same").saveAsTextFiles("/b");
    };
    assertThatThrownBy(() -> build(app)).isInstanceOf(SluiceException.class)
        .hasMessage("two operators have the id same; give each a unique uid(...)");
  }

  @Test
  void rejectsAGraphWithoutOutput() {
    assertThatThrownBy(() -> build(ctx -> ctx.textFileStream("/in").map(x -> x)))
        .hasMessageContaining("declares no output");
  }

  @Test
  void rejectsConflictingCheckpointDirectories() {
    StreamingApp app = ctx -> {
      ctx.checkpoint("/cp/a");
      ctx.textFileStream("/in").saveAsTextFiles("/o");
    };
    assertThat(build(app).checkpointDir()).hasValue("/cp/a");
    assertThatThrownBy(() -> GraphBuilder.build(app, new Settings(Map.of(SettingKeys.CHECKPOINT_DIR, "/cp/b"))))
        .hasMessageContaining("/cp/a in the application but /cp/b in the submission");
  }

  @Test
  void instantiateExplainsWhatIsWrongWithTheClass() {
    ClassLoader cl = getClass().getClassLoader();
    assertThatThrownBy(() -> GraphBuilder.instantiate("com.example.Missing", cl))
        .hasMessage("class com.example.Missing is not in the application jar; check --class and --jar");
    assertThatThrownBy(() -> GraphBuilder.instantiate("java.lang.String", cl))
        .hasMessage("class java.lang.String does not implement io.sluice.api.StreamingApp");
  }
}
