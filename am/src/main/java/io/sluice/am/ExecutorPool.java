package io.sluice.am;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.sluice.proto.ExecutorDirectory;
import io.sluice.proto.ExecutorServiceGrpc;
import io.sluice.proto.HeldState;
import io.sluice.proto.RegisterExecutorRequest;
import io.sluice.proto.ReleaseBatchRequest;
import io.sluice.rpc.AppSecret;
import io.sluice.rpc.RpcChannels;
import io.sluice.runtime.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The job's executors by slot: state partition {@code p} lives in slot {@code p mod count}, so an
 * executor adopted from an earlier attempt keeps its slot and a replacement takes the free one.
 * Written by RPC threads (registrations) and the driver thread (adoptions), read by the driver.
 */
final class ExecutorPool implements AutoCloseable {

  /** An executor, how it registered, the state it held when adopted, and the stub that reaches it. */
  record Executor(RegisterExecutorRequest registration, List<HeldState> held, ManagedChannel channel,
      ExecutorServiceGrpc.ExecutorServiceFutureStub stub) {
    String id() {
      return registration.getExecutorId();
    }

    String address() {
      return registration.getHost() + ":" + registration.getPort();
    }
  }

  private final AppSecret secret;
  private final Consumer<ExecutorDirectory> onChange;
  private final Object lock = new Object();

  @GuardedBy("lock")
  private final Executor[] slots;

  /** {@code onChange} receives every new set of executors, so the next attempt can find them. */
  ExecutorPool(AppSecret secret, int count, Consumer<ExecutorDirectory> onChange) {
    this.secret = secret;
    this.slots = new Executor[count];
    this.onChange = onChange;
  }

  /** An executor this attempt launched has registered. */
  void register(RegisterExecutorRequest r) {
    put(r, List.of(), RpcChannels.channel(r.getHost() + ":" + r.getPort()));
  }

  /** An executor of an earlier attempt was adopted over {@code channel}, holding {@code held}. */
  void adopted(RegisterExecutorRequest r, List<HeldState> held, ManagedChannel channel) {
    put(r, List.copyOf(held), channel);
  }

  private void put(RegisterExecutorRequest r, List<HeldState> held, ManagedChannel channel) {
    if (r.getSlot() < 0 || r.getSlot() >= slots.length) {
      channel.shutdownNow();
      throw new IllegalArgumentException("executor " + r.getExecutorId() + " has slot " + r.getSlot() + " of "
          + slots.length);
    }
    Executor e = new Executor(r, held, channel,
        ExecutorServiceGrpc.newFutureStub(channel).withCallCredentials(secret.callCredentials()));
    synchronized (lock) {
      Executor old = slots[r.getSlot()];
      if (old != null) {
        old.channel().shutdownNow();
      }
      slots[r.getSlot()] = e;
      // Under the lock, so that of two registrations at once the later directory is the one kept.
      onChange.accept(directory());
      lock.notifyAll();
    }
  }

  @GuardedBy("lock")
  private ExecutorDirectory directory() {
    ExecutorDirectory.Builder d = ExecutorDirectory.newBuilder();
    Arrays.stream(slots).filter(Objects::nonNull).forEach(e -> d.addExecutors(e.registration()));
    return d.build();
  }

