package io.sluice.deploy;

import io.sluice.proto.AccumulatorValue;
import io.sluice.proto.BatchRecord;
import io.sluice.proto.BatchStats;
import io.sluice.proto.InputDescriptor;
import io.sluice.proto.MetadataCheckpoint;
import io.sluice.proto.OperatorSignature;
import io.sluice.proto.SourceState;
import io.sluice.runtime.StageStatsText;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.List;

/** Prints a metadata checkpoint for operators: what ran, how long it took, what is pending, which graph wrote it. */
final class CheckpointPrinter {
  /** The newest batches printed from the ones the metadata keeps. */
  private static final int RECENT_PRINTED = 5;

  private CheckpointPrinter() {}

  static void print(String file, MetadataCheckpoint cp, PrintWriter out) {
    out.printf("file           %s%n", file);
    out.printf("application    %s (%s)%n", cp.getApplicationId(), cp.getAppClass());
    out.printf("epoch          %d%n", cp.getEpoch());
    out.printf("sequence       %d, written %s%n", cp.getSequence(), Instant.ofEpochMilli(cp.getWrittenAtMs()));
    out.printf("start time     %d (%s), batch interval %d ms%n", cp.getStartTimeMs(),
        Instant.ofEpochMilli(cp.getStartTimeMs()), cp.getBatchIntervalMs());
    out.printf("completed      %d batches, last %s%n", cp.getBatchesCompleted(),
        cp.getLastCompletedBatchMs() == 0 ? "none" : cp.getLastCompletedBatchMs() + " ("
            + Instant.ofEpochMilli(cp.getLastCompletedBatchMs()) + ")");
    List<BatchStats> recent = cp.getRecentBatchesList();
    for (BatchStats b : recent.subList(Math.max(0, recent.size() - RECENT_PRINTED), recent.size())) {
      out.printf("  batch %d: processing %d ms, scheduling delay %d ms, epoch %d%s%n", b.getBatchTimeMs(),
          b.getProcessingMs(), b.getSchedulingDelayMs(), b.getEpoch(), b.getSnapshotTaken() ? ", took a snapshot" : "");
      if (b.getStagesCount() > 0) {
        out.printf("    stages: %s%n", StageStatsText.describe(b.getStagesList()));
      }
    }
    out.printf("pending        %d batches%n", cp.getPendingBatchesCount());
    for (BatchRecord b : cp.getPendingBatchesList()) {
      out.printf("  batch %d, planned by epoch %d%n", b.getBatchTimeMs(), b.getEpoch());
      for (InputDescriptor in : b.getInputsList()) {
        out.printf("    %s: %s%n", in.getSourceId(), describe(in));
      }
    }
    for (AccumulatorValue a : cp.getAccumulatorsList()) {
      out.printf("accumulator    %s = %s%n", a.getName(),
          a.hasDoubleValue() ? Double.toString(a.getDoubleValue()) : Long.toString(a.getLongValue()));
    }
    for (SourceState s : cp.getSourcesList()) {
      out.printf("source         %s: %d files consumed%n", s.getSourceId(), s.getConsumedFilesCount());
    }
    out.printf("graph          sha256 %s, %d operators%n", cp.getGraph().getDigest(), cp.getGraph().getOperatorsCount());
    for (OperatorSignature op : cp.getGraph().getOperatorsList()) {
      out.printf("  %-24s %s%n", op.getId(), op.getDescription());
    }
  }

  private static String describe(InputDescriptor in) {
    return switch (in.getKindCase()) {
      case GENERATOR -> "generator batch " + in.getGenerator().getBatchIndex() + ", " + in.getGenerator().getLines()
          + " lines, " + in.getGenerator().getVocabulary() + " words, " + in.getGenerator().getPartitions() + " partitions";
      case FILES -> in.getFiles().getPathsCount() + " files " + in.getFiles().getPathsList();
      default -> "unknown input";
    };
  }
}
