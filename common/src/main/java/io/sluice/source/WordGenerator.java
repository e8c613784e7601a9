package io.sluice.source;

import java.util.SplittableRandom;

/**
 * The deterministic line generator of the benchmark workload: line {@code j} of batch {@code b} is
 * ten words {@code "w" + (x mod K)}, x drawn from SplittableRandom seeded with {@code (b << 32) | j}.
 */
public final class WordGenerator {
  public static final int WORDS_PER_LINE = 10;

  private WordGenerator() {}

  public static long seed(long batchIndex, long line) {
    return (batchIndex << 32) | line;
  }

  /** Line {@code line} of batch {@code batchIndex} over a vocabulary of {@code vocabulary} words. */
  public static String line(long batchIndex, long line, long vocabulary) {
    SplittableRandom random = new SplittableRandom(seed(batchIndex, line));
    StringBuilder sb = new StringBuilder(WORDS_PER_LINE * 8);
    for (int i = 0; i < WORDS_PER_LINE; i++) {
      if (i > 0) {
        sb.append(' ');
      }
      sb.append('w').append(Long.remainderUnsigned(random.nextLong(), vocabulary));
    }
    return sb.toString();
  }

  /** First line of input partition {@code p} of {@code partitions}: floor(p * R / P). */
  public static long firstLine(int p, int partitions, long lines) {
    return Math.multiplyExact(p, lines) / partitions;
  }
}
