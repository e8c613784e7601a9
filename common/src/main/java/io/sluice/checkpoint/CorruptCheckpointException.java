package io.sluice.checkpoint;

import java.io.IOException;

/** A metadata file that is truncated, corrupt, or of an unknown format. */
public final class CorruptCheckpointException extends IOException {
  private static final long serialVersionUID = 1L;

  public CorruptCheckpointException(String message) {
    super(message);
  }
}
