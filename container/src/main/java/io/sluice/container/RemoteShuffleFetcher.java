package io.sluice.container;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
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
import java.util.concurrent.ConcurrentHashMap;

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
   * Blocks held here are read in place; those of peers are copied into arrays of this executor's
   * {@link ShuffleBuffers}, which take them back when the input is closed.
   */
  @Override
  public ShuffleInput fetch(long batchMs, String nodeId, int partition, List<MapOutputLocation> locations) {
    List<ShuffleChunk> chunks = new ArrayList<>();
    List<ShuffleInput> held = new ArrayList<>();
    List<byte[]> copies = new ArrayList<>();
    ShuffleBuffers buffers = local.buffers();
    ShuffleInput input = new ShuffleInput(chunks, () -> {
      held.forEach(ShuffleInput::close);
      copies.forEach(buffers::give);
    });
    try {
      for (MapOutputLocation l : locations) {
        if (l.getExecutorAddress().equals(selfAddress)) {
          ShuffleInput own = local.read(batchMs, nodeId, l.getTaskIdsList(), partition);
          held.add(own);
          chunks.addAll(own.chunks());
          continue;
        }
        var stub = ExecutorServiceGrpc.newBlockingStub(channels.computeIfAbsent(l.getExecutorAddress(), RpcChannels::channel))
            .withCallCredentials(secret.callCredentials());
        Iterator<FetchShuffleResponse> responses = stub.fetchShuffle(FetchShuffleRequest.newBuilder()
            .setBatchTimeMs(batchMs).setNodeId(nodeId).setPartition(partition).addAllTaskIds(l.getTaskIdsList()).build());
        while (responses.hasNext()) {
          for (ByteString block : responses.next().getBlocksList()) {
            byte[] copy = buffers.take(block.size());
            copies.add(copy);
            block.copyTo(copy, 0);
            chunks.add(new ShuffleChunk(copy, block.size()));
          }
        }
      }
      return input;
    } catch (RuntimeException e) {
      input.close();
      throw e;
    }
  }

  @Override
  public void close() {
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
