package io.sluice.codec;

import com.google.common.io.ByteArrayDataOutput;
import com.google.common.io.ByteStreams;
import io.sluice.api.Codec;
import io.sluice.api.Codecs;
import io.sluice.api.SluiceException;
import java.io.DataInput;
import java.io.DataInputStream;
import java.io.DataOutput;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Optional;

/** Encoding of single records and of length-prefixed record blocks, with the operator named on failure. */
public final class RecordCodecs {
  private RecordCodecs() {}

  /** Encodes nothing: the key of a global reduction. */
  public static final Codec<Object> UNIT = new Codec<>() {
    @Override
    public String name() {
      return "unit";
    }

    @Override
    public void write(Object value, DataOutput out) {}

    @Override
    public Object read(DataInput in) {
      return null;
    }
  };

  /** Why a codec cannot encode its type, looking into pair codecs; empty when nothing is known against it. */
  public static Optional<String> problem(Codec<?> codec) {
    if (codec instanceof KryoCodec<?> kryo) {
      return kryo.problem();
    }
    if (codec instanceof Codecs.PairCodec<?, ?> pair) {
      return problem(pair.keys()).or(() -> problem(pair.values()));
    }
    return Optional.empty();
  }

  public static <T> byte[] encode(Codec<T> codec, T value, String operatorId) {
    ByteArrayDataOutput out = ByteStreams.newDataOutput();
    encodeTo(codec, value, out, operatorId);
    return out.toByteArray();
  }

  /** Encodes {@code value} into {@code out}, naming the operator when the codec cannot. */
  public static <T> void encodeTo(Codec<T> codec, T value, DataOutput out, String operatorId) {
    try {
      codec.write(value, out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (SluiceException e) {
      throw new SluiceException("operator " + operatorId + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      throw new SluiceException("operator " + operatorId + ": codec " + codec.name() + " cannot encode "
          + value.getClass().getName() + " (" + e + ")", e);
    }
  }

  public static <T> T decode(Codec<T> codec, byte[] bytes) {
    try {
      return codec.read(new BytesInput(bytes));
    } catch (IOException e) {
      throw new UncheckedIOException("corrupt record for codec " + codec.name(), e);
    }
  }

  /** Reads one length-prefixed chunk. */
  public static byte[] readChunk(DataInputStream in) throws IOException {
    byte[] b = new byte[in.readInt()];
    in.readFully(b);
    return b;
  }
}
