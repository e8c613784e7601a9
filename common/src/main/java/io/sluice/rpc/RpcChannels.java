package io.sluice.rpc;

import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;

/** Builds the gRPC servers and channels Sluice uses, all guarded by the application secret. */
public final class RpcChannels {
  /** Large enough for a batch's shuffle block or collected records. */
  public static final int MAX_MESSAGE_BYTES = 512 * 1024 * 1024;

  private RpcChannels() {}

  /** Starts a server on {@code port} (0 for any) of every interface, each service behind the secret check. */
  public static Server startServer(int port, AppSecret secret, List<BindableService> services) throws IOException {
    NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress(port)).maxInboundMessageSize(MAX_MESSAGE_BYTES);
    for (BindableService s : services) {
      b.addService(ServerInterceptors.intercept(s, secret.serverInterceptor()));
    }
    return b.build().start();
  }

  /** A plaintext channel to {@code host:port}. */
  public static ManagedChannel channel(String hostAndPort) {
    return NettyChannelBuilder.forTarget(hostAndPort).usePlaintext().maxInboundMessageSize(MAX_MESSAGE_BYTES).build();
  }
}
