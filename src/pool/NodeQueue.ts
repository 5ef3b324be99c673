import { isSteadyRpcError } from '../errors.js';
import { isNotDelivered } from '../transport/HttpTransport.js';
import type { Attempt } from './NodeAttempts.js';
import { brokeMidway } from './NodeAttempts.js';
import type { PassiveHealth } from './PassiveHealth.js';

/** What {@link NodeQueue.next} may reach for once the candidates are used up. */
export interface NextOptions {
  /** A node held back only by its open circuit (a breaker moves traffic; it does not turn it away). */
  readonly anyHeld: boolean;
  /** The other nodes worth a try (`more`), and a node whose connection broke mid-way, once more. */
  readonly widen: boolean;
}

/** Where a {@link NodeQueue} takes the nodes to ask from, at first and after each pause. */
export interface NodeSource {
  /** The candidates that may take the request now, best first. */
  candidates(): readonly string[];
  /** The other nodes worth a try once every one of `candidates` failed. */
  more(candidates: readonly string[]): readonly string[];
}

/**
 * The order one request asks the nodes in, for the {@link HttpDispatcher} and the
 * {@link HedgedSend}: the candidates that take requests now, best first (the others are held
 * back: cooling down after a rate limit, circuit open); once they are used up, the other nodes
 * worth a try (`more`: nodes the probes hold down or lagging); then a node held back only by its
 * circuit; last, a node whose connection broke mid-way ({@link brokeMidway}), once more on a new
 * connection (only a request safe to repeat reports such failures: see {@link failed}).
 *
 * Once every node worth asking failed, in a way that may be over in a moment, the caller may pause
 * `retryDelayMs` ({@link mayPause}) and {@link restart} from the pool as it is then.
 */
export class NodeQueue {
  readonly #passive: PassiveHealth;
  readonly #source: NodeSource;
  readonly retryDelayMs: number;
  #queue: string[];
  #more: (() => readonly string[]) | undefined;
  /** Candidates passed over because they took no request then. */
  held: string[] = [];
  #broken: string[] = [];
  #retried = new Set<string>();
  /**
   * A node failed the request in a way that may be over in a moment: no answer at all (refused,
   * broken, timed out), an HTTP 5xx or 408. Not a rate limit (it says how long), nor another 4xx
   * or a body that is no JSON-RPC answer (the same request would get the same).
   */
  #mayBeBack = false;
  /** A node refused it: it is down this moment, which a pause rides out better than a new connection. */
  #refused = false;

  /** `nodes`: the candidates at first (see {@link NodeSource.candidates}); `retryDelayMs` 0: no pause. */
  constructor(passive: PassiveHealth, nodes: readonly string[], source: NodeSource, retryDelayMs: number) {
    this.#passive = passive;
    this.#source = source;
    this.retryDelayMs = retryDelayMs;
    this.#queue = [...nodes];
    this.#more = () => source.more(nodes);
  }

  /**
   * The next node to ask, admitted by the passive health (or held only by its circuit); `undefined`
   * when none is left. `keepForPause`: it would take the last attempt a pause can have; after a
   * refusal, that attempt is kept for the round after the pause rather than spent on a broken node
   * once more (a connection that broke alone is more likely a stale keep-alive socket, which a new
   * connection at once mends).
   */
  next({ anyHeld, widen }: NextOptions, keepForPause = false): string | undefined {
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
      if (!widen || (keepForPause && this.#refused)) return undefined;
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
    if (attempt.kind === 'failed') {
      this.#mayBeBack ||= mayBeOverSoon(attempt) && !this.#passive.coolingDown(name);
      this.#refused ||= isNotDelivered(attempt.error);
    }
    if (repeatable && brokeMidway(attempt) && !this.#retried.has(name)) this.#broken.push(name);
  }

  /**
   * Whether a pause, then asking every node again, may help once none is left: a node failed in a
   * way that may be over in a moment, and none answered (`answered`: a node's own answer is at hand).
   */
  mayPause(answered: boolean): boolean {
    return !answered && this.#mayBeBack && this.retryDelayMs > 0;
  }

  /** After the pause: the nodes are asked again, in order, from the pool as it is now. */
  restart(): void {
    const nodes = this.#source.candidates();
    this.#queue = [...nodes];
    this.#more = () => this.#source.more(nodes);
    this.held = [];
    this.#broken = [];
    this.#retried = new Set();
  }
}

/**
 * A failed attempt that a moment may mend: no answer at all (but not a body that does not decode,
 * a bad answer the same request would get again), or HTTP 5xx or 408.
 */
function mayBeOverSoon({ status, error }: Attempt & { kind: 'failed' }): boolean {
  if (status === undefined) return !isSteadyRpcError(error, 'ERR_BAD_RESPONSE');
  return status >= 500 || status === 408;
}
