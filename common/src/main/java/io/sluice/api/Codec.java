package io.sluice.api;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/**
 * Encodes records of one type for the shuffle and for collection to the driver. Encodings must be
 * deterministic: equal values give equal bytes, because keys are grouped by their encoding.
 */
public interface Codec<T> {

  /** A stable name, part of the graph fingerprint: change it when the encoding changes. */
  String name();

  void write(T value, DataOutput out) throws IOException;

  T read(DataInput in) throws IOException;
}
