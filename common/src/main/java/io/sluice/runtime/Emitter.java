package io.sluice.runtime;

/**
 * Receives the records of one operator within a task. {@link #finish()} is called once per
 * incoming edge after its last record; the emitter flushes when the last edge finishes.
 */
interface Emitter {

  void emit(Object record) throws Exception;

  void finish() throws Exception;
}
