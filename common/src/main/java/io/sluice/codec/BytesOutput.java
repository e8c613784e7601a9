package io.sluice.codec;

import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A {@link DataOutput} into a growable byte array, the counterpart of {@link BytesInput}: unlike a
 * {@code DataOutputStream} over a {@code ByteArrayOutputStream} it takes no lock per byte, which
 * matters where every record of a batch is written. Confined to one thread.
 */
public final class BytesOutput extends OutputStream implements DataOutput {
  private static final VarHandle LONGS_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private byte[] bytes;
  private int size;

  public BytesOutput(int initialCapacity) {
    this.bytes = new byte[Math.max(16, initialCapacity)];
  }

  /** The bytes written: the first {@link #size()} of this array, which later writes may replace. */
  public byte[] array() {
    return bytes;
  }

  public int size() {
    return size;
  }

  public void reset() {
    size = 0;
  }

  public byte[] toByteArray() {
    return Arrays.copyOf(bytes, size);
  }

  /** Makes room for {@code n} more bytes (possibly in a new array) and returns where they go. */
  private int reserve(int n) {
    if (size + n > bytes.length) {
      bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + n));
    }
    int at = size;
    size += n;
    return at;
  }

  @Override
  public void write(int b) {
    int at = reserve(1);
    bytes[at] = (byte) b;
  }

  @Override
  public void write(byte[] b) {
    write(b, 0, b.length);
  }

  @Override
  public void write(byte[] b, int off, int len) {
    int at = reserve(len);
    System.arraycopy(b, off, bytes, at, len);
  }

  @Override
  public void writeBoolean(boolean v) {
    write(v ? 1 : 0);
  }

  @Override
  public void writeByte(int v) {
    write(v);
  }

  @Override
  public void writeShort(int v) {
    int at = reserve(2);
    bytes[at] = (byte) (v >>> 8);
    bytes[at + 1] = (byte) v;
  }

  @Override
  public void writeChar(int v) {
    writeShort(v);
  }

  @Override
  public void writeInt(int v) {
    int at = reserve(4); // may replace the array, so it is read after
    putInt(bytes, at, v);
  }

  /**
   * Writes {@code v}, taken as unsigned, into {@code target} at {@code offset} as a varint (seven
   * bits a byte, lowest first, as protobuf writes them; at most five bytes); returns the offset after it.
   */
  static int putVarint(byte[] target, int offset, int v) {
    while ((v & ~0x7f) != 0) {
      target[offset++] = (byte) ((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    target[offset] = (byte) v;
    return offset + 1;
  }

  /** The most bytes {@link #putVarint} writes. */
  public static final int MAX_VARINT_BYTES = 5;
  /** The most bytes {@link #writeVarlong} writes. */
  public static final int MAX_VARLONG_BYTES = 10;

  /** Writes {@code v}, taken as unsigned, as a varint, as {@link #putVarint} does. */
  public void writeVarint(int v) {
    int at = reserve(MAX_VARINT_BYTES); // may replace the array, so it is read after
    size = putVarint(bytes, at, v);
  }

  /** Writes {@code v}, taken as unsigned, as a varint of up to ten bytes, as protobuf writes a long's. */
  public void writeVarlong(long v) {
    int at = reserve(MAX_VARLONG_BYTES); // may replace the array, so it is read after
    while ((v & ~0x7fL) != 0) {
      bytes[at++] = (byte) ((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    bytes[at] = (byte) v;
    size = at + 1;
  }

  /**
   * Writes the first {@code length} (at most 16) bytes of {@code low} then {@code high}, each taken
   * little-endian: bytes packed into two longs, written with two stores instead of one per byte.
   */
  public void writePacked(long low, long high, int length) {
    int at = reserve(2 * Long.BYTES);
    LONGS_LE.set(bytes, at, low);
    LONGS_LE.set(bytes, at + Long.BYTES, high);
    size = at + length;
  }

  /** Writes {@code v} big-endian, as {@link #writeInt} does, into {@code target} at {@code offset}. */
  static void putInt(byte[] target, int offset, int v) {
    target[offset] = (byte) (v >>> 24);
    target[offset + 1] = (byte) (v >>> 16);
    target[offset + 2] = (byte) (v >>> 8);
    target[offset + 3] = (byte) v;
  }

  @Override
  public void writeLong(long v) {
    writeInt((int) (v >>> 32));
    writeInt((int) v);
  }

  @Override
  public void writeFloat(float v) {
    writeInt(Float.floatToIntBits(v));
  }

  @Override
  public void writeDouble(double v) {
    writeLong(Double.doubleToLongBits(v));
  }

  @Override
  public void writeBytes(String s) {
    for (int i = 0; i < s.length(); i++) {
      write(s.charAt(i));
    }
  }

  @Override
  public void writeChars(String s) {
    for (int i = 0; i < s.length(); i++) {
      writeChar(s.charAt(i));
    }
  }

  @Override
  public void writeUTF(String s) throws IOException {
    // Rare in codecs; DataOutputStream knows modified UTF-8.
    new DataOutputStream(this).writeUTF(s);
  }
}
