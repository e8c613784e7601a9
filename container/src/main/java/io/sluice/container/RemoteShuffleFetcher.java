package io.sluice.container;

import com.google.protobuf.ByteString;
import com.google.common.collect.AbstractIterator;
import com.google.common.collect.Iterables;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.sluice.proto.ExecutorServiceGrpc;
import io.sluice.proto.FetchShuffleRequest;
import io.sluice.proto.FetchShuffleResponse;
import io.sluice.proto.MapOutputLocation;
import io.sluice.rpc.AppSecret;
import io.sluice.rpc.RpcChannels;
import io.sluice.runtime.ShuffleBuffers;
import io.sluice.runtime.ShuffleChunk;
import io.sluice.runtime.ShuffleFetcher;
import io.sluice.runtime.ShuffleInput;
import io.sluice.runtime.ShuffleStore;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;

/** Reads map output from this executor's own store, or over RPC from the peer that holds it. */
final class RemoteShuffleFetcher implements ShuffleFetcher, AutoCloseable {
  private final ShuffleStore local;
  private final AppSecret secret;
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

  /** Set once the executor's server is bound; blocks held here are read without RPC. */
  private volatile String selfAddress = "";

  RemoteShuffleFetcher(ShuffleStore local, AppSecret secret) {
    this.local = local;
    this.secret = secret;
  }

  void servingAt(String address) {
    selfAddress = address;
  }

  /**
   * Blocks held here are read in place; each peer's fetch starts at once and streams its chunks in,
   * copied as they arrive into arrays of this executor's {@link ShuffleBuffers}, which take them
   * back when the input is closed. The chunks are read in the order of {@code locations}, as they
   * arrive: reading a peer's first chunks overlaps with the transfer of the rest.
   */
  @Override
  public ShuffleInput fetch(long batchMs, String nodeId, int partition, List<MapOutputLocation> locations) {
    List<Iterable<ShuffleChunk>> inOrder = new ArrayList<>();
    List<ShuffleInput> held = new ArrayList<>();
    List<PeerBlocks> fromPeers = new ArrayList<>();
    ShuffleInput input = new ShuffleInput(Iterables.concat(inOrder), () -> {
      held.forEach(ShuffleInput::close);
      fromPeers.forEach(PeerBlocks::close);
    });
    try {
      for (MapOutputLocation l : locations) {
        if (l.getExecutorAddress().equals(selfAddress)) {
          ShuffleInput own = local.read(batchMs, nodeId, l.getTaskIdsList(), partition);
          held.add(own);
          inOrder.add(own.chunks());
          continue;
        }
        PeerBlocks blocks = new PeerBlocks(local.buffers());
        fromPeers.add(blocks);
        inOrder.add(blocks);
        ExecutorServiceGrpc.newStub(channels.computeIfAbsent(l.getExecutorAddress(), RpcChannels::channel))
            .withCallCredentials(secret.callCredentials())
            .fetchShuffle(FetchShuffleRequest.newBuilder().setBatchTimeMs(batchMs).setNodeId(nodeId)
                .setPartition(partition).addAllTaskIds(l.getTaskIdsList()).build(), blocks);
      }
      return input;
    } catch (RuntimeException e) {
      input.close();
      throw e;
    }
  }

  /**
   * The chunks of one peer's fetch, in the order they arrive, iterated once; the iteration waits
   * for chunks still on their way and throws if the fetch failed. gRPC's threads deliver them.
   */
  private static final class PeerBlocks
      implements Iterable<ShuffleChunk>, ClientResponseObserver<FetchShuffleRequest, FetchShuffleResponse> {
    /** Ends the stream of arrivals when the fetch is complete. */
    private static final Object END = new Object();

    private final ShuffleBuffers buffers;
    /** Chunks, then {@link #END} or the fetch's failure. */
    private final BlockingQueue<Object> arrivals = new LinkedBlockingQueue<>();
    @GuardedBy("this")
    private final List<byte[]> copies = new ArrayList<>();
    @GuardedBy("this")
    private boolean closed;
    private volatile ClientCallStreamObserver<FetchShuffleRequest> call;

    PeerBlocks(ShuffleBuffers buffers) {
      this.buffers = buffers;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<FetchShuffleRequest> requestStream) {
      call = requestStream;
    }

    @Override
    public void onNext(FetchShuffleResponse response) {
      for (ByteString block : response.getBlocksList()) {
        byte[] copy;
        // Under the lock: close() must not give back an array still being written.
        synchronized (this) {
          if (closed) {
            return;
          }
          copy = buffers.take(block.size());
          copies.add(copy);
          block.copyTo(copy, 0);
        }
        arrivals.add(new ShuffleChunk(copy, block.size()));
      }
    }

    @Override
    public void onError(Throwable t) {
      arrivals.add(t);
    }

    @Override
    public void onCompleted() {
      arrivals.add(END);
    }

    @Override
    public Iterator<ShuffleChunk> iterator() {
      return new AbstractIterator<>() {
        @Override
        protected ShuffleChunk computeNext() {
          Object next;
          try {
            next = arrivals.take();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while fetching shuffle blocks", e);
          }
          if (next == END) {
            return endOfData();
          }
          if (next instanceof Throwable t) {
            throw Status.fromThrowable(t).withCause(t).asRuntimeException();
          }
          return (ShuffleChunk) next;
        }
      };
    }

    /** Cancels the fetch if it is still running and gives the arrays back. */
    void close() {
      synchronized (this) {
        closed = true;
        copies.forEach(buffers::give);
        copies.clear();
      }
      if (call != null) {
        call.cancel("the reduce task is done with its input", null);
      }
    }
  }

  @Override
  public void close() {
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
