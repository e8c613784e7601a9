package io.sluice.runtime;

import io.sluice.checkpoint.FingerprintCodec;
import io.sluice.graph.OperatorKind;
import io.sluice.graph.OperatorNode;
import io.sluice.graph.StreamGraph;
import io.sluice.proto.BatchRecord;
import io.sluice.proto.InputDescriptor;
import io.sluice.proto.MetadataCheckpoint;
import java.util.Optional;

/**
 * Whether a graph can resume from a metadata checkpoint: the driver asks at start, and {@code
 * sluice check-upgrade} asks before anything runs.
 */
public final class UpgradeCheck {
  private UpgradeCheck() {}

  /** Why {@code graph} cannot resume from {@code checkpoint}, or empty when it can. */
  public static Optional<String> problem(StreamGraph graph, MetadataCheckpoint checkpoint) {
    Optional<String> layout = graph.fingerprint().incompatibilityWith(FingerprintCodec.fromProto(checkpoint.getGraph()));
    if (layout.isPresent()) {
      return layout;
    }
    // Planned batches are re-run with their recorded input, so their sources must still be there.
    for (BatchRecord batch : checkpoint.getPendingBatchesList()) {
      for (InputDescriptor input : batch.getInputsList()) {
        boolean present = graph.nodes().stream().anyMatch(n -> n.id().equals(input.getSourceId())
            && n.kind().role() == OperatorKind.Role.SOURCE && kindMatches(n, input));
        if (!present) {
          return Optional.of("planned batch " + batch.getBatchTimeMs() + " reads source " + input.getSourceId()
              + ", which the new graph does not have (or not of the same kind); keep the source's uid");
        }
      }
    }
    return Optional.empty();
  }

  private static boolean kindMatches(OperatorNode n, InputDescriptor input) {
    return switch (input.getKindCase()) {
      case GENERATOR -> n.kind() == OperatorKind.GENERATOR_SOURCE;
      case FILES -> n.kind() == OperatorKind.FILE_SOURCE;
      default -> false;
    };
  }
}
