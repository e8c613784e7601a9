package io.sluice.runtime;

import io.sluice.api.SluiceException;
import io.sluice.checkpoint.FingerprintCodec;
import io.sluice.graph.Fingerprint;
import io.sluice.graph.OperatorKind;
import io.sluice.graph.OperatorNode;
import io.sluice.graph.SettingKeys;
import io.sluice.graph.StreamGraph;
import io.sluice.proto.BatchRecord;
import io.sluice.proto.InputDescriptor;
import io.sluice.proto.MetadataCheckpoint;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Whether a graph can resume from a metadata checkpoint: the driver asks at start, and {@code
 * sluice check-upgrade} asks before anything runs.
 */
public final class UpgradeCheck {
  private UpgradeCheck() {}

  /**
   * The stateful operators whose state does not come from {@code checkpoint}: those it has none
   * for, and, for a new submission, those named in {@value SettingKeys#UPGRADE_FRESH_STATE}.
   * Throws when that setting names no stateful operator of either graph.
   */
  public static Set<String> operatorsStartingEmpty(StreamGraph graph, MetadataCheckpoint checkpoint,
      boolean newSubmission) {
    Fingerprint recorded = FingerprintCodec.fromProto(checkpoint.getGraph());
    Set<String> empty = new TreeSet<>(graph.fingerprint().statefulOperatorsNotIn(recorded));
    if (newSubmission) {
      for (String id : graph.settings().get(SettingKeys.UPGRADE_FRESH_STATE).orElse("").split(",")) {
        String trimmed = id.trim();
        if (trimmed.isEmpty()) {
          continue;
        }
        if (!graph.fingerprint().hasStatefulOperator(trimmed) && !recorded.hasStatefulOperator(trimmed)) {
          throw new SluiceException(SettingKeys.UPGRADE_FRESH_STATE + " names " + trimmed
              + ", which is no stateful operator of the application or of the checkpoint");
        }
        empty.add(trimmed);
      }
    }
    return empty;
  }

  /**
   * Why {@code graph} cannot resume from {@code checkpoint}, or empty when it can, with the state
   * of {@code startEmpty} not taken from the checkpoint.
   */
  public static Optional<String> problem(StreamGraph graph, MetadataCheckpoint checkpoint, Set<String> startEmpty) {
    Optional<String> layout = graph.fingerprint().incompatibilityWith(FingerprintCodec.fromProto(checkpoint.getGraph()),
        startEmpty);
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
