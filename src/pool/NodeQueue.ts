import type { Attempt } from './NodeAttempts.js';
import { brokeMidway } from './NodeAttempts.js';
import type { PassiveHealth } from './PassiveHealth.js';

/** What {@link NodeQueue.next} may reach for once the candidates are used up. */
export interface NextOptions {
  /** A node held back only by its open circuit (a breaker moves traffic; it does not turn it away). */
  readonly anyHeld: boolean;
  /** The other nodes worth a try (`more`), and a node whose connection broke mid-way, once more. */
  readonly widen: boolean;
  /**
   * With `widen`: whether that node may be asked once more now. Not when it would take the last
   * attempt a pause before asking every node again can have (see `http.retryDelayMs`): that round
   * asks the best node first, and the broken one too.
   */
  readonly onceMore?: boolean;
}

/**
 * The order one request asks the nodes in, for the {@link HttpDispatcher} and the
 * {@link HedgedSend}: the candidates that take requests now, best first (the others are held
 * back: cooling down after a rate limit, circuit open); once they are used up, the other nodes
 * worth a try (`more`: nodes the probes hold down or lagging); then a node held back only by its
 * circuit; last, a node whose connection broke mid-way ({@link brokeMidway}), once more on a new
 * connection (only a request safe to repeat reports such failures: see {@link failed}).
 */
export class NodeQueue {
  readonly #passive: PassiveHealth;
  readonly #queue: string[];
  #more: (() => readonly string[]) | undefined;
  /** Candidates passed over because they took no request then. */
  readonly held: string[] = [];
  readonly #broken: string[] = [];
  readonly #retried = new Set<string>();

  constructor(passive: PassiveHealth, nodes: readonly string[], more: () => readonly string[]) {
    this.#passive = passive;
    this.#queue = [...nodes];
    this.#more = more;
  }

  /** The next node to ask, admitted by the passive health (or held only by its circuit); `undefined` when none is left. */
  next({ anyHeld, widen, onceMore = widen }: NextOptions): string | undefined {
    const passive = this.#passive;
    for (;;) {
      if (this.#queue.length === 0 && widen && this.#more) {
        this.#queue.push(...this.#more());
        this.#more = undefined;
      }
      const name = this.#queue.shift();
      if (name !== undefined) {
        if (passive.admit(name)) return name;
        this.held.push(name);
        continue;
      }
      const circuitOnly = anyHeld ? this.held.find((n) => passive.heldByCircuitOnly(n)) : undefined;
      if (circuitOnly !== undefined) {
        this.held.splice(this.held.indexOf(circuitOnly), 1);
        return circuitOnly;
      }
      if (!widen || !onceMore) return undefined;
      // Its circuit may have opened meanwhile (a reset fails every request on the connection at
      // once): like any node held only by its circuit, it is asked all the same.
      for (let again = this.#broken.shift(); again !== undefined; again = this.#broken.shift()) {
        this.#retried.add(again);
        if (passive.admit(again) || passive.heldByCircuitOnly(again)) return again;
      }
      return undefined;
    }
  }

  /** `name`'s attempt failed: a read whose connection broke mid-way may ask it once more. */
  failed(name: string, attempt: Attempt, repeatable: boolean): void {
    if (repeatable && brokeMidway(attempt) && !this.#retried.has(name)) this.#broken.push(name);
  }
}
