package io.sluice.api;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A length of time with millisecond precision. */
public record Duration(long millis) implements Comparable<Duration> {
  private static final Pattern FORMAT = Pattern.compile("(\\d+)\\s*(ms|s|m|min|h)?");

  public Duration {
    if (millis < 0) {
      throw new SluiceException("a duration cannot be negative: " + millis + " ms");
    }
  }

  public static Duration ofMillis(long millis) {
    return new Duration(millis);
  }

  public static Duration ofSeconds(long seconds) {
    return new Duration(Math.multiplyExact(seconds, 1000L));
  }

  public static Duration ofMinutes(long minutes) {
    return new Duration(Math.multiplyExact(minutes, 60_000L));
  }

  /** Parses {@code 500ms}, {@code 2s}, {@code 5m}, {@code 1h}, or a plain number of milliseconds. */
  public static Duration parse(String what, String text) {
    Matcher m = FORMAT.matcher(text.trim());
    if (!m.matches()) {
      throw new SluiceException(what + "=" + text + " is not a duration (examples: 500ms, 2s, 5m, 1h)");
    }
    long amount = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "ms" : m.group(2);
    long factor = switch (unit) {
      case "ms" -> 1L;
      case "s" -> 1_000L;
      case "m", "min" -> 60_000L;
      case "h" -> 3_600_000L;
      default -> throw new IllegalStateException(unit);
    };
    return new Duration(Math.multiplyExact(amount, factor));
  }

  public boolean isMultipleOf(Duration other) {
    return other.millis > 0 && millis % other.millis == 0;
  }

  @Override
  public int compareTo(Duration o) {
    return Long.compare(millis, o.millis);
  }

  @Override
  public String toString() {
    return millis % 1000 == 0 ? (millis / 1000) + "s" : millis + "ms";
  }
}
