package io.sluice.runtime;

/**
 * The emitter of one operator in a task. It finishes once every incoming edge has finished, and
 * names the operator in a failure of its own work (a failure already named below it passes as it
 * is). Each kind of operator is its own subclass, and records go from one operator's emitter
 * straight to the next one's, with no shared wrapper between them: the JIT then sees one receiver
 * class at each call between operators and inlines a chain such as flatMap, mapToPair and the
 * shuffle writer into the source's loop, where a wrapper shared by all operators would make every
 * such call a megamorphic one. Confined to the task's thread.
 */
abstract class OperatorEmitter implements Emitter {
  private final String operatorId;
  private int unfinishedEdges;

  OperatorEmitter(String operatorId, int incomingEdges) {
    this.operatorId = operatorId;
    this.unfinishedEdges = incomingEdges;
  }

  @Override
  public final void finish() throws Exception {
    if (--unfinishedEdges > 0) {
      return;
    }
    try {
      flush();
    } catch (Exception e) {
      throw failure(e);
    }
  }

  /** Called once, after the last record of every incoming edge. */
  abstract void flush() throws Exception;

  /** {@code e} naming this operator, unless an operator below this one already named it. */
  final OperatorException failure(Exception e) {
    return e instanceof OperatorException named ? named : new OperatorException(operatorId, e);
  }
}
