package io.sluice.api;

import io.sluice.codec.AsciiStringCodec;
import io.sluice.codec.KryoCodec;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/** Codecs for the common types, and {@link #auto()}, which picks one per value. */
public final class Codecs {
  private Codecs() {}

  public static final Codec<String> STRING = new StringCodec();

  public static final Codec<Long> LONG = new Simple<>("long") {
    @Override
    public void write(Long value, DataOutput out) throws IOException {
      out.writeLong(value);
    }

    @Override
    public Long read(DataInput in) throws IOException {
      return in.readLong();
    }
  };

  public static final Codec<Integer> INT = new Simple<>("int") {
    @Override
    public void write(Integer value, DataOutput out) throws IOException {
      out.writeInt(value);
    }

    @Override
    public Integer read(DataInput in) throws IOException {
      return in.readInt();
    }
  };

  public static final Codec<Double> DOUBLE = new Simple<>("double") {
    @Override
    public void write(Double value, DataOutput out) throws IOException {
      out.writeDouble(value);
    }

    @Override
    public Double read(DataInput in) throws IOException {
      return in.readDouble();
    }
  };

  public static final Codec<byte[]> BYTES = new Simple<>("bytes") {
    @Override
    public void write(byte[] value, DataOutput out) throws IOException {
      out.writeInt(value.length);
      out.write(value);
    }

    @Override
    public byte[] read(DataInput in) throws IOException {
      byte[] b = new byte[in.readInt()];
      in.readFully(b);
      return b;
    }
  };

  private static final Codec<Object> AUTO = new AutoCodec();

  /**
   * A self-describing codec for null, String, Long, Integer, Double, Boolean, byte[], {@link Pair}
   * and {@link List} of those, and Kryo for every other type. A value Kryo cannot encode fails its
   * batch, naming the operator; declare the type with {@link #kryo(Class)} to have it checked at start.
   */
  @SuppressWarnings("unchecked")
  public static <T> Codec<T> auto() {
    return (Codec<T>) AUTO;
  }

  /**
   * Kryo for values of {@code type} and its subclasses, written with their class name. The type is
   * checked when the application starts: a lambda, an inner class, or a field holding a resource
   * (a stream, a thread, a class loader) is reported with the operator that uses it. As a key
   * codec, prefer types whose encoding does not depend on hash order (no HashMap fields).
   */
  public static <T> Codec<T> kryo(Class<T> type) {
    return new KryoCodec<>(type);
  }

  public static <K, V> Codec<Pair<K, V>> pair(Codec<K> keys, Codec<V> values) {
    return new PairCodec<>(keys, values);
  }

  /** The codec of a pair stream: keys and values encoded apart, so keys can be grouped by their bytes. */
  public record PairCodec<K, V>(Codec<K> keys, Codec<V> values) implements Codec<Pair<K, V>> {
    @Override
    public String name() {
      return "pair(" + keys.name() + "," + values.name() + ")";
    }

    @Override
    public void write(Pair<K, V> value, DataOutput out) throws IOException {
      keys.write(value.key(), out);
      values.write(value.value(), out);
    }

    @Override
    public Pair<K, V> read(DataInput in) throws IOException {
      return Pair.of(keys.read(in), values.read(in));
    }
  }

