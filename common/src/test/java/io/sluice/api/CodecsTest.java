package io.sluice.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.io.ByteArrayDataOutput;
import com.google.common.io.ByteStreams;
import io.sluice.codec.AsciiStringCodec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class CodecsTest {

  private static <T> T roundTrip(Codec<T> codec, T value) throws IOException {
    ByteArrayDataOutput out = ByteStreams.newDataOutput();
    codec.write(value, out);
    return codec.read(ByteStreams.newDataInput(out.toByteArray()));
  }

  @Test
  void typedCodecsRoundTrip() throws IOException {
    assertThat(roundTrip(Codecs.STRING, "héllo wörld")).isEqualTo("héllo wörld");
    assertThat(roundTrip(Codecs.STRING, "x".repeat(100_000))).hasSize(100_000);
    assertThat(roundTrip(Codecs.LONG, Long.MIN_VALUE)).isEqualTo(Long.MIN_VALUE);
    assertThat(roundTrip(Codecs.INT, -7)).isEqualTo(-7);
    assertThat(roundTrip(Codecs.DOUBLE, 2.5)).isEqualTo(2.5);
    assertThat(roundTrip(Codecs.BYTES, new byte[] {1, 2, 3})).containsExactly(1, 2, 3);
    assertThat(roundTrip(Codecs.pair(Codecs.STRING, Codecs.LONG), Pair.of("a", 3L))).isEqualTo(Pair.of("a", 3L));
    assertThat(roundTrip(Codecs.list(Codecs.INT), List.of(1, 2, 3))).containsExactly(1, 2, 3);
  }

  private static byte[] encoded(Codec<Object> codec, Object value) throws IOException {
    ByteArrayDataOutput out = ByteStreams.newDataOutput();
    codec.write(value, out);
    return out.toByteArray();
  }

  @Test
  @SuppressWarnings("unchecked")
  void theBuiltInStringCodecsWriteAsciiBytesAsTheyWriteTheirString() throws IOException {
    for (Codec<Object> codec : List.of((Codec<Object>) (Codec<?>) Codecs.STRING, Codecs.auto())) {
      assertThat(codec).isInstanceOf(AsciiStringCodec.class);
      for (String s : List.of("", "w0", "w999999", "k1234\u007f", "\u0000abcdefg")) {
        byte[] chars = (s + "garbage").getBytes(StandardCharsets.US_ASCII);
        ByteArrayDataOutput out = ByteStreams.newDataOutput();
        ((AsciiStringCodec) codec).writeAscii(chars, s.length(), out);
        assertThat(out.toByteArray()).as("%s of %s", codec, s).isEqualTo(encoded(codec, s));
      }
    }
  }

  @Test
  void autoCodecRoundTripsNestedCommonTypes() throws IOException {
    Object value = Pair.of("k", List.of(1L, 2, 3.5, true, Pair.of("x", null)));
    assertThat(roundTrip(Codecs.auto(), value)).isEqualTo(value);
    assertThat((byte[]) roundTrip(Codecs.auto(), (Object) new byte[] {9})).containsExactly(9);
  }

  /** A type the built-in codecs do not know, without a no-argument constructor. */
  record Visit(String user, long atMs, List<String> pages) {}

  /** A mutable class whose fields are data, including a nested type of the application. */
  static final class Session {
    private final Visit first;
    private int clicks;

    Session(Visit first, int clicks) {
      this.first = first;
      this.clicks = clicks;
    }
  }

  @Test
  void autoCodecFallsBackToKryoForOtherTypes() throws IOException {
    Visit v = new Visit("ann", 42, List.of("/a", "/b"));
    Object back = roundTrip(Codecs.auto(), Pair.of(v, List.of(v, 3L)));
    assertThat(back).isEqualTo(Pair.of(v, List.of(v, 3L)));
    Session s = roundTrip(Codecs.kryo(Session.class), new Session(v, 7));
    assertThat(s.first).isEqualTo(v);
    assertThat(s.clicks).isEqualTo(7);
    assertThat(Codecs.kryo(Session.class).name()).isEqualTo("kryo(" + Session.class.getName() + ")");
  }
  @Test
  void codecNamesDescribeTheirStructure() {
    assertThat(Codecs.pair(Codecs.STRING, Codecs.list(Codecs.LONG)).name()).isEqualTo("pair(string,list(long))");
  }

  @Test
  void durationsParseWithUnitsAndRejectGarbage() {
    assertThat(Duration.parse("x", "500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Duration.parse("x", "2s")).isEqualTo(Duration.ofSeconds(2));
    assertThat(Duration.parse("x", "1h").millis()).isEqualTo(3_600_000);
    assertThatThrownBy(() -> Duration.parse("sluice.batch.interval", "fast"))
        .hasMessage("sluice.batch.interval=fast is not a duration (examples: 500ms, 2s, 5m, 1h)");
  }

  @Test
  void settingsExplainMalformedNumbers() {
    Settings s = new Settings(java.util.Map.of("workload.R", "200k", "bad", "lots"));
    assertThat(s.getLong("workload.R", 0)).isEqualTo(200_000);
    assertThatThrownBy(() -> s.getLong("bad", 0)).hasMessageContaining("bad=lots is not a whole number");
    assertThatThrownBy(() -> s.require("input.dir")).hasMessageContaining("--conf input.dir=");
  }
}
