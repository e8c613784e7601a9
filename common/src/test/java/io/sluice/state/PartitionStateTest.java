package io.sluice.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class PartitionStateTest {

  @Test
  void stampsStayWithTheirEntriesThroughGrowthRemovalsRollbackAndTheSnapshotCopy() {
    PartitionState state = new PartitionState();
    state.keepStamps();
    Map<String, Object> expected = new TreeMap<>();
    state.beginUpdate();
    for (int i = 0; i < 3000; i++) {
      TimedState entry = new TimedState(1000L * (i % 7), i % 3 == 0 ? "s" + i : (Object) (long) i);
      state.put(key("k" + i), "k" + i, entry);
      expected.put("k" + i, entry);
    }
    state.put(key("plain"), "plain", 5L);
    expected.put("plain", 5L);
    state.setVersionMs(1000);
    assertThat(byEncodedKey(state)).isEqualTo(expected);
    assertThat(state.hasLongStateAt(state.slotOf(key("plain")))).as("a long put as it is").isTrue();
    assertThat(state.hasLongStateAt(state.slotOf(key("k1")))).as("a long put with its stamp").isFalse();
    assertThat(state.mayHoldObjectStates()).isTrue();
    assertThat(state.stampAt(state.slotOf(key("k8")))).isEqualTo(1000);
    assertThat(state.unstampedStateAt(state.slotOf(key("k8")))).isEqualTo(8L);

    state.beginUpdate();
    for (int i = 0; i < 3000; i += 2) {
      if (i % 4 == 0) {
        state.remove(key("k" + i));
      } else {
        state.put(key("k" + i), "k" + i, new TimedState(9000, "replaced"));
      }
    }
    Map<String, Object> updated = new TreeMap<>(byEncodedKey(state));
    for (int i = 3000; i < 9000; i++) {
      state.put(key("k" + i), "k" + i, new TimedState(9000, (long) i));
      updated.put("k" + i, new TimedState(9000, (long) i));
    }
    state.setVersionMs(2000);
    assertThat(byEncodedKey(state)).as("after the table grew").isEqualTo(updated);
    assertThat(byEncodedKey(state.copyForSnapshot(state.generation()))).as("a snapshot's copy").isEqualTo(updated);

    state.rollBack();
    assertThat(byEncodedKey(state)).as("rolled back").isEqualTo(expected);
  }

  @Test
  void aRollbackOrAClearDropsTheIndexOfIdleKeys() {
    PartitionState state = snapshottedAt1000WithAAndB();
    state.setIdleKeys(new IdleKeys(1000));
    state.beginUpdate();
    state.put(key("c"), "c", 3);
    assertThat(state.idleKeys()).isNotNull();
    state.rollBack();
    assertThat(state.idleKeys()).isNull();

    state.setIdleKeys(new IdleKeys(1000));
    state.clear();
    assertThat(state.idleKeys()).isNull();
  }

  @Test
  void rollingBackABatchRestoresEntriesVersionAndWhatTheNextDeltaMustHold() {
    PartitionState state = snapshottedAt1000WithAAndB();

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
    assertThat(changed(state)).containsOnlyKeys("c");
    assertThat(state.removedKeys()).containsExactly(key("d"));
    assertThat(state.undoableToMs()).isEqualTo(-1);
  }

  @Test
  void rollingBackPastASnapshotOfTheBatchReturnsWhatTheNextDeltaMustHoldToBeforeIt() {
    PartitionState state = snapshottedAt1000WithAAndB();
    state.beginUpdate();
    state.put(key("c"), "c", 3);
    state.remove(key("b"));
    state.setVersionMs(2000);

    // Batch 3000 runs and is snapshotted, but never completes: the driver rolls it back.
    state.beginUpdate();
    state.put(key("a"), "a", 10);
    state.remove(key("c"));
    state.put(key("d"), "d", 4);
    state.setVersionMs(3000);
    state.markSnapshotted();
    assertThat(state.undoableToMs()).isEqualTo(2000);
    assertThat(state.snapshotMs()).isEqualTo(3000);
    state.rollBack();

    assertThat(state.versionMs()).isEqualTo(2000);
    assertThat(plain(state)).containsExactly(Map.entry("a", 1), Map.entry("c", 3));
    // The next delta is again relative to the snapshot at 1000, the last one the driver recorded.
    assertThat(state.snapshotMs()).isEqualTo(1000);
    assertThat(changed(state)).containsOnlyKeys("c");
    assertThat(state.removedKeys()).containsExactlyInAnyOrder(key("b"), key("d"));
  }

  @Test
  void aCopyForASnapshotKeepsTheEntriesAndWhatChangedAsTheyWereAndReusesTheArraysGivenBack() {
    PartitionState state = snapshottedAt1000WithAAndB();
    state.beginUpdate();
    state.put(key("a"), "a", 10L);
    state.put(key("c"), "c", List.of(3));
    state.setVersionMs(2000);

    int taken = state.generation();
    state.markSnapshotted();
    PartitionState copy = state.copyForSnapshot(taken);
    state.beginUpdate();
    state.put(key("b"), "b", 20L);
    state.remove(key("c"));

    assertThat(encoded(copy, false)).containsExactly(Map.entry("a", 10L), Map.entry("c", List.of(3)));
    assertThat(encoded(copy, true)).containsExactly(Map.entry("a", 10L), Map.entry("b", 2), Map.entry("c", List.of(3)));
    assertThat(copy.mayHoldObjectStates()).isTrue();

    state.recycle(copy);
    PartitionState second = state.copyForSnapshot(state.generation());
    assertThat(second).as("the arrays given back, copied into again").isSameAs(copy);
    assertThat(encoded(second, false)).containsExactly(Map.entry("b", 20L));
    assertThat(encoded(second, true)).containsExactly(Map.entry("a", 10L), Map.entry("b", 20L));
    assertThat(state.copyForSnapshot(state.generation())).as("a copy still out is not handed out twice").isNotSameAs(second);

    state.markSnapshotted();
    for (int k = 0; k < 100; k++) {
      state.put(key("grow" + k), "grow" + k, (long) k);
    }
    state.recycle(second);
    PartitionState afterGrowing = state.copyForSnapshot(state.generation());
    assertThat(afterGrowing).as("copied into arrays that fit the grown table").isNotSameAs(second);
    assertThat(encoded(afterGrowing, false)).hasSize(100).containsEntry("grow99", 99L);
    assertThat(encoded(afterGrowing, true)).hasSize(102);
  }

  /** The entries of a copy, all or those changed since the snapshot before it, by their encoded keys. */
  private static Map<String, Object> encoded(PartitionState copy, boolean all) {
    Map<String, Object> out = new TreeMap<>();
    for (int slot = all ? copy.nextSlot(-1) : copy.nextChangedSlot(-1); slot >= 0;
        slot = all ? copy.nextSlot(slot) : copy.nextChangedSlot(slot)) {
      out.put(new String(copy.encodedKeyAt(slot), StandardCharsets.UTF_8), copy.stateAt(slot));
    }
    return out;
  }

  /** a = 1 and b = 2, written in batch 1000 and snapshotted there. */
  private static PartitionState snapshottedAt1000WithAAndB() {
    PartitionState state = new PartitionState();
    state.beginUpdate();
    state.put(key("a"), "a", 1);
    state.put(key("b"), "b", 2);
    state.setVersionMs(1000);
    state.markSnapshotted();
    return state;
  }

  @Test
  void aKeyAddedAwaitingItsStateGetsOneOrIsRemovedAndEitherWayRollsBackLikeAPut() {
    PartitionState state = snapshottedAt1000WithAAndB();
    state.beginUpdate();
    byte[] c = bytes("c");
    int slot = state.slotAddingKey(c, 0, c.length);
    assertThat(state.awaitsStateAt(slot)).isTrue();
    assertThat(state.slotAddingKey(c, 0, c.length)).as("added once").isEqualTo(slot);
    state.setFirstStateAt(slot, "c", 3L);
    byte[] d = bytes("d");
    state.slotAddingKey(d, 0, d.length);
    state.remove(key("d"));
    byte[] a = bytes("a");
    int held = state.slotAddingKey(a, 0, a.length);
    assertThat(state.awaitsStateAt(held)).as("a key it holds keeps its state").isFalse();
    state.setVersionMs(2000);

    assertThat(plain(state)).containsExactly(Map.entry("a", 1), Map.entry("b", 2), Map.entry("c", 3L));
    assertThat(state.hasLongStateAt(state.slotOf(key("c")))).isTrue();
    assertThat(changed(state)).containsOnlyKeys("c");
    assertThat(state.changedByLastUpdate()).isEqualTo(3);

    state.rollBack();
    assertThat(plain(state)).containsExactly(Map.entry("a", 1), Map.entry("b", 2));
    assertThat(state.size()).isEqualTo(2);
  }

  @Test
  void roomForKeysIsMadeAtOnceAndAddingThemThenMovesNoEntry() {
    PartitionState state = new PartitionState();
    assertThat(state.hasRoomFor(10)).as("16 slots at most 2/3 full").isTrue();
    assertThat(state.hasRoomFor(11)).isFalse();
    state.reserve(1_000);
    assertThat(state.hasRoomFor(1_000)).isTrue();
    int[] slots = new int[1_000];
    for (int n = 0; n < 1_000; n++) {
      byte[] k = bytes("k" + n);
      slots[n] = state.slotAddingKey(k, 0, k.length);
      state.setFirstStateAt(slots[n], "k" + n, (long) n);
    }
    for (int n = 0; n < 1_000; n++) {
      assertThat(state.slotOf(key("k" + n))).isEqualTo(slots[n]);
      assertThat(state.longStateAt(slots[n])).isEqualTo(n);
    }
    assertThat(state.mayHoldObjectStates()).as("an entry that awaited its state is no object state").isFalse();
  }

  @Test
  void aSecondSnapshotMakesTheUpdateBeforeItFinal() {
    PartitionState state = new PartitionState();
    state.beginUpdate();
    state.put(key("a"), "a", 1);
    state.setVersionMs(1000);
    state.markSnapshotted();
    state.markSnapshotted();

    assertThat(state.undoableToMs()).isEqualTo(-1);
    assertThatThrownBy(state::rollBack).isInstanceOf(IllegalStateException.class).hasMessageContaining("1000");
  }

  @Test
  void aClearedPartitionCannotBeRolledBack() {
    PartitionState state = new PartitionState();
    state.beginUpdate();
    state.put(key("a"), "a", 1);
    state.setVersionMs(1000);
    state.clear();

    assertThat(state.undoableToMs()).isEqualTo(-1);
    assertThat(state.size()).isZero();
    assertThat(state.snapshotMs()).as("no delta can follow a snapshot of a cleared partition").isEqualTo(-1);
  }

  @Test
  void agreesWithAPlainMapThroughGrowthRemovalsAndRollbacksForShortAndLongKeys() {
    PartitionState state = new PartitionState();
    Map<String, Object> expected = new TreeMap<>();
    SplittableRandom random = new SplittableRandom(42);
    for (int batch = 0; batch < 20; batch++) {
      state.beginUpdate();
      Map<String, Object> before = new TreeMap<>(expected);
      for (int i = 0; i < 5_000; i++) {
        // Few distinct keys, so that the same keys are inserted, replaced and removed again; of 2
        // to 29 bytes, kept in the table's slots up to 16 and compared in their entries beyond.
        int n = random.nextInt(3_000);
        String k = "k" + n + "x".repeat(n % 25);
        if (random.nextInt(4) == 0) {
          state.remove(key(k));
          expected.remove(k);
        } else {
          // Long states are held unboxed, others as they are: a key's state changes between both.
          Object v = i % 3 == 0 ? "s" + i : (Object) (long) i;
          if (i % 5 == 1) {
            // From the middle of a larger array, as an update adds the keys of the shuffle's records.
            byte[] padded = bytes("__" + k + "__");
            int slot = state.slotAddingKey(padded, 2, padded.length - 4);
            if (state.awaitsStateAt(slot)) {
              state.setFirstStateAt(slot, k, v);
            } else {
              state.replaceAt(slot, v);
            }
          } else {
            state.put(key(k), k, v);
          }
          expected.put(k, v);
        }
      }
      state.setVersionMs(batch + 1);
      if (batch % 3 == 2) {
        state.rollBack();
        expected = before;
      }
      assertThat(plain(state)).isEqualTo(expected);
      assertThat(state.size()).isEqualTo(expected.size());
      for (Map.Entry<String, Object> e : expected.entrySet()) {
        int slot = state.slotOf(key(e.getKey()));
        assertThat(slot).isNotNegative();
        assertThat(state.keyAt(slot)).isEqualTo(e.getKey());
        assertThat(state.stateAt(slot)).isEqualTo(e.getValue());
        assertThat(state.encodedKeyAt(slot)).isEqualTo(bytes(e.getKey()));
        byte[] shortKey = new byte[PartitionState.INLINE_KEY_BYTES];
        assertThat(Arrays.copyOf(state.encodedKeyAt(slot, shortKey), state.encodedKeyLengthAt(slot)))
            .isEqualTo(bytes(e.getKey()));
      }
      assertThat(state.slotOf(key("absent"))).isEqualTo(-1);
    }
  }

  @Test
  void aLongStateIsHeldUnboxedAndRollsBackToAStateOfAnotherType() {
    PartitionState state = new PartitionState();
    state.beginUpdate();
    state.put(key("a"), "a", 5L);
    state.put(key("b"), "b", "text");
    state.setVersionMs(1000);
    int a = state.slotOf(key("a"));
    int b = state.slotOf(key("b"));
    assertThat(state.hasLongStateAt(a)).isTrue();
    assertThat(state.longStateAt(a)).isEqualTo(5L);
    assertThat(state.stateAt(a)).isEqualTo(5L);
    assertThat(state.hasLongStateAt(b)).isFalse();

    state.beginUpdate();
    state.replaceAt(a, List.of(1, 2));
    state.replaceAt(b, 7L);
    state.replaceAt(b, 8L);
    state.setVersionMs(2000);
    assertThat(state.hasLongStateAt(a)).isFalse();
    assertThat(state.stateAt(a)).isEqualTo(List.of(1, 2));
    assertThat(state.longStateAt(b)).isEqualTo(8L);

    state.rollBack();
    assertThat(plain(state)).containsExactly(Map.entry("a", 5L), Map.entry("b", "text"));
    assertThat(state.hasLongStateAt(state.slotOf(key("a")))).isTrue();
    assertThat(state.hasLongStateAt(state.slotOf(key("b")))).isFalse();
  }

  @Test
  void looksUpManyKeysAtOnceAsOneAtATime() {
    PartitionState state = new PartitionState();
    for (int n = 0; n < 2_000; n += 2) {
      String k = "k" + n + "x".repeat(n % 25);
      state.put(key(k), k, n);
    }
    // Keys at an offset in a shared array, as shuffle records hold them; every other one absent.
    int count = 700;
    byte[][] bytes = new byte[count][];
    int[] offsets = new int[count];
    int[] lengths = new int[count];
    for (int i = 0; i < count; i++) {
      int n = i * 3;
      byte[] k = ("k" + n + "x".repeat(n % 25)).getBytes(StandardCharsets.UTF_8);
      bytes[i] = new byte[k.length + 5];
      System.arraycopy(k, 0, bytes[i], 5, k.length);
      offsets[i] = 5;
      lengths[i] = k.length;
    }
    int[] found = new int[count];

    state.slotsOf(bytes, offsets, lengths, count, found);

    for (int i = 0; i < count; i++) {
      assertThat(found[i]).isEqualTo(state.slotOf(bytes[i], offsets[i], lengths[i]));
      int n = i * 3;
      if (n % 2 == 0 && n < 2_000) {
        assertThat(state.stateAt(found[i])).isEqualTo(n);
      } else {
        assertThat(found[i]).isEqualTo(-1);
      }
    }
  }

  @Test
  void aDeltaHoldsExactlyTheKeysWrittenSinceTheSnapshot() {
    PartitionState state = new PartitionState();
    for (int n = 0; n < 1_000; n++) {
      state.put(key("k" + n), "k" + n, n);
    }
    state.markSnapshotted();
    Map<String, Object> changed = new TreeMap<>();
    for (int n = 0; n < 1_000; n += 7) {
      state.put(key("k" + n), "k" + n, -n);
      changed.put("k" + n, -n);
    }

    assertThat(changed(state)).isEqualTo(changed);
    assertThat(plain(state)).hasSize(1_000);
  }

  @Test
  void keysLongerThanTheMetaWordsLengthFieldAreToldApartByTheirBytes() {
    PartitionState state = new PartitionState();
    String longer = "x".repeat(70_000);
    state.beginUpdate();
    state.put(key(longer + "a"), "a", 1L);
    state.put(key(longer + "b"), "b", 2L);
    state.put(key(longer + "bc"), "bc", 3L);
    state.setVersionMs(1000);
    state.beginUpdate();
    state.replaceAt(state.slotOf(key(longer + "a")), 10L);
    state.remove(key(longer + "b"));
    state.setVersionMs(2000);
    assertThat(plain(state)).containsExactly(Map.entry("a", 10L), Map.entry("bc", 3L));

    state.rollBack();

    assertThat(plain(state)).containsExactly(Map.entry("a", 1L), Map.entry("b", 2L), Map.entry("bc", 3L));
    assertThat(state.slotOf(key(longer + "c"))).isEqualTo(-1);
  }

  private static byte[] bytes(String k) {
    return k.getBytes(StandardCharsets.UTF_8);
  }

  private static ByteBuffer key(String k) {
    return ByteBuffer.wrap(k.getBytes(StandardCharsets.UTF_8));
  }

  private static Map<String, Object> plain(PartitionState state) {
    Map<String, Object> out = new TreeMap<>();
    for (int slot = state.nextSlot(-1); slot >= 0; slot = state.nextSlot(slot)) {
      out.put((String) state.keyAt(slot), state.stateAt(slot));
    }
    return out;
  }

  /** The entries by encoded key, which a snapshot's copy has too (it has no decoded keys). */
  private static Map<String, Object> byEncodedKey(PartitionState state) {
    Map<String, Object> out = new TreeMap<>();
    for (int slot = state.nextSlot(-1); slot >= 0; slot = state.nextSlot(slot)) {
      out.put(new String(state.encodedKeyAt(slot), StandardCharsets.UTF_8), state.stateAt(slot));
    }
    return out;
  }

  /** The entries a delta taken now would hold. */
  private static Map<String, Object> changed(PartitionState state) {
    Map<String, Object> out = new TreeMap<>();
    for (int slot = state.nextChangedSlot(-1); slot >= 0; slot = state.nextChangedSlot(slot)) {
      out.put((String) state.keyAt(slot), state.stateAt(slot));
    }
    return out;
  }
}
