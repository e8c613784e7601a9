package io.sluice.am;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.proto.ExecutorDirectory;
import io.sluice.proto.RegisterExecutorRequest;
import io.sluice.rpc.AppSecret;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Slots emptied when YARN says an executor's container ended, and batches refused until they are filled again. */
class ExecutorPoolTest {
  private final List<ExecutorDirectory> directories = new ArrayList<>();
  private final ExecutorPool pool = new ExecutorPool(AppSecret.generate(new SecureRandom()), 2, directories::add);

  @AfterEach
  void close() {
    pool.close();
  }

  private static RegisterExecutorRequest executor(int slot, String container) {
    return RegisterExecutorRequest.newBuilder().setExecutorId("executor-" + (slot + 1)).setSlot(slot)
        .setContainerId(container).setHost("localhost").setPort(9000 + slot).build();
  }

  @Test
  void anEndedContainerEmptiesItsSlotAndTasksWaitForTheReplacement() throws Exception {
    pool.register(executor(0, "container_a"));
    pool.register(executor(1, "container_b"));
    assertThat(pool.everySlot()).extracting(ExecutorPool.Executor::id).containsExactly("executor-1", "executor-2");

    assertThat(pool.dropContainer("container_unknown")).isEmpty();
    assertThat(pool.dropContainer("container_b")).contains(executor(1, "container_b"));
    assertThat(pool.dropContainer("container_b")).as("dropped once").isEmpty();
    assertThat(pool.freeSlots()).containsExactly(1);
    assertThatThrownBy(pool::everySlot).isInstanceOf(ExecutorPool.ExecutorMissingException.class)
        .hasMessage("the executor of slot 1 ended; its replacement is starting");

    pool.register(executor(1, "container_c"));
    assertThat(pool.dropContainer("container_b")).as("the old container no longer holds the slot").isEmpty();
    assertThat(pool.everySlot()).extracting(e -> e.registration().getContainerId())
        .containsExactly("container_a", "container_c");
    assertThat(directories.get(directories.size() - 1).getExecutorsList())
        .containsExactly(executor(0, "container_a"), executor(1, "container_c"));
  }
}
