package io.sluice.runtime;

/** A failure inside one operator of a task, naming the operator. */
public final class OperatorException extends Exception {
  private static final long serialVersionUID = 1L;

  OperatorException(String operatorId, Throwable cause) {
    super("operator " + operatorId + " failed: " + cause, cause);
  }
}
