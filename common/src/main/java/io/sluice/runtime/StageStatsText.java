package io.sluice.runtime;

import io.sluice.proto.BatchStats;
import io.sluice.proto.StageStats;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A batch's stages in one line, as {@code sluice status}, {@code sluice checkpoint show} and the
 * AM's status page show them: where a slow batch spent its time, without a profiler.
 */
public final class StageStatsText {
  private StageStatsText() {}

  /**
   * For example: {@code input 612 ms (slowest task m-lines-0: 605 ms); shuffle-3+counts 540 ms
   * (slowest task r-shuffle-3-1: 530 ms)}, or {@code none recorded} for a batch of a version that
   * recorded none.
   */
  public static String describe(List<StageStats> stages) {
    if (stages.isEmpty()) {
      return "none recorded";
    }
    return stages.stream().map(s -> s.getName() + " " + s.getWallMs() + " ms"
        + (s.getSlowestTaskId().isEmpty() ? "" : " (slowest task " + s.getSlowestTaskId() + ": " + s.getSlowestTaskMs()
        + " ms)")).collect(Collectors.joining("; "));
  }

  /**
   * The stages of the newest batch of {@code recent} (oldest first), as {@link #describe} says
   * them; empty when no batch completed.
   */
  public static Optional<String> lastBatch(List<BatchStats> recent) {
    return recent.isEmpty() ? Optional.empty() : Optional.of(describe(recent.get(recent.size() - 1).getStagesList()));
  }
}
