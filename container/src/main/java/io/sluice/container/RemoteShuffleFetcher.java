package io.sluice.container;

import io.grpc.ManagedChannel;
import io.sluice.proto.ExecutorServiceGrpc;
import io.sluice.proto.FetchShuffleRequest;
import io.sluice.proto.MapOutputLocation;
import io.sluice.rpc.AppSecret;
import io.sluice.rpc.RpcChannels;
import io.sluice.runtime.ShuffleFetcher;
import io.sluice.runtime.ShuffleStore;
import java.util.ArrayList;
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

  @Override
  public List<byte[]> fetch(long batchMs, String nodeId, int partition, List<MapOutputLocation> locations) {
    List<byte[]> blocks = new ArrayList<>();
    for (MapOutputLocation l : locations) {
      if (l.getExecutorAddress().equals(selfAddress)) {
        blocks.addAll(local.get(batchMs, nodeId, l.getTaskIdsList(), partition));
        continue;
      }
      var stub = ExecutorServiceGrpc.newBlockingStub(channels.computeIfAbsent(l.getExecutorAddress(), RpcChannels::channel))
          .withCallCredentials(secret.callCredentials());
      stub.fetchShuffle(FetchShuffleRequest.newBuilder().setBatchTimeMs(batchMs).setNodeId(nodeId)
          .setPartition(partition).addAllTaskIds(l.getTaskIdsList()).build())
          .getBlocksList().forEach(b -> blocks.add(b.toByteArray()));
    }
    return blocks;
  }

  @Override
  public void close() {
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
