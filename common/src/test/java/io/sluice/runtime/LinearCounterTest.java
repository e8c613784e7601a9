package io.sluice.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.google.common.hash.Hashing;
import org.junit.jupiter.api.Test;

class LinearCounterTest {
  private static int hash(int value) {
    return Hashing.murmur3_32_fixed().hashInt(value).asInt();
  }

  @Test
  void estimatesDistinctValuesWithinAPercentUpToTheNumberExpected() {
    for (int distinct : new int[] {1, 1_000, 50_000, 100_000}) {
      LinearCounter counter = new LinearCounter(100_000);
      for (int i = 0; i < 100_000; i++) {
        counter.add(hash(i % distinct));
      }
      assertThat(counter.estimate()).as("%d distinct", distinct).isCloseTo(distinct, within(distinct * 0.01 + 1));
    }
  }
}
