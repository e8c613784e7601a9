package io.sluice.state;

/**
 * A mapWithState entry with an idle timeout: the key's state and the batch that last updated it, as
 * an update puts it into a partition, a restore reads it from a snapshot, and a snapshot writes it.
 * A partition that {@linkplain PartitionState#keepStamps keeps stamps} holds it unpacked, the state
 * as any other (a {@code long} one in its row) and the batch in an array of longs, so that nothing of
 * it is an object of its own in the old generation: this is only the form it travels in.
 *
 * @param lastMs the batch that last updated the key
 * @param state the key's state
 */
public record TimedState(long lastMs, Object state) {}
