package io.sluice.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class IdleKeysTest {
  private static byte[] key(String k) {
    return k.getBytes(StandardCharsets.UTF_8);
  }

  private static List<String> names(List<byte[]> keys) {
    return keys.stream().map(k -> new String(k, StandardCharsets.UTF_8)).toList();
  }

  @Test
  void aKeyIsDueItsTimeoutAfterItsLastUpdateAndTakenOutOnce() {
    IdleKeys idle = new IdleKeys(3000);
    idle.add(key("b"), 2000);
    idle.add(key("a"), 1000);
    idle.add(key("c"), 2000);

    assertThat(idle.takeDue(3999)).isEmpty();
    assertThat(names(idle.takeDue(4000))).containsExactly("a");
    assertThat(idle.takeDue(4000)).isEmpty();
    idle.add(key("a"), 4000);
    assertThat(names(idle.takeDue(6000))).containsExactly("b", "c");
    assertThat(names(idle.takeDue(100_000))).containsExactly("a");
  }

  @Test
  void itOutgrowsAPartitionWhenItListsFarMoreKeysThanThePartitionHolds() {
    IdleKeys idle = new IdleKeys(1000);
    for (int i = 0; i < 2 * 10 + 1024; i++) {
      idle.add(key("k" + i), 0);
    }
    assertThat(idle.outgrows(10)).isFalse();
    idle.add(key("one more"), 0);
    assertThat(idle.outgrows(10)).isTrue();
    idle.takeDue(1000);
    assertThat(idle.outgrows(0)).isFalse();
  }
}
