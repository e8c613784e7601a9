package io.sluice.reference;

import io.sluice.source.WordGenerator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.Optional;
import org.apache.spark.streaming.Durations;
import org.apache.spark.streaming.api.java.JavaDStream;
import org.apache.spark.streaming.api.java.JavaPairDStream;
import org.apache.spark.streaming.api.java.JavaStreamingContext;
import org.apache.spark.rdd.RDD;
import org.apache.spark.streaming.StreamingContext;
import org.apache.spark.streaming.Time;
import org.apache.spark.streaming.dstream.InputDStream;
import org.apache.spark.streaming.scheduler.BatchInfo;
import org.apache.spark.streaming.scheduler.StreamingListener;
import org.apache.spark.streaming.scheduler.StreamingListenerBatchCompleted;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import scala.Tuple2;
import scala.collection.JavaConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * The workload of ../shared/WORKLOAD.md on Spark Streaming's DStreams ({@code local[2]}, Kryo), as
 * the reference was measured: the same generator (Sluice's {@link WordGenerator}, so both engines
 * make the same lines with the same code), {@code flatMap} on spaces, {@code (word, 1)}, {@code
 * reduceByKey} over 2 partitions, {@code updateStateByKey}, and an output that counts the keys and
 * sums the counts over the whole state, checking the invariant every batch. Times come from
 * Spark's own batch records (processing delay: from the start of the batch's first job to the end
 * of its last), and are reduced as {@code sluice bench} reduces its own, so the two rows can be set
 * side by side from runs in the same hour: the machines these run on change speed by the hour. Each
 * output also prints its batch, keys and total, so that {@code sluice bench --spark-reference
 * --recovery} can kill this driver, start it again with {@code --resume} on the same checkpoint
 * directory, and tell which batches were output twice.
 */
@Command(name = "spark-reference", mixinStandardHelpOptions = true,
    description = "Runs the benchmark workload on Spark Streaming (DStreams, local[2], Kryo) for one K, R and "
        + "checkpoint setting, and prints its row as sluice bench does.")
public final class SparkStreamingWordCount implements java.util.concurrent.Callable<Integer> {
  private static final int PARTITIONS = 2;

  @Option(names = "--lines", description = "R, lines per batch (default ${DEFAULT-VALUE})")
  long lines = 50_000;

  @Option(names = "--vocabulary", description = "K, distinct words (default ${DEFAULT-VALUE})")
  long vocabulary = 10_000;

  @Option(names = "--checkpoint-setting", description = "A: the default state checkpoint interval (10 s); "
      + "B: checkpoint(1 s) on the state stream (default ${DEFAULT-VALUE})")
  String setting = "A";

  @Option(names = "--batches", description = "batches to run (default ${DEFAULT-VALUE})")
  int batches = 40;

  @Option(names = "--warmup", description = "first batches left out of the figures (default ${DEFAULT-VALUE})")
  int warmup = 5;

  @Option(names = "--checkpoint-dir", description = "Spark's checkpoint directory, emptied first unless --resume "
      + "(default: a new temporary directory)")
  Path checkpointDir;

  @Option(names = "--resume", description = "resume from --checkpoint-dir with JavaStreamingContext.getOrCreate, as "
      + "a driver restarted after a failure does, and run --batches more; prints each batch and output, no row")
  boolean resume;

