package io.sluice.api;

import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** Immutable job settings with typed getters that explain a malformed value. */
public final class Settings {
  private final Map<String, String> values;

  public Settings(Map<String, String> values) {
    this.values = Map.copyOf(values);
  }

  /** All settings, sorted by key. */
  public Map<String, String> asMap() {
    return new TreeMap<>(values);
  }

  public Optional<String> get(String key) {
    return Optional.ofNullable(values.get(key));
  }

  public String get(String key, String defaultValue) {
    return values.getOrDefault(key, defaultValue);
  }

  /** The value of a setting that the application cannot run without. */
  public String require(String key) {
    return get(key)
        .orElseThrow(() -> new SluiceException("setting " + key + " is missing; pass it with --conf " + key + "=..."));
  }

  public long getLong(String key, long defaultValue) {
    String raw = values.get(key);
    if (raw == null) {
      return defaultValue;
    }
    try {
      return parseCount(raw.trim());
    } catch (NumberFormatException e) {
      throw new SluiceException("setting " + key + "=" + raw + " is not a whole number (examples: 500, 200k, 1M)");
    }
  }

  public int getInt(String key, int defaultValue) {
    long value = getLong(key, defaultValue);
    if (value > Integer.MAX_VALUE || value < Integer.MIN_VALUE) {
      throw new SluiceException("setting " + key + "=" + value + " is too large");
    }
    return (int) value;
  }

  /** A setting that is {@code true} or {@code false}, in any case. */
  public boolean getBoolean(String key, boolean defaultValue) {
    String raw = values.get(key);
    if (raw == null) {
      return defaultValue;
    }
    return switch (raw.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "true" -> true;
      case "false" -> false;
      default -> throw new SluiceException("setting " + key + "=" + raw + " is neither true nor false");
    };
  }

  public Duration getDuration(String key, Duration defaultValue) {
    String raw = values.get(key);
    return raw == null ? defaultValue : Duration.parse(key, raw);
  }

  /** Parses counts with an optional k (thousand) or M (million) suffix, as the workload writes them. */
  private static long parseCount(String raw) {
    if (raw.endsWith("k") || raw.endsWith("K")) {
      return Math.multiplyExact(Long.parseLong(raw.substring(0, raw.length() - 1)), 1_000L);
    }
    if (raw.endsWith("M")) {
      return Math.multiplyExact(Long.parseLong(raw.substring(0, raw.length() - 1)), 1_000_000L);
    }
    return Long.parseLong(raw);
  }
}
