import { SteadyRpcError } from '../errors.js';
import type { JsonRpcResponse } from '../jsonrpc.js';

/**
 * Gathers the answers to one client batch, which may arrive in any order and from different
 * upstreams, and hands them over once: in the batch's order, one per request, none for
 * notifications. An empty result means every item was a notification, and per JSON-RPC the client
 * then gets nothing at all. `T` is how an answer is held: a session keeps each one as the text it
 * sends (with the client's exact id), so the batch is joined, not serialised again.
 */
export class BatchCollector<T = JsonRpcResponse> {
  readonly #slots: (T | undefined)[];
  readonly #settled: boolean[];
  readonly #onComplete: (responses: T[]) => void;
  #remaining: number;
  #done = false;

  constructor(size: number, onComplete: (responses: T[]) => void) {
    if (!Number.isInteger(size) || size < 1) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected size to be an integer >= 1, got ${size}`);
    }
    if (typeof onComplete !== 'function') {
      throw new SteadyRpcError('ERR_CONFIG', `Expected onComplete to be a function, got ${typeof onComplete}`);
    }
    this.#slots = new Array<T | undefined>(size).fill(undefined);
    this.#settled = new Array<boolean>(size).fill(false);
    this.#onComplete = onComplete;
    this.#remaining = size;
  }

  /** Records the answer for the request at `index`. A second answer for the same index is ignored. */
  set(index: number, response: T): void {
    if (this.#settle(index)) this.#slots[index] = response;
    this.#completeIfDone();
  }

  /** Marks the item at `index` as a notification: no answer is expected or sent for it. */
  skip(index: number): void {
    this.#settle(index);
    this.#completeIfDone();
  }

  /** Whether every item is answered or skipped (and `onComplete` has been called). */
  get complete(): boolean {
    return this.#remaining === 0;
  }

  /** Marks `index` as settled; false if it already was. */
  #settle(index: number): boolean {
    if (!Number.isInteger(index) || index < 0 || index >= this.#settled.length) {
      throw new RangeError(`Expected index to be an integer in [0, ${this.#settled.length - 1}], got ${index}`);
    }
    if (this.#settled[index]) return false;
    this.#settled[index] = true;
    this.#remaining--;
    return true;
  }

  #completeIfDone(): void {
    if (this.#remaining !== 0 || this.#done) return;
    this.#done = true;
    this.#onComplete(this.#slots.filter((r): r is T => r !== undefined));
  }
}