  public static void main(String[] args) {
    System.exit(new CommandLine(new SparkStreamingWordCount()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    if (!setting.equals("A") && !setting.equals("B")) {
      System.err.println("spark-reference: --checkpoint-setting must be A or B, got " + setting);
      return 2;
    }
    if (lines < 1 || vocabulary < 1 || warmup < 0 || batches <= warmup) {
      System.err.println("spark-reference: --lines and --vocabulary must be at least 1, and --batches more than --warmup");
      return 2;
    }
    if (resume && checkpointDir == null) {
      System.err.println("spark-reference: --resume needs --checkpoint-dir");
      return 2;
    }
    Path dir = checkpointDir != null ? checkpointDir : Files.createTempDirectory("spark-reference-");
    if (!resume) {
      deleteContents(dir);
    }
    System.out.printf("# Spark Streaming %s, local[%d], Kryo: K=%d R=%d setting %s, %d batches of 1 s, the first %d "
        + "discarded; checkpoint directory %s%n", org.apache.spark.package$.MODULE$.SPARK_VERSION(), PARTITIONS,
        vocabulary, lines, setting, batches, warmup, dir);
    List<BatchInfo> completed = new CopyOnWriteArrayList<>();
    List<String> violations = new CopyOnWriteArrayList<>();
    AtomicLong lastKeys = new AtomicLong();
    CountDownLatch done = new CountDownLatch(1);
    JavaStreamingContext ssc = resume
        ? JavaStreamingContext.getOrCreate(dir.toUri().toString(), () -> buildContext(dir, violations, lastKeys))
        : buildContext(dir, violations, lastKeys);
    if (resume) {
      System.out.printf("JVM started at %d, context restored at %d%n",
          ManagementFactory.getRuntimeMXBean().getStartTime(), System.currentTimeMillis());
    }
    ssc.addStreamingListener(new StreamingListener() {
      @Override
      public void onBatchCompleted(StreamingListenerBatchCompleted event) {
        BatchInfo info = event.batchInfo();
        completed.add(info);
        System.out.printf("batch %d of %d: %d ms, scheduling delay %d ms, completed at %d%n", completed.size(), batches,
            (Long) info.processingDelay().get(), (Long) info.schedulingDelay().get(),
            (Long) info.processingEndTime().get());
        if (completed.size() >= batches) {
          done.countDown();
        }
      }
    });
    ssc.start();
    done.await();
    ssc.stop(true, false);
    if (resume) {
      // The restored graph's output closure holds its own copies of violations and lastKeys: its lines above say it all.
      return 0;
    }
    printRow(completed.subList(warmup, batches), sizeOf(dir), lastKeys.get(), violations);
    if (checkpointDir == null) {
      deleteContents(dir);
      Files.delete(dir);
    }
    return violations.isEmpty() ? 0 : 1;
  }

  private JavaStreamingContext buildContext(Path dir, List<String> violations, AtomicLong lastKeys) {
    SparkConf conf = new SparkConf().setMaster("local[" + PARTITIONS + "]").setAppName("spark-reference")
        .set("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
        .set("spark.ui.enabled", "false");
    JavaStreamingContext ssc = new JavaStreamingContext(conf, Durations.seconds(1));
    ssc.checkpoint(dir.toUri().toString());
    long r = lines;
    long k = vocabulary;
    // The batch number is the batch's time after the first one's, as WORKLOAD.md numbers them.
    AtomicLong firstBatchMs = new AtomicLong(-1);
    ClassTag<Integer> intTag = ClassTag$.MODULE$.apply(Integer.class);
    JavaDStream<String> generated = JavaDStream.fromDStream(new PartitionNumbers(ssc.ssc(), intTag), intTag)
        .transform((rdd, time) -> {
          firstBatchMs.compareAndSet(-1, time.milliseconds());
          long batch = (time.milliseconds() - firstBatchMs.get()) / 1000;
          return rdd.mapPartitions(p -> linesOf(batch, p.next(), r, k));
        });
    JavaPairDStream<String, Long> counts = generated
        .flatMap(line -> Arrays.asList(line.split(" ")).iterator())
        .mapToPair(word -> new Tuple2<>(word, 1L))
        .reduceByKey(Long::sum, PARTITIONS)
        .updateStateByKey((List<Long> values, Optional<Long> total) -> {
          long sum = total.orElse(0L);
          for (long v : values) {
            sum += v;
          }
          return Optional.of(sum);
        });
    if (setting.equals("B")) {
      counts.checkpoint(Durations.seconds(1));
    }
    counts.foreachRDD((state, time) -> {
      long batch = (time.milliseconds() - firstBatchMs.get()) / 1000;
      Tuple2<Long, Long> keysAndTotal = state.map(c -> new Tuple2<>(1L, c._2()))
          .fold(new Tuple2<>(0L, 0L), (a, b) -> new Tuple2<>(a._1() + b._1(), a._2() + b._2()));
      lastKeys.set(keysAndTotal._1());
      boolean held = keysAndTotal._2() == 10 * r * (batch + 1);
      if (!held) {
        violations.add("batch " + batch + ": total " + keysAndTotal._2() + ", expected " + 10 * r * (batch + 1));
      }
      System.out.printf("output batch=%d keys=%d total=%d invariant %s%n", batch, keysAndTotal._1(), keysAndTotal._2(),
          held ? "held" : "VIOLATED");
    });
    return ssc;
  }

  /**
   * The input partitions' numbers, 0 and 1, as a new RDD every batch: what the generator's {@code
   * transform} turns into lines. {@code ConstantInputDStream} would hold one RDD, which a driver
   * restored from its checkpoint gets back without a SparkContext (SPARK-5063), so {@code --resume}
   * could not run with it.
   */
  private static final class PartitionNumbers extends InputDStream<Integer> {
    private static final long serialVersionUID = 1L;
    private final ClassTag<Integer> tag;

    PartitionNumbers(StreamingContext ssc, ClassTag<Integer> tag) {
      super(ssc, tag);
      this.tag = tag;
    }

    @Override
    public void start() {}

    @Override
    public void stop() {}

    @Override
    public scala.Option<RDD<Integer>> compute(Time validTime) {
      return scala.Option.apply(context().sparkContext().parallelize(
          JavaConverters.asScalaBuffer(List.of(0, 1)).toSeq(), PARTITIONS, tag));
    }
  }

  /** Input partition {@code p}'s lines of batch {@code batch}, generated as they are read. */
  private static Iterator<String> linesOf(long batch, int p, long r, long k) {
    long end = WordGenerator.firstLine(p + 1, PARTITIONS, r);
    return new Iterator<>() {
      private long next = WordGenerator.firstLine(p, PARTITIONS, r);

      @Override
      public boolean hasNext() {
        return next < end;
      }

      @Override
      public String next() {
        return WordGenerator.line(batch, next++, k);
      }
    };
  }

  private void printRow(List<BatchInfo> measured, long checkpointBytes, long keys, List<String> violations) {
    List<Long> processing = new ArrayList<>();
    long maxDelay = 0;
    for (BatchInfo info : measured) {
      processing.add((Long) info.processingDelay().get());
      maxDelay = Math.max(maxDelay, (Long) info.schedulingDelay().get());
    }
    processing.sort(null);
    long median = percentile(processing, 50);
    double words = 10.0 * lines;
    System.out.println();
    System.out.println("| engine | K | R | checkpoint | median | p95 | mean | max scheduling delay "
        + "| throughput (words/s) | sustainable | checkpoint dir | keys at the end | invariant |");
    System.out.println("|:---|---:|---:|:---:|---:|---:|---:|---:|---:|:---:|---:|---:|:---:|");
    System.out.printf("| Spark Streaming | %d | %d | %s | %d ms | %d ms | %d ms | %d ms | %.1fM | %s | %.1f MiB | %d | %s |%n",
        vocabulary, lines, setting, median, percentile(processing, 95),
        (long) processing.stream().mapToLong(Long::longValue).average().orElse(0), maxDelay,
        words / (median / 1000.0) / 1e6, median < 1000 ? "yes" : "no", checkpointBytes / 1048576.0, keys,
        violations.isEmpty() ? "held" : "VIOLATED: " + violations.get(0));
    System.out.println();
    System.out.println("Processing time: Spark's processing delay of each batch (from the start of its first job "
        + "to the end of its output); median and p95 taken as sluice bench takes them; max scheduling delay over "
        + "the measured batches.");
  }

  /** As sluice bench: the element at ceil(p% of n) - 1 of the sorted list. */
  private static long percentile(List<Long> sorted, int p) {
    int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
    return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
  }

  private static void deleteContents(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      Files.createDirectories(dir);
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted((a, b) -> b.compareTo(a)).filter(p -> !p.equals(dir)).forEach(p -> {
        try {
          Files.delete(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
  }

  private static long sizeOf(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      return paths.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }
}
