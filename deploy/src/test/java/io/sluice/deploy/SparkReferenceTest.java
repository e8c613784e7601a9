package io.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.api.SluiceException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SparkReferenceTest {
  @TempDir Path deploy;

  @Test
  void readsTheRowTheReferencePrints() {
    SparkReference.Row row = SparkReference.parseRow("| Spark Streaming | 10000 | 1000000 | A | 2621 ms | 3191 ms "
        + "| 2626 ms | 69608 ms | 3.8M | no | 0.6 MiB | 10000 | held |");
    assertThat(row).isEqualTo(new SparkReference.Row(2621, 3191, 69608, "held"));
  }

  @Test
  void aRowOfAnotherShapeIsAnErrorThatShowsIt() {
    assertThatThrownBy(() -> SparkReference.parseRow("| Spark Streaming | 10000 | 1000000 | A | 2.6 s |"))
        .isInstanceOf(SluiceException.class).hasMessageContaining("does not read: | Spark Streaming | 10000");
    assertThatThrownBy(() -> SparkReference.parseRow("| Spark Streaming | 10000 | 1000000 | A | 2.6 s | 3191 ms "
        + "| 2626 ms | 69608 ms | 3.8M | no | 0.6 MiB | 10000 | held |"))
        .isInstanceOf(SluiceException.class).hasMessage("spark-reference printed 2.6 s where a time in ms belongs");
  }

  @Test
  void outputsAcrossARecoveryNameTheBatchesRepeatedAndLost() {
    assertThat(SparkReference.describeOutputs(List.of(output(0, "held"), "batch 1 of 9: 80 ms", output(1, "held"),
        output(2, "held"), output(2, "held"), output(3, "held"))))
        .isEqualTo("batch 2 repeated, none lost, invariant held");
    assertThat(SparkReference.describeOutputs(List.of(output(0, "held"), output(3, "held"), output(1, "VIOLATED"))))
        .isEqualTo("none repeated, batch 2 lost, invariant VIOLATED");
    assertThat(SparkReference.describeOutputs(List.of(output(0, "held"), output(1, "held"))))
        .isEqualTo("none repeated, none lost, invariant held");
  }

  /** A line as the reference's output prints it. */
  private static String output(long batch, String invariant) {
    return "output batch=" + batch + " keys=10000 total=" + 10 * 50_000 * (batch + 1) + " invariant " + invariant;
  }

  @Test
  void anUnbuiltReferenceSaysHowToBuildIt() {
    assertThatThrownBy(() -> SparkReference.of(deploy.toString())).isInstanceOf(SluiceException.class)
        .hasMessage("--spark-reference: the Spark reference is not built; run 'mvn -B -Pspark-reference package "
            + "-DskipTests' in " + deploy.getParent() + " first");
  }
}
