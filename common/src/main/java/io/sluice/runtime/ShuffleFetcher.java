package io.sluice.runtime;

import io.sluice.proto.MapOutputLocation;
import java.util.List;

/** Reads the map output blocks a reduce task needs, wherever they are held. */
public interface ShuffleFetcher {

  /** The blocks of every map task across all {@code locations}, held until the input is closed. */
  ShuffleInput fetch(long batchMs, String nodeId, int partition, List<MapOutputLocation> locations) throws Exception;

  /** A fetcher for a single JVM, where every block is in {@code store}. */
  static ShuffleFetcher local(ShuffleStore store) {
    return (batchMs, nodeId, partition, locations) -> store.read(batchMs, nodeId,
        locations.stream().flatMap(l -> l.getTaskIdsList().stream()).toList(), partition);
  }
}
