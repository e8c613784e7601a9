package io.sluice.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class BytesOutputTest {

  /** Every kind of write, many times over, so that the array grows in the middle of writes. */
  private static void writeAll(DataOutput out) throws IOException {
    for (int i = 0; i < 2_000; i++) {
      out.write(i);
      out.write(new byte[] {1, 2, 3, 4, 5, 6, 7}, 1, 5);
      out.writeBoolean(i % 2 == 0);
      out.writeShort(i * 7);
      out.writeChar('x' + i % 20);
      out.writeInt(i * 1_000_003);
      out.writeLong(i * 31L << 40);
      out.writeFloat(i / 3f);
      out.writeDouble(i / 7d);
      out.writeBytes("ab");
      out.writeChars("cd");
      out.writeUTF("é" + i);
    }
  }

  @Test
  void writesWhatADataOutputStreamWritesAcrossGrowth() throws IOException {
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    writeAll(new DataOutputStream(expected));
    BytesOutput out = new BytesOutput(1);
    writeAll(out);

    assertThat(out.toByteArray()).isEqualTo(expected.toByteArray());
    assertThat(out.size()).isEqualTo(expected.size());
    out.reset();
    out.writeInt(7);
    assertThat(out.toByteArray()).containsExactly(0, 0, 0, 7);
  }

  @Test
  void varintsReadBackAtTheEdgesOfEachLength() throws IOException {
    int[] values = {0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, Integer.MAX_VALUE, -1, Integer.MIN_VALUE};
    byte[] target = new byte[values.length * 5];
    int end = 0;
    for (int v : values) {
      int next = BytesOutput.putVarint(target, end, v);
      assertThat(next - end).as("bytes of " + v).isEqualTo(v >= 0 && v < 128 ? 1 : v >= 0 && v < 16_384 ? 2
          : v >= 0 && v < 2_097_152 ? 3 : v >= 0 && v < 268_435_456 ? 4 : 5);
      end = next;
    }
    BytesInput in = new BytesInput(target, end);
    for (int v : values) {
      assertThat(in.readVarint()).isEqualTo(v);
    }
    assertThat(in.hasRemaining()).isFalse();
  }
}
