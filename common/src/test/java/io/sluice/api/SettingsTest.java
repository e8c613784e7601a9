package io.sluice.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class SettingsTest {
  @Test
  void countsTakeThousandAndMillionSuffixes() {
    Settings s = new Settings(Map.of("a", "200k", "b", "1M", "c", "17"));
    assertThat(s.getLong("a", 0)).isEqualTo(200_000);
    assertThat(s.getLong("b", 0)).isEqualTo(1_000_000);
    assertThat(s.getInt("c", 0)).isEqualTo(17);
    assertThat(s.getInt("missing", 5)).isEqualTo(5);
  }

  @Test
  void booleansAreTrueOrFalseInAnyCase() {
    Settings s = new Settings(Map.of("on", "TRUE", "off", " false"));
    assertThat(s.getBoolean("on", false)).isTrue();
    assertThat(s.getBoolean("off", true)).isFalse();
    assertThat(s.getBoolean("missing", true)).isTrue();
  }

  @Test
  void aMalformedValueNamesTheSetting() {
    Settings s = new Settings(Map.of("flag", "yes", "count", "ten"));
    assertThatThrownBy(() -> s.getBoolean("flag", false)).isInstanceOf(SluiceException.class)
        .hasMessage("setting flag=yes is neither true nor false");
    assertThatThrownBy(() -> s.getLong("count", 0))
        .hasMessage("setting count=ten is not a whole number (examples: 500, 200k, 1M)");
  }
}
