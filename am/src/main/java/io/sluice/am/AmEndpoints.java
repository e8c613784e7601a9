package io.sluice.am;

import io.grpc.stub.StreamObserver;
import io.sluice.proto.ControlServiceGrpc;
import io.sluice.proto.DriverServiceGrpc;
import io.sluice.proto.RegisterExecutorRequest;
import io.sluice.proto.RegisterExecutorResponse;
import io.sluice.proto.StatusRequest;
import io.sluice.proto.StatusResponse;
import io.sluice.proto.StopRequest;
import io.sluice.proto.StopResponse;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The AM's RPC services: executor registration and the operators' status calls. */
final class AmEndpoints {
  private static final Logger LOG = LoggerFactory.getLogger(AmEndpoints.class);

  private AmEndpoints() {}

  static DriverServiceGrpc.DriverServiceImplBase driver(ExecutorPool pool, LongSupplier epoch) {
    return new DriverServiceGrpc.DriverServiceImplBase() {
      @Override
      public void registerExecutor(RegisterExecutorRequest r, StreamObserver<RegisterExecutorResponse> out) {
        pool.register(r);
        LOG.info("Executor {} registered from {}:{} ({}, slot {})", r.getExecutorId(), r.getHost(), r.getPort(),
            r.getContainerId(), r.getSlot());
        out.onNext(RegisterExecutorResponse.newBuilder().setEpoch(epoch.getAsLong()).build());
        out.onCompleted();
      }
    };
  }

  /** How an operator asked the driver to stop. */
  enum StopMode {
    NONE,
    /** After the running batch; planned batches stay in the checkpoint for the next run. */
    IMMEDIATE,
    /** After every planned batch is committed. */
    GRACEFUL
  }

  /** Records a stop request: an immediate stop overrides a graceful one still draining, never the other way round. */
  static void requestStop(AtomicReference<StopMode> stop, StopMode mode) {
    stop.accumulateAndGet(mode, (old, asked) -> old == StopMode.IMMEDIATE ? old : asked);
  }

  static ControlServiceGrpc.ControlServiceImplBase control(Supplier<StatusResponse> status,
      AtomicReference<StopMode> stop) {
    return new ControlServiceGrpc.ControlServiceImplBase() {
      @Override
      public void getStatus(StatusRequest request, StreamObserver<StatusResponse> out) {
        out.onNext(status.get());
        out.onCompleted();
      }

      @Override
      public void stop(StopRequest request, StreamObserver<StopResponse> out) {
        StopMode mode = request.getGraceful() ? StopMode.GRACEFUL : StopMode.IMMEDIATE;
        requestStop(stop, mode);
        LOG.info("Stop requested ({})", mode);
        out.onNext(StopResponse.getDefaultInstance());
        out.onCompleted();
      }
    };
  }
}
