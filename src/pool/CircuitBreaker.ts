import { SteadyRpcError } from '../errors.js';

/**
 * `closed`: requests go to the node. `open`: they go elsewhere until the open time is up.
 * `half-open`: the time is up, and one request (the trial) may go to find out.
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /**
   * Consecutive failed HTTP attempts (no answer within the attempt timeout, a connection refused or
   * broken, an HTTP 5xx, a reply that is not JSON-RPC) that open a node's circuit. An answer of any
   * kind, a JSON-RPC error included, starts the count over; a rate limit counts neither way.
   * @default 3
   */
  failures?: number;
  /**
   * How long an open circuit keeps requests away before it lets one through (half-open), in ms.
   * Doubled each time that trial fails, up to `maxOpenMs`. Long enough that the health probes
   * usually mark a dead node down first (then the node is out of `usable()` anyway, and its circuit
   * closes when the probes bring it back).
   * @default 30_000
   */
  openMs?: number;
  /** Cap on the open time, in ms. @default 300_000 */
  maxOpenMs?: number;
}

export const CIRCUIT_BREAKER_DEFAULTS: Readonly<Required<CircuitBreakerOptions>> = Object.freeze({ failures: 3, openMs: 30_000, maxOpenMs: 300_000 });

/** Validated breaker settings; `false` turns the breaker off. */
export function circuitBreakerSettings(options: CircuitBreakerOptions | false | undefined): Readonly<Required<CircuitBreakerOptions>> | false {
  if (options === false) return false;
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected breaker to be an object or false, got ${String(options)}`);
  }
  const { failures, openMs, maxOpenMs } = { ...CIRCUIT_BREAKER_DEFAULTS, ...options };
  if (!Number.isInteger(failures) || failures < 1) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected breaker.failures to be an integer >= 1, got ${failures}`);
  }
  if (typeof openMs !== 'number' || !Number.isFinite(openMs) || openMs <= 0) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected breaker.openMs to be a finite number > 0, got ${openMs}`);
  }
  if (typeof maxOpenMs !== 'number' || !Number.isFinite(maxOpenMs) || maxOpenMs < openMs) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected breaker.maxOpenMs to be a finite number >= breaker.openMs (${openMs}), got ${maxOpenMs}`);
  }
  return Object.freeze({ failures, openMs, maxOpenMs });
}

/** A change of state, for the pool to publish. */
export interface CircuitChange {
  readonly from: CircuitState;
  readonly to: CircuitState;
  /** When an `open` circuit lets a trial through. */
  readonly openUntil: number | undefined;
}

/**
 * One node's circuit breaker over consecutive failures (cockatiel's ConsecutiveBreaker, with the
 * open time doubling while trials fail). Time is passed in; it sets no timer: an open circuit
 * turns half-open when a request asks after its time is up.
 */
export class CircuitBreaker {
  readonly #settings: Readonly<Required<CircuitBreakerOptions>>;
  #state: CircuitState = 'closed';
  #failures = 0;
  /** Trials failed in a row: the open time doubles with each. */
  #reopened = 0;
  #openUntil: number | undefined;
  #trialInFlight = false;
  /** When the trial under way was let through. */
  #trialAt = -Infinity;

  constructor(settings: Readonly<Required<CircuitBreakerOptions>>) {
    this.#settings = settings;
  }

  /** The state at `now` (an open circuit whose time is up reads `half-open`). */
  state(now: number): CircuitState {
    return this.#state === 'open' && now >= this.#openUntil! ? 'half-open' : this.#state;
  }

  get openUntil(): number | undefined {
    return this.#openUntil;
  }

  /** Whether a request would be let through at `now`, without taking the trial. */
  admits(now: number): boolean {
    const state = this.state(now);
    return state === 'closed' || (state === 'half-open' && !this.#trialInFlight);
  }

  /** Lets a request through at `now` if it may go: when half-open, it becomes the one trial. */
  admit(now: number): { admitted: boolean; change?: CircuitChange } {
    if (!this.admits(now)) return { admitted: false };
    if (this.#state === 'closed') return { admitted: true };
    this.#trialInFlight = true;
    this.#trialAt = now;
    if (this.#state === 'half-open') return { admitted: true };
    return { admitted: true, change: this.#move('half-open', this.#openUntil) };
  }

  /** The node answered: the count starts over, and a half-open circuit closes. */
  succeeded(): CircuitChange | undefined {
    this.#failures = 0;
    this.#trialInFlight = false;
    if (this.#state === 'closed') return undefined;
    this.#reopened = 0;
    return this.#move('closed', undefined);
  }

  /**
   * An attempt sent at `sentAt` (unknown: the trial) failed at `now`: the circuit opens at the
   * threshold, or again when the trial failed. One sent before the trial (before the circuit
   * opened) is not the trial: it proves nothing new.
   */
  failed(now: number, sentAt?: number): CircuitChange | undefined {
    if (this.#state === 'closed') {
      this.#failures += 1;
      if (this.#failures < this.#settings.failures) return undefined;
    } else if (this.#state === 'half-open') {
      if (sentAt !== undefined && sentAt < this.#trialAt) return undefined;
      this.#reopened += 1;
    } else {
      return undefined; // a request that left before it opened: it proves nothing new
    }
    this.#trialInFlight = false;
    const { openMs, maxOpenMs } = this.#settings;
    return this.#move('open', now + Math.min(openMs * 2 ** this.#reopened, maxOpenMs));
  }

  /**
   * A request sent at `sentAt` (unknown: the trial) ended with no verdict (its caller gave up, or a
   * rate limit): if it was the trial, the next request may try. One sent before the trial (before
   * the circuit opened) leaves it under way.
   */
  released(sentAt?: number): void {
    if (sentAt === undefined || sentAt >= this.#trialAt) this.#trialInFlight = false;
  }

  /** Closes the circuit whatever its state (the health probes brought the node back). */
  reset(): CircuitChange | undefined {
    this.#failures = 0;
    this.#reopened = 0;
    this.#trialInFlight = false;
    return this.#state === 'closed' ? undefined : this.#move('closed', undefined);
  }

  #move(to: CircuitState, openUntil: number | undefined): CircuitChange {
    const from = this.#state;
    this.#state = to;
    this.#openUntil = openUntil;
    return { from, to, openUntil };
  }
}
