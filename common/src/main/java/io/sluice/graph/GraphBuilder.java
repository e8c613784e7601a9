package io.sluice.graph;

import com.google.common.base.Suppliers;
import io.sluice.api.Broadcast;
import io.sluice.api.Codec;
import io.sluice.api.Codecs;
import io.sluice.api.DStream;
import io.sluice.api.DoubleAccumulator;
import io.sluice.api.Duration;
import io.sluice.api.LongAccumulator;
import io.sluice.api.Settings;
import io.sluice.api.SluiceException;
import io.sluice.api.StreamingApp;
import io.sluice.api.StateSpec;
import io.sluice.api.StreamingContext;
import io.sluice.codec.RecordCodecs;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/** The {@link StreamingContext} an application builds on; {@link #freeze()} yields the graph. */
public final class GraphBuilder implements StreamingContext {
  private static final long DEFAULT_STATE_CHECKPOINT_MS = 10_000;
  private final Settings settings;
  private final Duration batchInterval;
  private final List<OperatorNode> nodes = new ArrayList<>();
  private String checkpointInCode;
  private boolean frozen;
  private final Accumulators accumulators = new Accumulators();

  public GraphBuilder(Settings settings) {
    this.settings = settings;
    this.batchInterval = settings.getDuration(SettingKeys.BATCH_INTERVAL, Duration.ofSeconds(1));
    if (batchInterval.millis() <= 0) {
      throw new SluiceException(SettingKeys.BATCH_INTERVAL + " must be positive");
    }
  }

  /** Runs the application's {@code build} and freezes the result. */
  public static StreamGraph build(StreamingApp app, Settings settings) {
    GraphBuilder builder = new GraphBuilder(settings);
    app.build(builder);
    return builder.freeze();
  }

  /** Instantiates a {@link StreamingApp} by class name, with errors that say what to fix. */
  public static StreamingApp instantiate(String className, ClassLoader loader) {
    Class<?> cls;
    try {
      cls = Class.forName(className, true, loader);
    } catch (ClassNotFoundException | NoClassDefFoundError e) {
      throw new SluiceException("class " + className + " is not in the application jar; check --class and --jar");
    }
    if (!StreamingApp.class.isAssignableFrom(cls)) {
      throw new SluiceException("class " + className + " does not implement io.sluice.api.StreamingApp");
    }
    try {
      return (StreamingApp) cls.getDeclaredConstructor().newInstance();
    } catch (NoSuchMethodException e) {
      throw new SluiceException("class " + className + " needs a public no-argument constructor");
    } catch (ReflectiveOperationException e) {
      throw new SluiceException("cannot create " + className + ": " + e.getCause(), e);
    }
  }

  @Override
  public Settings config() {
    return settings;
  }

  @Override
  public Duration batchInterval() {
    return batchInterval;
  }

  @Override
  public void checkpoint(String directory) {
    checkpointInCode = directory;
  }

  @Override
  public DStream<String> textFileStream(String directory) {
    return new DStreamImpl<>(this, add(OperatorKind.FILE_SOURCE, List.of(), null, 0, Map.of("dir", directory), Codecs.STRING));
  }

  @Override
  public DStream<String> generatedLines(long lines, long vocabulary, int partitions) {
    if (lines < 0 || vocabulary <= 0 || partitions <= 0) {
      throw new SluiceException("generatedLines needs lines >= 0, vocabulary > 0 and partitions > 0; got "
          + lines + ", " + vocabulary + ", " + partitions);
    }
    Map<String, String> params = Map.of("lines", Long.toString(lines), "vocabulary", Long.toString(vocabulary));
    return new DStreamImpl<>(this, add(OperatorKind.GENERATOR_SOURCE, List.of(), null, partitions, params, Codecs.STRING));
  }

  @Override
  public LongAccumulator longAccumulator(String name) {
    requireOpen("accumulators");
    return accumulators.declareLong(name);
  }

  @Override
  public DoubleAccumulator doubleAccumulator(String name) {
    requireOpen("accumulators");
    return accumulators.declareDouble(name);
  }

