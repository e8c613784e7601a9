package io.sluice.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class BucketedSumsTest {
  private static String unpack(long packedTag) {
    byte[] chars = new byte[CombiningTable.PACKED_CHARS];
    return new String(chars, 0, CombiningTable.unpackInto(packedTag, chars), StandardCharsets.US_ASCII);
  }

  @Test
  void sumsEveryPackedKeyOnceAsLongSumWouldAndGivesItsArraysBack() throws Exception {
    ShuffleBuffers buffers = new ShuffleBuffers(1L << 30);
    BucketedSums sums = new BucketedSums(buffers);
    Map<String, Long> expected = new HashMap<>();
    SplittableRandom random = new SplittableRandom(3);
    // Two million records over 200,000 keys: each bucket spans several arrays, and the table grows.
    for (int i = 0; i < 2_100_000; i++) {
      int n = random.nextInt(200_000);
      String key = switch (n % 4) {
        case 0 -> "w" + n;
        // The longest key that packs, and the empty one.
        case 1 -> n == 1 ? "" : String.format("%08d", n);
        case 2 -> "k" + n + "\u007f";
        default -> "x" + n;
      };
      // Mostly 1, which a bucket holds as the tag alone; else negative, large, or wrapping on overflow.
      long value = n % 7 != 0 ? 1 : n % 3 == 0 ? Long.MAX_VALUE - n : random.nextLong(-1000, 1000);
      assertThat(sums.add(key, value)).isTrue();
      expected.merge(key, value, Long::sum);
    }
    Map<Object, Object> actual = new HashMap<>();
    sums.drain((tag, value) -> assertThat(actual.put(unpack(tag), value)).as("%s passed once", unpack(tag)).isNull());
    assertThat(actual).isEqualTo(expected);
    // Each record took 8 bytes, 16 with a value other than 1: over 19 MB, all of it back in the pool.
    assertThat(buffers.idleBytes()).as("the buckets' arrays are back in the pool").isGreaterThan(18L << 20);
  }

  @Test
  void leavesKeysThatDoNotPackAndValuesThatAreNotLongsToTheCaller() throws Exception {
    BucketedSums sums = new BucketedSums(new ShuffleBuffers(1L << 20));
    assertThat(sums.add("w123456789", 1L)).as("longer than eight characters").isFalse();
    assertThat(sums.add("wörter", 1L)).as("not ASCII").isFalse();
    assertThat(sums.add(42L, 1L)).as("not a string").isFalse();
    assertThat(sums.add(null, 1L)).as("null").isFalse();
    assertThat(sums.add("w1", 1)).as("an Integer value").isFalse();
    assertThat(sums.add("w1", null)).as("a null value").isFalse();
    assertThat(sums.add("w1", 2L)).isTrue();
    Map<Object, Object> actual = new HashMap<>();
    sums.drain((tag, value) -> actual.put(unpack(tag), value));
    assertThat(actual).containsExactly(Map.entry("w1", 2L));
  }
}
