package io.sluice.api;

/**
 * An error a user can act on: the message says what is wrong and what to do, in one line, and is
 * shown as is by the command line.
 */
public class SluiceException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public SluiceException(String message) {
    super(message);
  }

  public SluiceException(String message, Throwable cause) {
    super(message, cause);
  }
}
