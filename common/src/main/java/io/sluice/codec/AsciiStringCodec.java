package io.sluice.codec;

import java.io.DataOutput;
import java.io.IOException;

/**
 * A codec that writes a {@code String} of ASCII characters from the characters' bytes, exactly
 * as it writes that {@code String}, without one being made: map tasks that hold short keys
 * packed into longs write a million distinct keys a batch at K = 1M, and making a {@code String}
 * of each only to encode it again was a tenth of such a task.
 */
public interface AsciiStringCodec {
  /** Writes the string of the first {@code length} bytes of {@code chars}, each at most 0x7F. */
  void writeAscii(byte[] chars, int length, DataOutput out) throws IOException;
}
