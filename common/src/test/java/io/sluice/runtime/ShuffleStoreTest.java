package io.sluice.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ShuffleStoreTest {
  private final ShuffleBuffers buffers = new ShuffleBuffers(1 << 30);
  private final ShuffleStore store = new ShuffleStore(buffers);

  @Test
  void aReleasedBlocksArraysAreReusedOnlyOnceItsLastReaderIsDone() {
    byte[] array = buffers.take(100);
    store.put(1000, "node", "m-0", 0, List.of(new ShuffleChunk(array, 10)));
    ShuffleInput first = store.read(1000, "node", List.of("m-0"), 0);
    ShuffleInput second = store.read(1000, "node", List.of("m-0"), 0);

    store.release(1000);
    assertThat(first.chunks()).containsExactly(new ShuffleChunk(array, 10));
    first.close();
    first.close();
    assertThat(buffers.idleBytes()).as("still read by the second reader").isZero();
    second.close();
    assertThat(buffers.idleBytes()).isEqualTo(array.length);
    assertThat(buffers.take(100)).isSameAs(array);
    assertThat(store.read(1000, "node", List.of("m-0"), 0).chunks()).isEmpty();
  }

  @Test
  void aBlockReplacedByALaterRunOfItsTaskIsReusedOnceUnreadAndOnlyItsBatchIsReleased() {
    byte[] firstRun = buffers.take(100);
    byte[] secondRun = buffers.take(100);
    byte[] nextBatch = buffers.take(100);
    store.put(1000, "node", "m-0", 0, List.of(new ShuffleChunk(firstRun, 1)));
    store.put(2000, "node", "m-0", 0, List.of(new ShuffleChunk(nextBatch, 1)));
    ShuffleInput reader = store.read(1000, "node", List.of("m-0"), 0);
    store.put(1000, "node", "m-0", 0, List.of(new ShuffleChunk(secondRun, 2)));
    assertThat(buffers.idleBytes()).isZero();
    reader.close();
    assertThat(buffers.idleBytes()).isEqualTo(firstRun.length);

    store.release(1000);
    assertThat(buffers.idleBytes()).isEqualTo(firstRun.length + secondRun.length);
    assertThat(store.read(2000, "node", List.of("m-0"), 0).chunks()).containsExactly(new ShuffleChunk(nextBatch, 1));
  }

  @Test
  void buffersComeInPowersOfTwoAndKeepNoMoreThanTheirLimitIdle() {
    ShuffleBuffers small = new ShuffleBuffers(100_000);
    assertThat(small.take(1)).hasSize(ShuffleBuffers.SMALLEST);
    assertThat(small.take(ShuffleBuffers.SMALLEST)).hasSize(ShuffleBuffers.SMALLEST);
    assertThat(small.take(ShuffleBuffers.SMALLEST + 1)).hasSize(2 * ShuffleBuffers.SMALLEST);
    byte[] oversized = small.take(ShuffleBuffers.LARGEST + 1);
    assertThat(oversized).hasSize(ShuffleBuffers.LARGEST + 1);

    small.give(oversized);
    small.give(new byte[ShuffleBuffers.SMALLEST]);
    small.give(new byte[ShuffleBuffers.SMALLEST]);
    assertThat(small.idleBytes()).isEqualTo(ShuffleBuffers.SMALLEST);
  }
}