  @Override
  public <T> Broadcast<T> broadcast(String name, Supplier<T> factory) {
    requireOpen("broadcasts");
    Supplier<T> once = Suppliers.memoize(factory::get);
    return new Broadcast<>() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public T value() {
        return once.get();
      }
    };
  }

  private void requireOpen(String what) {
    if (frozen) {
      throw new SluiceException(what + " must be declared inside StreamingApp.build");
    }
  }

  int defaultParallelism() {
    return settings.getInt(SettingKeys.DEFAULT_PARALLELISM, 2);
  }

  OperatorNode add(OperatorKind kind, List<OperatorNode> parents, Object function, int partitions,
      Map<String, String> params, Codec<?> codec) {
    requireOpen("operators");
    if (kind.role() == OperatorKind.Role.SHUFFLE && partitions <= 0) {
      throw new SluiceException(kind.displayName() + " needs at least one partition, got " + partitions);
    }
    OperatorNode node = new OperatorNode(nodes.size(), kind, parents, function, partitions, params, codec);
    nodes.add(node);
    return node;
  }

  /** Validates the graph (unique ids, at least one output, one checkpoint directory) and freezes it. */
  public StreamGraph freeze() {
    frozen = true;
    Set<String> ids = new HashSet<>();
    for (OperatorNode n : nodes) {
      if (!ids.add(n.id())) {
        throw new SluiceException("two operators have the id " + n.id() + "; give each a unique uid(...)");
      }
    }
    for (OperatorNode n : nodes) {
      Optional<String> problem = RecordCodecs.problem(n.codec());
      if (problem.isEmpty() && n.function() instanceof StateSpec<?, ?, ?, ?> spec) {
        problem = RecordCodecs.problem(spec.codec());
      }
      if (problem.isPresent()) {
        throw new SluiceException("operator " + n.id() + " cannot encode its records: " + problem.get()
            + "; change the type or give the stream another codec with withCodec(...)");
      }
    }
    if (nodes.stream().noneMatch(n -> n.kind().role() == OperatorKind.Role.OUTPUT)) {
      throw new SluiceException("the application declares no output (foreachBatch or saveAsTextFiles), so nothing would run");
    }
    for (OperatorNode n : nodes) {
      n.setSlide(validSlide(n));
    }
    Optional<String> checkpointDir = checkpointDir();
    for (OperatorNode n : nodes) {
      if (n.kind().isStateful()) {
        if (checkpointDir.isEmpty()) {
          throw new SluiceException("operator " + n.id() + " keeps state, which needs a checkpoint directory: call "
              + "ctx.checkpoint(dir) or submit with --checkpoint DIR");
        }
        n.setCheckpointInterval(validCheckpointInterval(n));
      }
      if (n.function() instanceof StateSpec<?, ?, ?, ?> spec && spec.idleTimeout().isPresent()
          && (spec.idleTimeout().get().millis() <= 0 || !spec.idleTimeout().get().isMultipleOf(batchInterval))) {
        throw new SluiceException("the idle timeout " + spec.idleTimeout().get() + " of " + n.id()
            + " is not a positive multiple of the batch interval " + batchInterval);
      }
    }
    return new StreamGraph(nodes, settings, batchInterval, checkpointDir, accumulators);
  }

  /**
   * The stream's slide: a window's own, after checking that its length and slide are multiples of
   * its input's slide; for a union, the slide all its inputs share; otherwise its input's.
   */
  private Duration validSlide(OperatorNode n) {
    if (n.parents().isEmpty()) {
      return batchInterval;
    }
    Duration input = n.parents().get(0).slide();
    for (OperatorNode p : n.parents()) {
      if (!p.slide().equals(input)) {
        throw new SluiceException(n.id() + " joins streams with different slide intervals (" + input + " from "
            + n.parents().get(0).id() + ", " + p.slide() + " from " + p.id() + "); window them alike");
      }
    }
    if (!(n.function() instanceof WindowSpec w)) {
      return input;
    }
    String of = input.equals(batchInterval) ? "the batch interval " + batchInterval : "the slide " + input
        + " of its input";
    if (w.length().millis() == 0 || !w.length().isMultipleOf(input)) {
      throw new SluiceException("the window length " + w.length() + " of " + n.id() + " is not a positive multiple of "
          + of);
    }
    if (w.slide().millis() == 0 || !w.slide().isMultipleOf(input)) {
      throw new SluiceException("the slide " + w.slide() + " of " + n.id() + " is not a positive multiple of " + of);
    }
    return w.slide();
  }

  /** The operator's snapshot interval: given, or the smallest multiple of its slide of at least 10 s. */
  private Duration validCheckpointInterval(OperatorNode n) {
    Duration given = n.checkpointInterval();
    Duration slide = n.slide();
    if (given == null) {
      long slides = Math.max(1, (DEFAULT_STATE_CHECKPOINT_MS + slide.millis() - 1) / slide.millis());
      return Duration.ofMillis(slides * slide.millis());
    }
    if (given.millis() == 0 || !given.isMultipleOf(slide)) {
      throw new SluiceException("checkpoint interval " + given + " of " + n.id() + " is not a multiple of its slide "
          + "interval " + slide);
    }
    return given;
  }

  private Optional<String> checkpointDir() {
    Optional<String> submitted = settings.get(SettingKeys.CHECKPOINT_DIR);
    if (submitted.isPresent() && checkpointInCode != null && !submitted.get().equals(checkpointInCode)) {
      throw new SluiceException("the checkpoint directory is " + checkpointInCode + " in the application but "
          + submitted.get() + " in the submission; drop one of them");
    }
    return submitted.isPresent() ? submitted : Optional.ofNullable(checkpointInCode);
  }
}
