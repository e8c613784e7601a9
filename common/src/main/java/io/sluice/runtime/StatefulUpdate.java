package io.sluice.runtime;

import io.sluice.api.Codec;
import io.sluice.api.Codecs;
import io.sluice.api.Functions.UpdateFunction;
import io.sluice.api.Pair;
import io.sluice.codec.RecordCodecs;
import io.sluice.graph.OperatorNode;
import io.sluice.proto.SnapshotWritten;
import io.sluice.proto.StateAccess;
import io.sluice.state.PartitionState;
import io.sluice.state.SnapshotFiles;
import io.sluice.state.StateStores;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * The reduce side of {@code updateStateByKey}, in its own reduce task or inside the reduce task of
 * its parent shuffle: brings the partition's state to the version the driver expects (undoing a
 * batch that never completed, or restoring it from snapshots when this JVM does not hold it),
 * calls the update function for the batch's keys only, snapshots when asked, and emits every
 * key's state.
 */
final class StatefulUpdate {
  private final OperatorNode node;
  private final ShuffleOperator shuffle;
  private final Codec<Object> stateCodec;

  @SuppressWarnings("unchecked")
  StatefulUpdate(OperatorNode node) {
    this.node = node;
    this.shuffle = new ShuffleOperator(node);
    Codec<?> own = node.codec();
    this.stateCodec = own instanceof Codecs.PairCodec<?, ?> pc ? (Codec<Object>) pc.values() : Codecs.auto();
  }

  /** The batch's values per encoded key, from the shuffle blocks of the map tasks. */
  Map<ByteBuffer, Object> merge(List<byte[]> blocks) throws Exception {
    return shuffle.merge(blocks);
  }

  /** The encoded form of a key, as the shuffle and the state partition know it. */
  ByteBuffer encodeKey(Object key) {
    return ByteBuffer.wrap(RecordCodecs.encode(shuffle.keyCodec(), key, node.id()));
  }

  /**
   * Runs the update with the batch's values per key ({@code batchValues}: encoded key to a list of
   * values); returns the snapshot written, if one was asked for.
   */
  @SuppressWarnings("unchecked")
  Optional<SnapshotWritten> run(Map<ByteBuffer, Object> batchValues, int partition, long batchMs, StateAccess access,
      StateStores stores, Configuration conf, Emitter out) throws Exception {
    PartitionState state = stores.partition(node.id(), partition);
    synchronized (state) {
      ensureVersion(state, partition, access, conf);
      state.beginUpdate();
      UpdateFunction<Object, Object> f = (UpdateFunction<Object, Object>) node.function();
      for (Map.Entry<ByteBuffer, Object> e : batchValues.entrySet()) {
        PartitionState.Entry old = state.get(e.getKey());
        Object key = old != null ? old.key() : RecordCodecs.decode(shuffle.keyCodec(), e.getKey().array());
        Optional<Object> updated = f.apply((List<Object>) e.getValue(),
            old == null ? Optional.empty() : Optional.of(old.state()));
        if (updated.isPresent()) {
          state.put(e.getKey(), key, updated.get());
        } else {
          state.remove(e.getKey());
        }
      }
      state.setVersionMs(batchMs);
      Optional<SnapshotWritten> snapshot = Optional.empty();
      if (!access.getSnapshotPath().isEmpty()) {
        SnapshotFiles.Written w = SnapshotFiles.write(state, access.getFullSnapshot(), batchMs, stateCodec,
            new Path(access.getSnapshotPath()), conf, node.id());
        snapshot = Optional.of(SnapshotWritten.newBuilder().setNodeId(node.id()).setPartition(partition)
            .setPath(access.getSnapshotPath()).setFull(access.getFullSnapshot()).setBytes(w.bytes()).setKeys(w.keys())
            .build());
      }
      for (PartitionState.Entry e : state.entries().values()) {
        out.emit(Pair.of(e.key(), e.state()));
      }
      out.finish();
      return snapshot;
    }
  }

  private void ensureVersion(PartitionState state, int partition, StateAccess access, Configuration conf)
      throws Exception {
    if (state.versionMs() == access.getBaseBatchMs()) {
      return;
    }
    if (state.undoableToMs() == access.getBaseBatchMs()) {
      // A batch that never completed ran here under an earlier driver.
      state.rollBack();
      return;
    }
    if (access.getRestoreFilesCount() == 0) {
      if (access.getBaseBatchMs() != 0) {
        throw new IllegalStateException("state of " + node.id() + " partition " + partition + " is at batch "
            + state.versionMs() + " but the batch needs it at " + access.getBaseBatchMs() + " and there is no snapshot");
      }
      state.clear();
      return;
    }
    long restored = SnapshotFiles.restore(state, access.getRestoreFilesList(), shuffle.keyCodec(), stateCodec, conf);
    if (restored != access.getBaseBatchMs()) {
      throw new IllegalStateException("the snapshot of " + node.id() + " partition " + partition + " holds batch "
          + restored + " but the batch needs the state at " + access.getBaseBatchMs());
    }
  }
}
