package io.sluice.graph;

/** What an operator does; the runtime's behaviour per kind is chosen in one place. */
public enum OperatorKind {
  FILE_SOURCE(Role.SOURCE),
  GENERATOR_SOURCE(Role.SOURCE),
  MAP(Role.NARROW),
  FLAT_MAP(Role.NARROW),
  FILTER(Role.NARROW),
  MAP_TO_PAIR(Role.NARROW),
  MAP_VALUES(Role.NARROW),
  UNION(Role.NARROW),
  TRANSFORM(Role.NARROW),
  REDUCE_BY_KEY(Role.SHUFFLE),
  GROUP_BY_KEY(Role.SHUFFLE),
  COUNT_BY_VALUE(Role.SHUFFLE),
  REDUCE(Role.SHUFFLE),
  COUNT(Role.SHUFFLE),
  UPDATE_STATE_BY_KEY(Role.SHUFFLE),
  MAP_WITH_STATE(Role.SHUFFLE),
  WINDOW(Role.SHUFFLE),
  REDUCE_BY_WINDOW(Role.SHUFFLE),
  REDUCE_BY_KEY_AND_WINDOW(Role.SHUFFLE),
  COUNT_BY_VALUE_AND_WINDOW(Role.SHUFFLE),
  /** The state of the mapWithState operator it follows, after each batch. */
  STATE_SNAPSHOTS(Role.NARROW),
  FOREACH_BATCH(Role.OUTPUT),
  SAVE_AS_TEXT(Role.OUTPUT);

  /** Where an operator sits in a batch's execution. */
  public enum Role {
    /** Produces the records of input partitions. */
    SOURCE,
    /** Transforms records within a partition. */
    NARROW,
    /** Repartitions records by key; its output is read by reduce tasks. */
    SHUFFLE,
    /** Consumes records: nothing downstream. */
    OUTPUT
  }

  private final Role role;

  OperatorKind(Role role) {
    this.role = role;
  }

  public Role role() {
    return role;
  }

  /** Whether the operator keeps state across batches. */
  public boolean isStateful() {
    return this == UPDATE_STATE_BY_KEY || this == MAP_WITH_STATE || isWindowed();
  }

  /** Whether the operator keeps the last batches of a window, and emits only every slide. */
  public boolean isWindowed() {
    return this == WINDOW || this == REDUCE_BY_WINDOW || this == REDUCE_BY_KEY_AND_WINDOW
        || this == COUNT_BY_VALUE_AND_WINDOW;
  }

  /** The name used in derived ids and descriptions, e.g. {@code reduceByKey}. */
  public String displayName() {
    String[] parts = name().toLowerCase(java.util.Locale.ROOT).split("_");
    StringBuilder sb = new StringBuilder(parts[0]);
    for (int i = 1; i < parts.length; i++) {
      sb.append(Character.toUpperCase(parts[i].charAt(0))).append(parts[i].substring(1));
    }
    return sb.toString();
  }
}
