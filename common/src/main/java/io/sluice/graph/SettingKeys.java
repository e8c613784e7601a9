package io.sluice.graph;

/** Names of the settings the engine itself reads. */
public final class SettingKeys {
  private SettingKeys() {}

  public static final String BATCH_INTERVAL = "sluice.batch.interval";
  public static final String CHECKPOINT_DIR = "sluice.checkpoint.dir";
  /** Partitions of reduceByKey, groupByKey and countByValue when the application gives none. */
  public static final String DEFAULT_PARALLELISM = "sluice.default.parallelism";
  /** Metadata checkpoint files kept in the checkpoint directory. */
  public static final String CHECKPOINT_RETAINED = "sluice.checkpoint.retained";
  /** A state partition's snapshot is a full one every this many snapshots, a delta otherwise. */
  public static final String FULL_SNAPSHOT_EVERY = "sluice.state.fullSnapshotEvery";
  /** Stop the job (successfully) after this many completed batches; 0 runs until stopped. */
  public static final String STOP_AFTER_BATCHES = "sluice.stop.afterBatches";
  /** How many times a driver runs a failed batch again (after replacing lost executors) before it gives up. */
  public static final String BATCH_RETRIES = "sluice.batch.retries";
  /**
   * When more batch times than this are due at once (after a driver was down), the next batch
   * takes the input of all but the last ones, so the job is current after this many batches; 0
   * runs every due batch time, as Spark Streaming does.
   */
  public static final String MAX_CATCH_UP_BATCHES = "sluice.batch.maxCatchUp";
  /**
   * Stateful operators (comma-separated ids) whose state a new submission does not take from the
   * checkpoint: each starts empty, which lets an upgrade change its state type, key or partitions,
   * or drop it. A restart of the same application never resets anything.
   */
  public static final String UPGRADE_FRESH_STATE = "sluice.upgrade.freshState";
  /**
   * How long a task may run on an executor: past it the batch fails, and the executor's container
   * is stopped and replaced before the batch runs again.
   */
  public static final String TASK_TIMEOUT = "sluice.task.timeout";
  /**
   * Extra JVM options of the executors, as words of the container's shell command (default: the
   * parallel collector and JIT settings, see README); the heap is 3/4 of the container.
   */
  public static final String EXECUTOR_JAVA_OPTS = "sluice.executor.javaOpts";
  /** AM container memory in MB; the AM's heap is 3/4 of it. */
  public static final String AM_MEMORY_MB = "sluice.am.memoryMb";
  /** Enough for the AM and for writing its class-data archive beside it. */
  public static final int DEFAULT_AM_MEMORY_MB = 1024;
  /**
   * Whether the AM writes an application class-data archive that a restarted AM on the same node
   * starts from (default true).
   */
  public static final String AM_CLASS_DATA_ARCHIVE = "sluice.am.classDataArchive";
}
