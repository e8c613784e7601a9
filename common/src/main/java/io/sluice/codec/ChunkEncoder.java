package io.sluice.codec;

import io.sluice.api.Codec;

/**
 * Encodes one record at a time into a reused buffer, to be copied out as a chunk prefixed by its
 * length as a varint (the framing of shuffle blocks): no allocation per record, which matters where
 * millions of records are written. Confined to one thread.
 */
public final class ChunkEncoder {
  /** The most bytes {@link #copyChunkTo} writes beside the record's own. */
  public static final int MAX_FRAMING_BYTES = BytesOutput.MAX_VARINT_BYTES;

  private final BytesOutput buffer = new BytesOutput(256);

  /** Encodes {@code value}, replacing what the buffer held; names the operator when the codec cannot. */
  public <T> ChunkEncoder encode(Codec<T> codec, T value, String operatorId) {
    buffer.reset();
    RecordCodecs.encodeTo(codec, value, buffer, operatorId);
    return this;
  }

  /**
   * Encodes the ASCII string of the first {@code length} bytes of {@code chars} as {@code codec}
   * encodes that string, replacing what the buffer held.
   */
  public ChunkEncoder encodeAscii(AsciiStringCodec codec, byte[] chars, int length) {
    buffer.reset();
    try {
      codec.writeAscii(chars, length, buffer);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return this;
  }

  /** The encoded bytes: the first {@link #size()} of this array. */
  public byte[] array() {
    return buffer.array();
  }

  public int size() {
    return buffer.size();
  }

  /**
   * Copies the encoded record into {@code target} at {@code offset} as a chunk: its length (a
   * varint, read by {@link BytesInput#readVarint}) then its bytes; returns the offset after it. The
   * caller has made room.
   */
  public int copyChunkTo(byte[] target, int offset) {
    int size = buffer.size();
    int at = BytesOutput.putVarint(target, offset, size);
    System.arraycopy(buffer.array(), 0, target, at, size);
    return at + size;
  }
}
