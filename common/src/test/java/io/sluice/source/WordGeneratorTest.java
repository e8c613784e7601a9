package io.sluice.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.StringJoiner;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class WordGeneratorTest {

  @ParameterizedTest(name = "K={0} b={1} j={2}")
  @CsvSource(delimiter = '|', value = {
      "10000   | 0  | 0      | w7535 w5700 w5679 w2444 w4747 w2090 w6913 w6940 w3299 w390",
      "10000   | 0  | 1      | w2465 w8519 w590 w235 w8761 w48 w7045 w533 w6520 w6950",
      "10000   | 1  | 0      | w56 w3437 w4069 w7701 w3327 w9408 w5124 w9526 w7873 w952",
      "10000   | 3  | 12345  | w4471 w3136 w3357 w564 w758 w4660 w3888 w176 w5426 w7589",
      "1000000 | 0  | 0      | w607535 w355700 w545679 w542444 w94747 w162090 w306913 w346940 w623299 w60390",
      "1000000 | 3  | 12345  | w834471 w803136 w283357 w970564 w380758 w444660 w563888 w60176 w985426 w67589",
      "1000000 | 39 | 999999 | w877792 w677862 w147555 w495059 w778657 w506261 w429923 w975748 w727190 w114741",
  })
  void matchesTheWorkloadTestVectors(long vocabulary, long batch, long line, String expected) {
    assertThat(WordGenerator.line(batch, line, vocabulary)).isEqualTo(expected);
  }

  @Test
  void batchZeroWithTenThousandWordsHasTheDocumentedCounts() {
    Map<String, Integer> counts = countBatch(0, 50_000, 10_000);
    assertThat(counts).hasSize(10_000);
    assertThat(counts.get("w0")).isEqualTo(50);
    assertThat(counts.get("w9999")).isEqualTo(55);
    assertThat(counts.values().stream().mapToInt(Integer::intValue).max().getAsInt()).isEqualTo(82);
  }

  @Test
  void batchZeroWithAMillionWordsHasTheDocumentedCounts() {
    Map<String, Integer> counts = countBatch(0, 50_000, 1_000_000);
    assertThat(counts).hasSize(393_485);
    assertThat(counts).doesNotContainKey("w0");
    assertThat(counts.get("w999999")).isEqualTo(1);
    assertThat(counts.values().stream().mapToInt(Integer::intValue).max().getAsInt()).isEqualTo(6);
  }

  @ParameterizedTest(name = "K={0}")
  @CsvSource({"1", "7", "10", "100", "12345", "1000000007", "2147483647", "2147483648", "9223372036854775807"})
  void writesTheWorkloadsWordsForVocabulariesOfEverySize(long vocabulary) {
    for (long j = 0; j < 2_000; j++) {
      SplittableRandom random = new SplittableRandom(WordGenerator.seed(5, j));
      StringJoiner expected = new StringJoiner(" ");
      for (int i = 0; i < WordGenerator.WORDS_PER_LINE; i++) {
        expected.add("w" + Long.remainderUnsigned(random.nextLong(), vocabulary));
      }
      assertThat(WordGenerator.line(5, j, vocabulary)).isEqualTo(expected.toString());
    }
  }

  @Test
  void partitionsCoverEveryLineExactlyOnce() {
    assertThat(WordGenerator.firstLine(0, 3, 10)).isZero();
    assertThat(WordGenerator.firstLine(1, 3, 10)).isEqualTo(3);
    assertThat(WordGenerator.firstLine(2, 3, 10)).isEqualTo(6);
    assertThat(WordGenerator.firstLine(3, 3, 10)).isEqualTo(10);
  }

  private static Map<String, Integer> countBatch(long batch, int lines, long vocabulary) {
    Map<String, Integer> counts = new HashMap<>();
    for (int j = 0; j < lines; j++) {
      for (String w : WordGenerator.line(batch, j, vocabulary).split(" ")) {
        counts.merge(w, 1, Integer::sum);
      }
    }
    return counts;
  }
}
