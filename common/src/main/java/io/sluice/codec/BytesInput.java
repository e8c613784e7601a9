package io.sluice.codec;

import java.io.DataInput;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;

/**
 * A {@link DataInput} over one byte array, for decoding records in place: unlike a {@code
 * DataInputStream} it allocates no buffers of its own, which matters at millions of records, and
 * it tells where it is, so that a reader can point into the array instead of copying from it.
 */
public final class BytesInput implements DataInput {
  private final byte[] bytes;
  /** Where the input ends: the array's end, or before it. */
  private final int end;
  private int pos;

  public BytesInput(byte[] bytes) {
    this(bytes, bytes.length);
  }

  /** The first {@code length} bytes of {@code bytes}. */
  public BytesInput(byte[] bytes, int length) {
    this.bytes = bytes;
    this.end = length;
  }

  /** The offset in the array of the next byte to read. */
  public int position() {
    return pos;
  }

  public boolean hasRemaining() {
    return pos < end;
  }

  /** Skips {@code n} bytes, failing if fewer are left. */
  public void skipFully(int n) throws EOFException {
    if (n < 0) {
      throw new EOFException("a length of " + n + " bytes at " + pos);
    }
    next(n);
  }

  private int next(int n) throws EOFException {
    if (pos + n > end) {
      throw new EOFException("record of " + end + " bytes ends before " + (pos + n));
    }
    int at = pos;
    pos += n;
    return at;
  }

  @Override
  public void readFully(byte[] b) throws IOException {
    readFully(b, 0, b.length);
  }

  @Override
  public void readFully(byte[] b, int off, int len) throws IOException {
    System.arraycopy(bytes, next(len), b, off, len);
  }

  @Override
  public int skipBytes(int n) {
    int skipped = Math.max(0, Math.min(n, end - pos));
    pos += skipped;
    return skipped;
  }

  @Override
  public boolean readBoolean() throws IOException {
    return bytes[next(1)] != 0;
  }

  @Override
  public byte readByte() throws IOException {
    return bytes[next(1)];
  }

  @Override
  public int readUnsignedByte() throws IOException {
    return bytes[next(1)] & 0xff;
  }

  @Override
  public short readShort() throws IOException {
    return (short) readUnsignedShort();
  }

  @Override
  public int readUnsignedShort() throws IOException {
    int at = next(2);
    return ((bytes[at] & 0xff) << 8) | (bytes[at + 1] & 0xff);
  }

  @Override
  public char readChar() throws IOException {
    return (char) readUnsignedShort();
  }

  /** Reads a varint as {@link BytesOutput#putVarint} writes it. */
  public int readVarint() throws IOException {
    int value = 0;
    for (int shift = 0; shift < 35; shift += 7) {
      byte b = bytes[next(1)];
      value |= (b & 0x7f) << shift;
      if (b >= 0) {
        return value;
      }
    }
    throw new IOException("malformed varint ending at " + pos);
  }

  @Override
  public int readInt() throws IOException {
    int at = next(4);
    return ((bytes[at] & 0xff) << 24) | ((bytes[at + 1] & 0xff) << 16) | ((bytes[at + 2] & 0xff) << 8)
        | (bytes[at + 3] & 0xff);
  }

  @Override
  public long readLong() throws IOException {
    return ((long) readInt() << 32) | (readInt() & 0xffffffffL);
  }

  @Override
  public float readFloat() throws IOException {
    return Float.intBitsToFloat(readInt());
  }

  @Override
  public double readDouble() throws IOException {
    return Double.longBitsToDouble(readLong());
  }

  @Override
  public String readLine() {
    throw new UnsupportedOperationException("records are not read by lines");
  }

  @Override
  public String readUTF() throws IOException {
    return DataInputStream.readUTF(this);
  }
}