  public static <T> Codec<List<T>> list(Codec<T> elements) {
    return new Simple<>("list(" + elements.name() + ")") {
      @Override
      public void write(List<T> value, DataOutput out) throws IOException {
        out.writeInt(value.size());
        for (T e : value) {
          elements.write(e, out);
        }
      }

      @Override
      public List<T> read(DataInput in) throws IOException {
        int n = in.readInt();
        List<T> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
          list.add(elements.read(in));
        }
        return list;
      }
    };
  }

  // Strings longer than writeUTF's 64 KiB limit must work too, hence the explicit UTF-8 bytes.
  private static void writeString(String value, DataOutput out) throws IOException {
    byte[] utf8 = value.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    out.writeInt(utf8.length);
    out.write(utf8);
  }

  /** As {@link #writeString} writes the ASCII string of these bytes, which are its UTF-8 bytes too. */
  private static void writeAsciiString(byte[] chars, int length, DataOutput out) throws IOException {
    out.writeInt(length);
    out.write(chars, 0, length);
  }

  private static String readString(DataInput in) throws IOException {
    byte[] utf8 = new byte[in.readInt()];
    in.readFully(utf8);
    return new String(utf8, java.nio.charset.StandardCharsets.UTF_8);
  }

  private abstract static class Simple<T> implements Codec<T> {
    private final String name;

    Simple(String name) {
      this.name = name;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public String toString() {
      return name;
    }
  }

  private static final class StringCodec extends Simple<String> implements AsciiStringCodec {
    StringCodec() {
      super("string");
    }

    @Override
    public void write(String value, DataOutput out) throws IOException {
      writeString(value, out);
    }

    @Override
    public void writeAscii(byte[] chars, int length, DataOutput out) throws IOException {
      writeAsciiString(chars, length, out);
    }

    @Override
    public String read(DataInput in) throws IOException {
      return readString(in);
    }
  }

  private static final class AutoCodec extends Simple<Object> implements AsciiStringCodec {
    private static final int NULL = 0;
    private static final int STRING_TAG = 1;
    private static final int LONG_TAG = 2;
    private static final int INT_TAG = 3;
    private static final int DOUBLE_TAG = 4;
    private static final int BOOLEAN_TAG = 5;
    private static final int BYTES_TAG = 6;
    private static final int PAIR_TAG = 7;
    private static final int LIST_TAG = 8;
    private static final int KRYO_TAG = 9;

    AutoCodec() {
      super("auto");
    }

    @Override
    public void writeAscii(byte[] chars, int length, DataOutput out) throws IOException {
      out.writeByte(STRING_TAG);
      writeAsciiString(chars, length, out);
    }

    @Override
    public void write(Object value, DataOutput out) throws IOException {
      if (value == null) {
        out.writeByte(NULL);
      } else if (value instanceof String s) {
        out.writeByte(STRING_TAG);
        writeString(s, out);
      } else if (value instanceof Long l) {
        out.writeByte(LONG_TAG);
        out.writeLong(l);
      } else if (value instanceof Integer i) {
        out.writeByte(INT_TAG);
        out.writeInt(i);
      } else if (value instanceof Double d) {
        out.writeByte(DOUBLE_TAG);
        out.writeDouble(d);
      } else if (value instanceof Boolean b) {
        out.writeByte(BOOLEAN_TAG);
        out.writeBoolean(b);
      } else if (value instanceof byte[] bytes) {
        out.writeByte(BYTES_TAG);
        BYTES.write(bytes, out);
      } else if (value instanceof Pair<?, ?> p) {
        out.writeByte(PAIR_TAG);
        write(p.key(), out);
        write(p.value(), out);
      } else if (value instanceof List<?> list) {
        out.writeByte(LIST_TAG);
        out.writeInt(list.size());
        for (Object e : list) {
          write(e, out);
        }
      } else {
        out.writeByte(KRYO_TAG);
        KryoCodec.ANY.write(value, out);
      }
    }

    @Override
    public Object read(DataInput in) throws IOException {
      int tag = in.readByte();
      return switch (tag) {
        case NULL -> null;
        case STRING_TAG -> readString(in);
        case LONG_TAG -> in.readLong();
        case INT_TAG -> in.readInt();
        case DOUBLE_TAG -> in.readDouble();
        case BOOLEAN_TAG -> in.readBoolean();
        case BYTES_TAG -> BYTES.read(in);
        case PAIR_TAG -> Pair.of(read(in), read(in));
        case LIST_TAG -> {
          int n = in.readInt();
          List<Object> list = new ArrayList<>(n);
          for (int i = 0; i < n; i++) {
            list.add(read(in));
          }
          yield list;
        }
        case KRYO_TAG -> KryoCodec.ANY.read(in);
        default -> throw new IOException("corrupt record: unknown type tag " + tag);
      };
    }
  }
}
