package io.sluice.api;

/**
 * What an application's {@link StreamingApp#build} declares its streams on.
 *
 * <p>Settings come from the submission ({@code --conf key=value}, {@code --batch-interval},
 * {@code --checkpoint}) or from the local runner's configuration.
 */
public interface StreamingContext {

  /** The job's settings. */
  Settings config();

  /** The batch interval (setting {@code sluice.batch.interval}, default 1 s). */
  Duration batchInterval();

  /**
   * Sets the checkpoint directory (a Hadoop path), unless the submission gives one; the two must
   * not disagree.
   */
  void checkpoint(String directory);

  /**
   * Lines of the text files that appear in {@code directory}; each batch takes the files that
   * appeared since the previous one. Files whose names start with {@code .} or {@code _} are
   * ignored, so writers should create files elsewhere (or hidden) and rename them in.
   */
  DStream<String> textFileStream(String directory);

  /**
   * The deterministic line generator of the benchmark workload: {@code lines} lines of ten words
   * each per batch, words drawn from {@code w0 .. w(vocabulary-1)}, in {@code partitions} input
   * partitions generated on the executors.
   */
  DStream<String> generatedLines(long lines, long vocabulary, int partitions);

  /** A named long sum whose total counts each committed batch exactly once (see {@link LongAccumulator}). */
  LongAccumulator longAccumulator(String name);

  /** A named double sum whose total counts each committed batch exactly once. */
  DoubleAccumulator doubleAccumulator(String name);

  /** A value created lazily, once per JVM, by {@code factory} (see {@link Broadcast}). */
  <T> Broadcast<T> broadcast(String name, java.util.function.Supplier<T> factory);
}
