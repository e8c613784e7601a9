package io.sluice.runtime;

import io.sluice.proto.MapOutputLocation;
import java.util.List;

/** Reads the map output blocks a reduce task needs, wherever they are held. */
public interface ShuffleFetcher {

  /** One block per map task, across all {@code locations}. */
  List<byte[]> fetch(long batchMs, String nodeId, int partition, List<MapOutputLocation> locations) throws Exception;

  /** A fetcher for a single JVM, where every block is in {@code store}. */
  static ShuffleFetcher local(ShuffleStore store) {
    return (batchMs, nodeId, partition, locations) -> locations.stream()
        .flatMap(l -> store.get(batchMs, nodeId, l.getTaskIdsList(), partition).stream())
        .toList();
  }
}
