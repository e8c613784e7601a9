package io.sluice.runtime;

/**
 * A piece of a shuffle block: the first {@code length} bytes of {@code bytes}, a whole number of
 * (length, key, length, value) records. The array may be longer, since it is reused from batch to
 * batch (see {@link ShuffleBuffers}).
 */
public record ShuffleChunk(byte[] bytes, int length) {}