  /**
   * Empties the slots of executors that do not answer within {@code timeoutMs} or are in {@code
   * alsoDrop}, and forgets what adopted executors held (after a failed batch it is no longer
   * known); returns the registrations of the executors dropped.
   */
  List<RegisterExecutorRequest> dropUnreachable(long timeoutMs, Set<Integer> alsoDrop) {
    List<Integer> lost = new ArrayList<>(alsoDrop);
    List<RegisterExecutorRequest> dropped = new ArrayList<>();
    for (Executor e : snapshot()) {
      if (lost.contains(e.registration().getSlot())) {
        continue;
      }
      try {
        ExecutorServiceGrpc.newBlockingStub(e.channel()).withCallCredentials(secret.callCredentials())
            .withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS)
            .releaseBatch(ReleaseBatchRequest.newBuilder().setBatchTimeMs(0).build());
      } catch (StatusRuntimeException unreachable) {
        lost.add(e.registration().getSlot());
      }
    }
    synchronized (lock) {
      for (int i = 0; i < slots.length; i++) {
        Executor e = slots[i];
        if (e == null) {
          continue;
        }
        if (lost.contains(i)) {
          e.channel().shutdownNow();
          dropped.add(e.registration());
          slots[i] = null;
        } else if (!e.held().isEmpty()) {
          slots[i] = new Executor(e.registration(), List.of(), e.channel(), e.stub());
        }
      }
    }
    return dropped;
  }

  /** Empties the slot of the executor in container {@code containerId}, if one holds it; returns that slot. */
  Optional<RegisterExecutorRequest> dropContainer(String containerId) {
    synchronized (lock) {
      for (int i = 0; i < slots.length; i++) {
        Executor e = slots[i];
        if (e != null && e.registration().getContainerId().equals(containerId)) {
          e.channel().shutdownNow();
          slots[i] = null;
          return Optional.of(e.registration());
        }
      }
      return Optional.empty();
    }
  }

  /**
   * The executors in slot order, one for every slot; fails when a slot has none, as a task placed
   * on its slot's executor would otherwise run on another.
   */
  List<Executor> everySlot() throws ExecutorMissingException {
    synchronized (lock) {
      for (int i = 0; i < slots.length; i++) {
        if (slots[i] == null) {
          throw new ExecutorMissingException("the executor of slot " + i + " ended; its replacement is starting");
        }
      }
      return List.of(slots);
    }
  }

  /** A batch's tasks cannot run: a slot's executor ended and its replacement has not registered yet. */
  static final class ExecutorMissingException extends Exception {
    private static final long serialVersionUID = 1L;

    ExecutorMissingException(String message) {
      super(message);
    }
  }

  /** The slots no executor holds yet. */
  List<Integer> freeSlots() {
    synchronized (lock) {
      List<Integer> free = new ArrayList<>();
      for (int i = 0; i < slots.length; i++) {
        if (slots[i] == null) {
          free.add(i);
        }
      }
      return free;
    }
  }

  /** The executors in slot order; complete once {@link #awaitRegistered} has returned. */
  List<Executor> snapshot() {
    synchronized (lock) {
      return Arrays.stream(slots).filter(Objects::nonNull).toList();
    }
  }

  /**
   * Whether the executor where {@code partition} runs was adopted holding it at batch
   * {@code versionMs}, or one uncompleted batch ahead that it can undo.
   */
  boolean holds(String nodeId, int partition, long versionMs) {
    synchronized (lock) {
      Executor e = slots[partition % slots.length];
      return e != null && e.held().stream().anyMatch(h -> h.getNodeId().equals(nodeId)
          && h.getPartition() == partition
          && (h.getVersionMs() == versionMs || h.hasUndoableToMs() && h.getUndoableToMs() == versionMs));
    }
  }

  /** Waits until every slot has an executor, for at most {@code timeoutMs} of {@code clock}. */
  void awaitRegistered(long timeoutMs, Clock clock) throws InterruptedException, TimeoutException {
    long deadline = clock.monotonicNanos() + timeoutMs * 1_000_000L;
    synchronized (lock) {
      long registered;
      while ((registered = Arrays.stream(slots).filter(Objects::nonNull).count()) < slots.length) {
        long leftMs = (deadline - clock.monotonicNanos()) / 1_000_000L;
        if (leftMs <= 0) {
          throw new TimeoutException(registered + " of " + slots.length + " executors registered within " + timeoutMs
              + " ms; is the cluster short of memory or cores for --executor-memory/--executor-cores?");
        }
        lock.wait(leftMs);
      }
    }
  }

  @Override
  public void close() {
    snapshot().forEach(e -> e.channel().shutdownNow());
  }
}
