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
import java.util.Set;
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
  void fingerprintIsStableAcrossBuildsAndCoversPartitionsAndCodecs() {
    Fingerprint a = build(wordCount(2, null)).fingerprint();
    assertThat(a).isEqualTo(build(wordCount(2, null)).fingerprint());
    assertThat(a.digest()).hasSize(64).isNotEqualTo(build(wordCount(3, null)).fingerprint().digest());
    StreamingApp typed = ctx -> ctx.textFileStream("/in").mapToPair(w -> Pair.of(w, 1L))
        .withCodecs(Codecs.STRING, Codecs.LONG).reduceByKey(Long::sum).saveAsTextFiles("/o");
    assertThat(build(typed).fingerprint().operators().get(1).description()).contains("codec=pair(string,long)");
  }

  /** Running counts, with a knob for each kind of change an upgrade may make. */
  private static StreamingApp stateful(int statePartitions, boolean extraMap, boolean typedState, boolean uid) {
    return ctx -> {
      DStream<String> words = ctx.textFileStream("/in");
      if (extraMap) {
        words = words.map(String::trim);
      }
      var state = words.mapToPair(w -> Pair.of(w, 1L))
          .<Long>updateStateByKey((v, s) -> java.util.Optional.of(s.orElse(0L) + v.size()), statePartitions);
      if (typedState) {
        state.withCodecs(Codecs.STRING, Codecs.LONG);
      }
      if (uid) {
        state.uid("counts");
      }
      state.saveAsTextFiles("/o");
    };
  }

  private static StreamGraph buildStateful(StreamingApp app) {
    return GraphBuilder.build(app, new Settings(Map.of(SettingKeys.CHECKPOINT_DIR, "/cp")));
  }

  @Test
  void upgradesMayChangeStatelessOperatorsButNotStateLayout() {
    Fingerprint before = buildStateful(stateful(2, false, false, true)).fingerprint();
    assertThat(buildStateful(stateful(2, true, false, true)).fingerprint().incompatibilityWith(before))
        .as("an added map before a stateful operator with a uid").isEmpty();
    assertThat(build(wordCount(3, null)).fingerprint().incompatibilityWith(build(wordCount(2, null)).fingerprint()))
        .as("a stateless shuffle's partitions").isEmpty();
    assertThat(buildStateful(stateful(3, false, false, true)).fingerprint().incompatibilityWith(before))
        .hasValue("stateful operator counts differs: now updateStateByKey partitions=3 codec=auto, checkpoint has "
            + "updateStateByKey partitions=2 codec=auto; or submit with --conf sluice.upgrade.freshState=counts to "
            + "start its state empty");
    assertThat(buildStateful(stateful(3, false, false, true)).fingerprint().incompatibilityWith(before, Set.of("counts")))
        .as("the operator's state starts empty").isEmpty();
    assertThat(buildStateful(stateful(2, false, true, true)).fingerprint().incompatibilityWith(before))
        .hasValueSatisfying(why -> assertThat(why).contains("codec=pair(string,long)"));
    assertThat(buildStateful(stateful(2, true, false, false)).fingerprint()
        .incompatibilityWith(buildStateful(stateful(2, false, false, false)).fingerprint()))
        .as("a derived id moved by an added operator")
        .hasValueSatisfying(why -> assertThat(why).contains("updateStateByKey-2").contains("give stateful operators a uid"));
    StreamGraph slow = GraphBuilder.build(stateful(2, false, false, true),
        new Settings(Map.of(SettingKeys.CHECKPOINT_DIR, "/cp", SettingKeys.BATCH_INTERVAL, "2s")));
    assertThat(slow.fingerprint().incompatibilityWith(before))
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
