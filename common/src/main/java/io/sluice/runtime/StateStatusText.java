package io.sluice.runtime;

import io.sluice.proto.StateOperatorStatus;

/** A stateful operator's status in one line, as {@code sluice status} and the AM's status page show it. */
public final class StateStatusText {
  private StateStatusText() {}

  /**
   * For example: {@code 1000000 keys in 2 partitions, 400000 changed by the last batch; restorable
   * from the snapshot of batch 1700000010000 (3 files, 1400000 keys)}.
   */
  public static String describe(StateOperatorStatus s) {
    String size = s.getKeys() + " keys in " + s.getPartitions() + " partitions, " + s.getChangedKeys()
        + " changed by the last batch; ";
    if (s.getSnapshotBatchMs() == 0) {
      return size + "no snapshot recorded yet (a restart replays every batch)";
    }
    return size + "restorable from the snapshot of batch " + s.getSnapshotBatchMs() + " (" + s.getSnapshotFiles()
        + " files, " + s.getSnapshotKeys() + " keys)";
  }
}
