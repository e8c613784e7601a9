package io.sluice.api;

/**
 * The batch a function is called for.
 *
 * @param time the batch's aligned logical time; its input is (time - interval, time]
 * @param startTime the job's start time, kept across driver restarts
 * @param interval the batch interval
 * @param epoch the driver epoch running the batch; a restarted driver has a higher one, so
 *     outputs written with (time, epoch) can be made idempotent
 */
public record BatchInfo(Time time, Time startTime, Duration interval, long epoch) {

  /** The batch's number from the start of the stream: 0 for the first batch. */
  public long index() {
    return (time.millis() - startTime.millis()) / interval.millis() - 1;
  }
}
