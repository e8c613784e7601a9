package io.sluice.codec;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import com.esotericsoftware.kryo.serializers.ImmutableCollectionsSerializers;
import com.esotericsoftware.kryo.util.DefaultInstantiatorStrategy;
import com.esotericsoftware.kryo.util.Pool;
import io.sluice.api.Codec;
import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import org.objenesis.strategy.StdInstantiatorStrategy;

/**
 * Kryo for the types the built-in codecs do not know: each value is written with its class name,
 * so subclasses and later readers need no registration, and classes without a no-argument
 * constructor (records among them) work. Kryo instances are not thread-safe, hence the pool.
 */
public final class KryoCodec<T> implements Codec<T> {
  /** The fallback of {@code Codecs.auto()} for values of any other type. */
  public static final KryoCodec<Object> ANY = new KryoCodec<>(Object.class);

  private final Class<T> type;
  private final Pool<Kryo> kryos;
  private final Pool<Output> outputs = new Pool<>(true, false, 16) {
    @Override
    protected Output create() {
      return new Output(4096, -1);
    }
  };

  public KryoCodec(Class<T> type) {
    this.type = type;
    ClassLoader loader = type == Object.class ? contextLoader() : type.getClassLoader();
    this.kryos = new Pool<>(true, false, 16) {
      @Override
      protected Kryo create() {
        Kryo kryo = new Kryo();
        kryo.setRegistrationRequired(false);
        kryo.setReferences(true);
        kryo.setInstantiatorStrategy(new DefaultInstantiatorStrategy(new StdInstantiatorStrategy()));
        ImmutableCollectionsSerializers.addDefaultSerializers(kryo);
        if (loader != null) {
          kryo.setClassLoader(loader);
        }
        return kryo;
      }
    };
  }

  private static ClassLoader contextLoader() {
    ClassLoader context = Thread.currentThread().getContextClassLoader();
    return context != null ? context : KryoCodec.class.getClassLoader();
  }

  @Override
  public String name() {
    return "kryo(" + type.getName() + ")";
  }

  @Override
  public void write(T value, DataOutput out) throws IOException {
    Kryo kryo = kryos.obtain();
    Output buffer = outputs.obtain();
    try {
      buffer.reset();
      kryo.writeClassAndObject(buffer, value);
      out.writeInt(buffer.position());
      out.write(buffer.getBuffer(), 0, buffer.position());
    } finally {
      outputs.free(buffer);
      kryos.free(kryo);
    }
  }

  @Override
  public T read(DataInput in) throws IOException {
    byte[] bytes = new byte[in.readInt()];
    in.readFully(bytes);
    Kryo kryo = kryos.obtain();
    try {
      return type.cast(kryo.readClassAndObject(new Input(bytes)));
    } finally {
      kryos.free(kryo);
    }
  }

  /**
   * Why values of this codec's type cannot be encoded, or empty when nothing is known against
   * them: asked when the graph is built, so that such a type fails the start, not a batch.
   */
  public Optional<String> problem() {
    if (type == Object.class) {
      return Optional.empty();
    }
    Optional<String> found = problemOf(type, type.getName(), new HashSet<>());
    if (found.isPresent() || Modifier.isAbstract(type.getModifiers())) {
      return found;
    }
    Kryo kryo = kryos.obtain();
    try {
      kryo.getSerializer(type);
      kryo.getInstantiatorStrategy().newInstantiatorOf(type);
      return Optional.empty();
    } catch (RuntimeException e) {
      return Optional.of("Kryo cannot handle " + type.getName() + ": " + e.getMessage());
    } finally {
      kryos.free(kryo);
    }
  }

  /** Looks through the fields of {@code c}, and of the application's own types they hold, for what is not data. */
  private static Optional<String> problemOf(Class<?> c, String path, Set<Class<?>> seen) {
    while (c.isArray()) {
      c = c.getComponentType();
    }
    if (c.isPrimitive() || !seen.add(c)) {
      return Optional.empty();
    }
    if (c.isSynthetic() || c.getName().contains("$$Lambda")) {
      return Optional.of(path + " is a lambda, which is code, not data");
    }
    if (AutoCloseable.class.isAssignableFrom(c) || Thread.class.isAssignableFrom(c)
        || ClassLoader.class.isAssignableFrom(c)) {
      return Optional.of(path + " is a " + c.getName() + ", a resource rather than data; mark the field transient");
    }
    if (c.isAnonymousClass() || c.isLocalClass() || (c.isMemberClass() && !Modifier.isStatic(c.getModifiers()))) {
      return Optional.of(path + " is an inner class (" + c.getName() + "), which drags its enclosing object along; "
          + "make it static or a record");
    }
    if (c.getName().startsWith("java.") || c.getName().startsWith("javax.")) {
      return Optional.empty();
    }
    for (Class<?> k = c; k != null && k != Object.class; k = k.getSuperclass()) {
      for (Field f : k.getDeclaredFields()) {
        int m = f.getModifiers();
        if (Modifier.isStatic(m) || Modifier.isTransient(m)) {
          continue;
        }
        Optional<String> p = problemOf(f.getType(), "field " + k.getSimpleName() + "." + f.getName(), seen);
        if (p.isPresent()) {
          return p;
        }
      }
    }
    return Optional.empty();
  }

  @Override
  public String toString() {
    return name();
  }
}
