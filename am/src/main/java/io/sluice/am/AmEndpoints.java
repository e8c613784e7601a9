package io.sluice.am;

import io.grpc.stub.StreamObserver;
import io.sluice.proto.ControlServiceGrpc;
import io.sluice.proto.DriverServiceGrpc;
import io.sluice.proto.RegisterExecutorRequest;
import io.sluice.proto.RegisterExecutorResponse;
import io.sluice.proto.StatusRequest;
import io.sluice.proto.StatusResponse;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
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
        pool.register(r.getExecutorId(), r.getHost(), r.getPort());
        LOG.info("Executor {} registered from {}:{} ({})", r.getExecutorId(), r.getHost(), r.getPort(), r.getContainerId());
        out.onNext(RegisterExecutorResponse.newBuilder().setEpoch(epoch.getAsLong()).build());
        out.onCompleted();
      }
    };
  }

  static ControlServiceGrpc.ControlServiceImplBase control(AtomicReference<StatusResponse> status) {
    return new ControlServiceGrpc.ControlServiceImplBase() {
      @Override
      public void getStatus(StatusRequest request, StreamObserver<StatusResponse> out) {
        out.onNext(status.get());
        out.onCompleted();
      }
    };
  }
}
