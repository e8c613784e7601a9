package io.sluice.graph;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.sluice.api.DoubleAccumulator;
import io.sluice.api.LongAccumulator;
import io.sluice.api.SluiceException;
import io.sluice.proto.AccumulatorValue;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/**
 * The accumulators an application declared, with this JVM's view of them. Inside a task (on an
 * executor or a local runner thread) additions go to that task's own amounts, which travel back
 * in its result; elsewhere (the driver's {@code foreachBatch}) they go to the running batch. The
 * driver adds the running batch to the totals only when the batch completes, and the totals go
 * into the metadata checkpoint with it: so each committed batch counts once, whatever restarts.
 */
public final class Accumulators {
  /** What the task running on this thread added, by accumulator index; unset outside tasks. */
  private static final ThreadLocal<TaskAmounts> TASK = new ThreadLocal<>();

  private final Map<String, Sum> sums = new LinkedHashMap<>();

  /** A task's amounts in plain arrays: an addition is called per record and must cost next to nothing. */
  private static final class TaskAmounts {
    long[] longs = new long[0];
    double[] doubles = new double[0];
    boolean[] touched = new boolean[0];

    void ensure(int index) {
      if (index >= touched.length) {
        int size = Math.max(index + 1, touched.length * 2);
        longs = java.util.Arrays.copyOf(longs, size);
        doubles = java.util.Arrays.copyOf(doubles, size);
        touched = java.util.Arrays.copyOf(touched, size);
      }
      touched[index] = true;
    }
  }

  /** One accumulator's total and the running batch's amount; the driver thread writes, any thread reads. */
  private static final class Sum {
    final String name;
    final int index;
    final boolean isLong;
    @GuardedBy("this") long totalLong;
    @GuardedBy("this") double totalDouble;
    @GuardedBy("this") long batchLong;
    @GuardedBy("this") double batchDouble;

    Sum(String name, int index, boolean isLong) {
      this.name = name;
      this.index = index;
      this.isLong = isLong;
    }

    synchronized void addToBatch(long l, double d) {
      batchLong += l;
      batchDouble += d;
    }

    synchronized long longValue() {
      return totalLong + batchLong;
    }

    synchronized double doubleValue() {
      return totalDouble + batchDouble;
    }

    synchronized void commit() {
      totalLong += batchLong;
      totalDouble += batchDouble;
      discard();
    }

    synchronized void discard() {
      batchLong = 0;
      batchDouble = 0;
    }

    synchronized AccumulatorValue total() {
      AccumulatorValue.Builder v = AccumulatorValue.newBuilder().setName(name);
      return (isLong ? v.setLongValue(totalLong) : v.setDoubleValue(totalDouble)).build();
    }

    synchronized void restore(AccumulatorValue v) {
      totalLong = v.getLongValue();
      totalDouble = v.getDoubleValue();
      discard();
    }
  }

  LongAccumulator declareLong(String name) {
    Sum sum = declare(name, true);
    return new LongAccumulator() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public void add(long amount) {
        TaskAmounts task = TASK.get();
        if (task == null) {
          sum.addToBatch(amount, 0);
        } else {
          task.ensure(sum.index);
          task.longs[sum.index] += amount;
        }
      }

      @Override
      public long value() {
        requireDriver(name);
        return sum.longValue();
      }
    };
  }

  DoubleAccumulator declareDouble(String name) {
    Sum sum = declare(name, false);
    return new DoubleAccumulator() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public void add(double amount) {
        TaskAmounts task = TASK.get();
        if (task == null) {
          sum.addToBatch(0, amount);
        } else {
          task.ensure(sum.index);
          task.doubles[sum.index] += amount;
        }
      }

      @Override
      public double value() {
        requireDriver(name);
        return sum.doubleValue();
      }
    };
  }

  private Sum declare(String name, boolean isLong) {
    if (name == null || name.isBlank()) {
      throw new SluiceException("an accumulator needs a name");
    }
    if (sums.containsKey(name)) {
      throw new SluiceException("accumulator '" + name + "' is declared twice; give each one its own name");
    }
    Sum sum = new Sum(name, sums.size(), isLong);
    sums.put(name, sum);
    return sum;
  }

  private static void requireDriver(String name) {
    if (TASK.get() != null) {
      throw new SluiceException("accumulator '" + name + "' is read inside a task; read it on the driver, "
          + "for example in foreachBatch");
    }
  }

  /** Runs a task's body, handing what it added to the accumulators to {@code amounts}. */
  public <T> T collectingTaskAmounts(Callable<T> body, Consumer<Collection<AccumulatorValue>> amounts)
      throws Exception {
    TaskAmounts task = new TaskAmounts();
    TASK.set(task);
    try {
      T result = body.call();
      List<AccumulatorValue> out = new ArrayList<>();
      for (Sum sum : sums.values()) {
        if (sum.index < task.touched.length && task.touched[sum.index]) {
          AccumulatorValue.Builder v = AccumulatorValue.newBuilder().setName(sum.name);
          out.add((sum.isLong ? v.setLongValue(task.longs[sum.index]) : v.setDoubleValue(task.doubles[sum.index]))
              .build());
        }
      }
      amounts.accept(out);
      return result;
    } finally {
      TASK.remove();
    }
  }

  /** Adds a finished task's amounts to the running batch (driver). */
  public void addTaskAmounts(Collection<AccumulatorValue> amounts) {
    for (AccumulatorValue v : amounts) {
      Sum sum = sums.get(v.getName());
      if (sum != null) {
        sum.addToBatch(v.getLongValue(), v.getDoubleValue());
      }
    }
  }

  /** The running batch completed: its amounts join the totals (driver). */
  public void commitBatch() {
    sums.values().forEach(Sum::commit);
  }

  /** The running batch will be run again or not at all: its amounts are dropped (driver). */
  public void discardBatch() {
    sums.values().forEach(Sum::discard);
  }

  /** The totals, for the metadata checkpoint. */
  public List<AccumulatorValue> totals() {
    List<AccumulatorValue> out = new ArrayList<>();
    sums.values().forEach(s -> out.add(s.total()));
    return out;
  }

  /**
   * Takes the totals of a recovered checkpoint; returns the names it holds that this application
   * no longer declares (their totals are dropped).
   */
  public List<String> restore(List<AccumulatorValue> totals) {
    List<String> dropped = new ArrayList<>();
    for (AccumulatorValue v : totals) {
      Sum sum = sums.get(v.getName());
      if (sum == null) {
        dropped.add(v.getName());
      } else {
        sum.restore(v);
      }
    }
    return dropped;
  }
}
