package io.sluice.am;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.ManagedChannel;
import io.sluice.proto.ExecutorServiceGrpc;
import io.sluice.rpc.AppSecret;
import io.sluice.rpc.RpcChannels;
import io.sluice.runtime.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;

/** The executors registered with this AM. Written by RPC threads, read by the driver thread. */
final class ExecutorPool implements AutoCloseable {

  /** A registered executor and the stub that reaches it. */
  record Executor(String id, String address, ManagedChannel channel, ExecutorServiceGrpc.ExecutorServiceFutureStub stub) {}

  private final AppSecret secret;
  private final Object lock = new Object();

  @GuardedBy("lock")
  private final List<Executor> executors = new ArrayList<>();

  ExecutorPool(AppSecret secret) {
    this.secret = secret;
  }

  void register(String id, String host, int port) {
    String address = host + ":" + port;
    ManagedChannel channel = RpcChannels.channel(address);
    Executor e = new Executor(id, address, channel,
        ExecutorServiceGrpc.newFutureStub(channel).withCallCredentials(secret.callCredentials()));
    synchronized (lock) {
      executors.add(e);
      lock.notifyAll();
    }
  }

  List<Executor> snapshot() {
    synchronized (lock) {
      return List.copyOf(executors);
    }
  }

  /** Waits until {@code count} executors have registered, for at most {@code timeoutMs} of {@code clock}. */
  void awaitRegistered(int count, long timeoutMs, Clock clock) throws InterruptedException, TimeoutException {
    long deadline = clock.monotonicNanos() + timeoutMs * 1_000_000L;
    synchronized (lock) {
      while (executors.size() < count) {
        long leftMs = (deadline - clock.monotonicNanos()) / 1_000_000L;
        if (leftMs <= 0) {
          throw new TimeoutException(executors.size() + " of " + count + " executors registered within " + timeoutMs
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
