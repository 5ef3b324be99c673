/**
 * The client messages that the frames of one network read cause, passed on together once the
 * read is handled: in a microtask, or before anything else the session emits, whichever comes
 * first (see {@link SocketTransport.readsInTasks}). The order of everything the session emits is
 * the order in which it was caused; only the time moves, to the end of the task that handled the
 * read. Listeners never run while messages are being held; what a listener of a released message
 * causes (an answer given at once, an event) goes out at once, ahead of the messages still waiting,
 * as it would have without them, since their frames would not have been read yet.
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
  readonly #thrown: (error: unknown) => void;
  /**
   * What waits, in order; a notification the client ended meanwhile is left out (undefined). Made
   * with the first message held, as is the rest: an idle session keeps none of it.
   */
  #texts: Array<string | undefined> | undefined;
  /** For each text, the client subscription it is a notification of, if it is one. */
  #subscriptions: Array<string | undefined> | undefined;
  /** The first of `#texts` not passed on yet: a listener may cause a release within a release. */
  #next = 0;
  /** Releases under way (a listener of one may cause another): what their listeners cause goes out at once. */
  #releasing = 0;
  #release: (() => void) | undefined;

  /**
   * `emit`: passes one message on (without releasing what is held itself). `thrown`: takes what a
   * listener of one threw, once the rest are out (the session throws it again in a task of its own,
   * as a throw from a socket's callback surfaces), so that it stops neither them nor the event whose
   * emit released them.
   */
  constructor(emit: (text: string) => void, thrown: (error: unknown) => void) {
    this.#emit = emit;
    this.#thrown = thrown;
  }

  /** Whether messages wait to be released. */
  get waiting(): boolean {
    return this.#texts !== undefined && this.#next < this.#texts.length;
  }

  /**
   * Whether a listener of a released message is running: what it causes goes out at once, ahead of
   * the messages still waiting, as it would have without them (their frames would not have been
   * read yet); an answer `send()` gives at once still comes within the call.
   */
  get releasing(): boolean {
    return this.#releasing > 0;
  }

  /** Holds `text` (a notification of the client's `subscription`, if given) until it is released. */
  push(text: string, subscription?: string): void {
    const texts = (this.#texts ??= []);
    if (texts.length === 0) queueMicrotask((this.#release ??= () => this.release()));
    texts.push(text);
    (this.#subscriptions ??= []).push(subscription);
  }

  /**
   * Leaves out the held notifications of `subscription`: the client ended it (a notification that
   * came after its `eth_unsubscribe` was taken is dropped, as one from a frame read after it would
   * be). Returns how many.
   */
  drop(subscription: string): number {
    const texts = this.#texts;
    const subscriptions = this.#subscriptions;
    let dropped = 0;
    if (texts === undefined || subscriptions === undefined) return dropped;
    for (let i = this.#next; i < texts.length; i++) {
      if (subscriptions[i] === subscription && texts[i] !== undefined) {
        texts[i] = undefined;
        dropped += 1;
      }
    }
    return dropped;
  }

  /** Passes on what is held, in order, with nothing held while its listeners run. */
  release(): void {
    const texts = this.#texts;
    if (texts === undefined || this.#next === texts.length) return;
    const holding = this.holding;
    this.holding = false;
    this.#releasing += 1;
    try {
      while (this.#next < texts.length) {
        const text = texts[this.#next++];
        if (text === undefined) continue;
        try {
          this.#emit(text);
        } catch (error) {
          this.#thrown(error);
        }
      }
      // Let go of the texts (a release within this one may have done it); the arrays stay for the next read.
      texts.length = 0;
      this.#subscriptions!.length = 0;
      this.#next = 0;
    } finally {
      this.holding = holding;
      this.#releasing -= 1;
    }
  }

  /**
   * Runs `fn` with nothing held: a call into the session from outside it, made while a frame is
   * handled (a pool listener's, say). What was held goes out first, as it would have gone before.
   */
  outside<T>(fn: () => T): T {
    if (!this.holding) return fn();
    this.release();
    return this.#unheld(fn);
  }

  /**
   * Runs `emit` (any other event of the session's) after what waits, its listeners with nothing
   * held. Returns false, `emit` not run, when a listener of what waited closed the session
   * (`closed`): what was caused after it is not told, as no frame after a close is read. What a
   * listener of a released message causes goes out at once (see {@link releasing}).
   */
  tell(emit: () => boolean, closed: () => boolean): boolean {
    if (this.waiting && !this.releasing) {
      const open = !closed();
      this.release();
      if (open && closed()) return false;
    }
    return this.#unheld(emit);
  }

  #unheld<T>(fn: () => T): T {
    if (!this.holding) return fn();
    this.holding = false;
    try {
      return fn();
    } finally {
      this.holding = true;
    }
  }
}
