/**
 * The client messages that the frames of one network read cause, passed on together once the
 * read is handled: in a microtask, or before anything else the session emits, whichever comes
 * first (see {@link SocketTransport.readsInTasks}). The order of everything the session emits is
 * the order in which it was caused; only the time moves, to the end of the task that handled the
 * read.
 *
 * Why: ws hands over a read's frames (dozens of notifications) one after another in one task.
 * Passed on one by one, the session's work on each frame and its client's (a JSON.parse, say) take
 * turns, and each evicts the other's code and data from the processor's caches; passed on
 * together, each runs warm. Measured by `npm run bench`'s notifications row.
 */
export class HeldMessages {
  /** Set while a frame of a transport that reads in tasks of its own is handled: messages wait. */
  holding = false;
  readonly #emit: (text: string) => void;
  #texts: string[] = [];
  /** The first of `#texts` not passed on yet: a listener may cause a release within a release. */
  #next = 0;
  readonly #release = (): void => this.release();

  /** `emit`: passes one message on (and must not release what is held itself). */
  constructor(emit: (text: string) => void) {
    this.#emit = emit;
  }

  /** Holds `text` until the end of the task, or the session's next emit. */
  push(text: string): void {
    if (this.#texts.length === 0) queueMicrotask(this.#release);
    this.#texts.push(text);
  }

  /**
   * Passes on what is held, in order. A listener that makes the session emit again (a send
   * answered at once, a close) releases the rest first, from within; one that throws leaves the
   * rest for a microtask of its own.
   */
  release(): void {
    const texts = this.#texts;
    if (this.#next === texts.length) return;
    try {
      while (this.#next < texts.length) this.#emit(texts[this.#next++]!);
    } finally {
      if (this.#next === texts.length) {
        // Let go of the texts; the array stays for the next read.
        texts.length = 0;
        this.#next = 0;
      } else {
        queueMicrotask(this.#release);
      }
    }
  }
}
