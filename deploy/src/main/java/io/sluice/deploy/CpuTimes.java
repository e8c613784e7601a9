package io.sluice.deploy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The machine's CPU time so far, from the first line of Linux's {@code /proc/stat}, in clock ticks:
 * all of it, and what the hypervisor gave to other guests while this one wanted to run (steal). On
 * a shared virtual machine that share changes by the minute, and it is what makes one benchmark
 * run differ from the next, so the benchmark prints it beside its figures.
 */
record CpuTimes(long total, long steal) {
  private static final Path PROC_STAT = Path.of("/proc/stat");
  /** The fields of the "cpu" line up to steal: user, nice, system, idle, iowait, irq, softirq, steal. */
  private static final int FIELDS_TO_STEAL = 8;

  /** Now, or empty where there is no {@code /proc/stat} to read. */
  static Optional<CpuTimes> now() {
    try {
      return Files.isReadable(PROC_STAT) ? parse(Files.readAllLines(PROC_STAT).get(0)) : Optional.empty();
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** The times of {@code /proc/stat}'s first line ("cpu  user nice system idle ..."); empty if it is not one. */
  static Optional<CpuTimes> parse(String line) {
    List<String> fields = Arrays.asList(line.trim().split("\\s+"));
    if (fields.size() <= FIELDS_TO_STEAL || !fields.get(0).equals("cpu")) {
      return Optional.empty();
    }
    try {
      long[] ticks = fields.subList(1, FIELDS_TO_STEAL + 1).stream().mapToLong(Long::parseLong).toArray();
      return Optional.of(new CpuTimes(Arrays.stream(ticks).sum(), ticks[FIELDS_TO_STEAL - 1]));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** The share of the CPU time since {@code start} that was stolen, as "12 %"; "-" when either is unknown. */
  static String stolenSince(Optional<CpuTimes> start, Optional<CpuTimes> end) {
    if (start.isEmpty() || end.isEmpty() || end.get().total <= start.get().total) {
      return "-";
    }
    return String.format(Locale.ROOT, "%.0f %%",
        100.0 * (end.get().steal - start.get().steal) / (end.get().total - start.get().total));
  }
}
