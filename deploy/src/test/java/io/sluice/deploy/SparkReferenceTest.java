package io.sluice.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.api.SluiceException;
import java.nio.file.Path;
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
  void anUnbuiltReferenceSaysHowToBuildIt() {
    assertThatThrownBy(() -> SparkReference.of(deploy.toString())).isInstanceOf(SluiceException.class)
        .hasMessage("--spark-reference: the Spark reference is not built; run 'mvn -B -Pspark-reference package "
            + "-DskipTests' in " + deploy.getParent() + " first");
  }
}
