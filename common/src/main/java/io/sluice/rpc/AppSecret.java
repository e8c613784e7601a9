package io.sluice.rpc;

import io.grpc.CallCredentials;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.concurrent.Executor;
import org.apache.hadoop.io.Text;
import org.apache.hadoop.security.Credentials;
import org.apache.hadoop.security.UserGroupInformation;

/**
 * The per-application secret that every RPC presents. The client creates it and ships it to the AM
 * and the executors in their containers' credentials; servers reject a call without it before its
 * payload is read.
 */
public final class AppSecret {
  /** The key of the secret in a container's {@link Credentials}. */
  public static final Text CREDENTIALS_KEY = new Text("sluice.application.secret");

  private static final Metadata.Key<byte[]> HEADER = Metadata.Key.of("sluice-secret-bin", Metadata.BINARY_BYTE_MARSHALLER);
  private static final int BYTES = 32;

  private final byte[] secret;

  private AppSecret(byte[] secret) {
    this.secret = secret.clone();
  }

  public static AppSecret generate(SecureRandom random) {
    byte[] b = new byte[BYTES];
    random.nextBytes(b);
    return new AppSecret(b);
  }

  public static AppSecret of(byte[] secret) {
    return new AppSecret(secret);
  }

  /** The secret in this process's container credentials (the NodeManager's token file). */
  public static AppSecret fromCurrentUser() throws IOException {
    byte[] b = UserGroupInformation.getCurrentUser().getCredentials().getSecretKey(CREDENTIALS_KEY);
    if (b == null) {
      throw new IOException("the container credentials hold no " + CREDENTIALS_KEY + "; was it launched by sluice?");
    }
    return new AppSecret(b);
  }

  public byte[] bytes() {
    return secret.clone();
  }

  public void addTo(Credentials credentials) {
    credentials.addSecretKey(CREDENTIALS_KEY, secret.clone());
  }

  /** Attaches the secret to every call on a stub. */
  public CallCredentials callCredentials() {
    return new CallCredentials() {
      @Override
      public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
        Metadata headers = new Metadata();
        headers.put(HEADER, secret);
        applier.apply(headers);
      }
    };
  }

  /** Closes calls whose header does not carry the secret, before any message is requested or parsed. */
  public ServerInterceptor serverInterceptor() {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        byte[] presented = headers.get(HEADER);
        if (presented == null || !MessageDigest.isEqual(presented, secret)) {
          call.close(Status.UNAUTHENTICATED.withDescription("missing or wrong application secret"), new Metadata());
          return new ServerCall.Listener<>() {};
        }
        return next.startCall(call, headers);
      }
    };
  }
}
