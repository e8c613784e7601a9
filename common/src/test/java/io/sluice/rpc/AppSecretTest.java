package io.sluice.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.sluice.proto.ControlServiceGrpc;
import io.sluice.proto.StatusRequest;
import io.sluice.proto.StatusResponse;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.security.Credentials;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class AppSecretTest {
  private static final AppSecret SECRET = AppSecret.generate(new SecureRandom());
  private static final AtomicInteger HANDLED = new AtomicInteger();
  private static Server server;
  private static ManagedChannel channel;

  @BeforeAll
  static void startServer() throws Exception {
    server = RpcChannels.startServer(0, SECRET, List.of(new ControlServiceGrpc.ControlServiceImplBase() {
      @Override
      public void getStatus(StatusRequest request, StreamObserver<StatusResponse> out) {
        HANDLED.incrementAndGet();
        out.onNext(StatusResponse.newBuilder().setState("RUNNING").build());
        out.onCompleted();
      }
    }));
    channel = RpcChannels.channel("localhost:" + server.getPort());
  }

  @AfterAll
  static void stopServer() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  @Test
  void callWithoutTheSecretIsRejectedBeforeTheServiceSeesIt() {
    int before = HANDLED.get();
    assertThatThrownBy(() -> ControlServiceGrpc.newBlockingStub(channel).getStatus(StatusRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
    assertThat(HANDLED.get()).isEqualTo(before);
  }

  @Test
  void callWithAWrongSecretIsRejected() {
    var stub = ControlServiceGrpc.newBlockingStub(channel)
        .withCallCredentials(AppSecret.generate(new SecureRandom()).callCredentials());
    assertThatThrownBy(() -> stub.getStatus(StatusRequest.getDefaultInstance()))
        .hasMessageContaining("UNAUTHENTICATED").hasMessageContaining("application secret");
  }

  @Test
  void callWithTheSecretIsServed() {
    var stub = ControlServiceGrpc.newBlockingStub(channel).withCallCredentials(SECRET.callCredentials());
    assertThat(stub.getStatus(StatusRequest.getDefaultInstance()).getState()).isEqualTo("RUNNING");
  }

  @Test
  void travelsInHadoopCredentials() {
    Credentials c = new Credentials();
    SECRET.addTo(c);
    assertThat(c.getSecretKey(AppSecret.CREDENTIALS_KEY)).isEqualTo(SECRET.bytes());
  }
}
