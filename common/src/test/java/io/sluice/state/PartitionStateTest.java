package io.sluice.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class PartitionStateTest {

  @Test
  void rollingBackABatchRestoresEntriesVersionAndWhatTheNextDeltaMustHold() {
    PartitionState state = new PartitionState();
    state.beginUpdate();
    state.put(key("a"), "a", 1);
    state.put(key("b"), "b", 2);
    state.setVersionMs(1000);
    state.markSnapshotted();

    state.beginUpdate();
    state.put(key("c"), "c", 3);
    state.setVersionMs(2000);
    state.beginUpdate();
    state.put(key("a"), "a", 10);
    state.put(key("a"), "a", 11);
    state.remove(key("b"));
    state.put(key("d"), "d", 4);
    state.setVersionMs(3000);
    assertThat(state.undoableToMs()).isEqualTo(2000);

    state.rollBack();

    assertThat(state.versionMs()).isEqualTo(2000);
    assertThat(plain(state)).containsExactly(Map.entry("a", 1), Map.entry("b", 2), Map.entry("c", 3));
    // A delta after the rollback carries what differs from the snapshot at 1000: c, and no more
    // than the removal of d (which that snapshot never had).
    assertThat(state.changedKeys()).containsExactly(key("c"));
    assertThat(state.removedKeys()).containsExactly(key("d"));
    assertThat(state.undoableToMs()).isEqualTo(-1);
  }

  @Test
  void aSnapshotMakesTheUpdateBeforeItFinal() {
    PartitionState state = new PartitionState();
    state.beginUpdate();
    state.put(key("a"), "a", 1);
    state.setVersionMs(1000);
    state.markSnapshotted();

    assertThat(state.undoableToMs()).isEqualTo(-1);
    assertThatThrownBy(state::rollBack).isInstanceOf(IllegalStateException.class).hasMessageContaining("1000");
  }

  private static ByteBuffer key(String k) {
    return ByteBuffer.wrap(k.getBytes(StandardCharsets.UTF_8));
  }

  private static Map<String, Object> plain(PartitionState state) {
    Map<String, Object> out = new TreeMap<>();
    state.entries().values().forEach(e -> out.put((String) e.key(), e.state()));
    return out;
  }
}
