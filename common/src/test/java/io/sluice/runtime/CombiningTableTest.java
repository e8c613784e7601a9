package io.sluice.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.api.Functions.ReduceFunction;
import io.sluice.api.Reducers;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class CombiningTableTest {
  /** Sums longs; a null is no value; a string anywhere makes the result their concatenation. */
  private static final ReduceFunction<Object> SUM_OR_CONCAT = (a, b) -> {
    if (a == null || b == null) {
      return a == null ? b : a;
    }
    return a instanceof Long x && b instanceof Long y ? (Object) (x + y) : a + "+" + b;
  };

  @Test
  void combinesAsAMapWouldForEveryKindOfKeyAndValueThroughManyGrowths() throws Exception {
    CombiningTable table = new CombiningTable(SUM_OR_CONCAT);
    Map<Object, Object> expected = new HashMap<>();
    SplittableRandom random = new SplittableRandom(7);
    for (int i = 0; i < 300_000; i++) {
      int n = random.nextInt(30_000);
      Object key = switch (n % 10) {
        // "Aa" and "BB" have the same hash code, so these keys (too long to pack) collide pairwise.
        case 0 -> "Aa" + n + " and more";
        case 1 -> "BB" + (n - 1) + " and more";
        case 2 -> n == 2 ? null : (long) n;
        // Longer than a slot holds, and not Latin-1: compared by equals.
        case 3 -> "a key longer than sixteen characters " + n;
        case 4 -> "ключ" + n;
        // Packed alike but for their length: "w" + n and "w" + n + "\0".
        case 5 -> "w" + n;
        case 6 -> "w" + (n - 1) + "\0";
        // Latin-1 but not ASCII: compared by equals; and the longest packed key next to one longer.
        case 8 -> "café" + n;
        case 9 -> n % 20 == 9 ? String.format("%08d", n) : String.format("k%08d", n);
        default -> n == 7 ? "" : "x" + n;
      };
      Object value = n % 97 == 0 ? null : n % 89 == 0 ? "s" + n : (Object) (long) n;
      table.add(key, value);
      Object previous = expected.get(key);
      expected.put(key, previous != null || expected.containsKey(key) ? SUM_OR_CONCAT.apply(previous, value) : value);
    }
    Map<Object, Object> actual = new HashMap<>();
    table.forEach((k, v) -> {
      assertThat(actual.containsKey(k)).as("key %s seen once", k).isFalse();
      actual.put(k, v);
    });
    assertThat(table.size()).isEqualTo(expected.size());
    assertThat(actual).isEqualTo(expected);
  }

  @Test
  @SuppressWarnings("unchecked")
  void theKnownLongSumAddsAsLongSumWouldWrappingOnOverflow() throws Exception {
    CombiningTable table = new CombiningTable((ReduceFunction<Object>) (ReduceFunction<?>) Reducers.longSum());
    Map<Object, Long> expected = new HashMap<>();
    SplittableRandom random = new SplittableRandom(11);
    for (int i = 0; i < 200_000; i++) {
      int n = random.nextInt(5_000);
      Object key = n % 3 == 0 ? (Object) (long) n : "w" + n;
      long value = n % 101 == 0 ? Long.MAX_VALUE - n : random.nextLong(-1000, 1000);
      table.add(key, value);
      expected.merge(key, value, Long::sum);
    }
    Map<Object, Object> actual = new HashMap<>();
    table.forEach(actual::put);
    assertThat(actual).isEqualTo(expected);
  }

  @Test
  void aCombinersCheckedExceptionReachesTheCaller() throws Exception {
    CombiningTable table = new CombiningTable((a, b) -> {
      throw new IOException("cannot combine " + a + " and " + b);
    });
    table.add("k", 1L);
    assertThatThrownBy(() -> table.add("k", 2L)).isInstanceOf(IOException.class).hasMessage("cannot combine 1 and 2");
  }
}
