/**
 * Calls a user's listener so that a throw cannot unwind into the session that is delivering a
 * frame (its state stays consistent): the error is rethrown on its own, as an uncaught exception,
 * exactly as a throwing listener of a plain emitter would surface.
 */
export function callListener<A extends unknown[]>(listener: (...args: A) => unknown, ...args: A): void {
  try {
    listener(...args);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}
