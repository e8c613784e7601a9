package io.sluice.api;

/** A point in time in epoch milliseconds; batches are named by their aligned logical time. */
public record Time(long millis) implements Comparable<Time> {

  public Time plus(Duration d) {
    return new Time(millis + d.millis());
  }

  public Time minus(Duration d) {
    return new Time(millis - d.millis());
  }

  public boolean isAfter(Time other) {
    return millis > other.millis;
  }

  @Override
  public int compareTo(Time o) {
    return Long.compare(millis, o.millis);
  }

  @Override
  public String toString() {
    return millis + " ms";
  }
}
