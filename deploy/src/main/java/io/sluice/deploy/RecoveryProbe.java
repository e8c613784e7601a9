package io.sluice.deploy;

import io.sluice.checkpoint.MetadataStore;
import io.sluice.proto.BatchStats;
import io.sluice.proto.MetadataCheckpoint;
import java.io.IOException;
import java.util.Optional;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Tells from a job's metadata checkpoint when a driver that replaced a killed one completed its
 * first batch. The epoch recorded with each batch says which driver completed it, so a batch the
 * killed driver committed just before the kill is never taken for the new driver's, as it can be
 * by a client that only watches the output directory.
 */
final class RecoveryProbe {
  private final MetadataStore store;

  RecoveryProbe(FileSystem fs, String checkpointDir) {
    this.store = new MetadataStore(fs, new Path(checkpointDir), 10);
  }

  /** The epoch of the driver that wrote the newest valid metadata; 0 before any. */
  long currentEpoch() throws IOException {
    return newest().map(MetadataCheckpoint::getEpoch).orElse(0L);
  }

  /** The first batch completed by a driver of an epoch after {@code killedEpoch}, once there is one. */
  Optional<BatchStats> firstBatchAfter(long killedEpoch) throws IOException {
    return newest().flatMap(cp -> cp.getRecentBatchesList().stream().filter(b -> b.getEpoch() > killedEpoch).findFirst());
  }

  /** When a batch's output was committed, by the AM's clock: its time, then its scheduling delay and processing. */
  static long completedAtMs(BatchStats batch) {
    return batch.getBatchTimeMs() + batch.getSchedulingDelayMs() + batch.getProcessingMs();
  }

  /** The newest valid metadata checkpoint, if one was written. */
  Optional<MetadataCheckpoint> newest() throws IOException {
    return store.readNewestValid(warning -> { }).map(MetadataStore.Loaded::checkpoint);
  }
}
