import type { Clock, TimerHandle } from '../Clock.js';
import { SteadyRpcError } from '../errors.js';
import type { JsonRpcResponse } from '../jsonrpc.js';

/** Why the session sent a request of its own. */
export type OwnPurpose = 'replay' | 'keepalive' | 'unsubscribe' | 'backfill';

export interface OwnRequestHandlers {
  /** The upstream answered (a result or a JSON-RPC error). */
  onAnswer(response: JsonRpcResponse): void;
  /** No answer: the deadline passed or the socket went away. */
  onFail(error: SteadyRpcError): void;
}

interface OwnRequest extends OwnRequestHandlers {
  readonly purpose: OwnPurpose;
  readonly owner: object;
  readonly timeoutMs: number;
  readonly deadline: number;
}

/** The requests with one timeout, in the order they were sent (so, by deadline), and one timer for them. */
interface Deadlines {
  readonly requests: Map<number, OwnRequest>;
  timer: TimerHandle | undefined;
}

/**
 * The requests a session sends on its own behalf — subscription replays, keepalive probes,
 * unsubscribes of orphaned upstream subscriptions, backfill — and the swallowing of their answers.
 * Whatever it claims never reaches the client: that is the fix for the seeds' incident, where
 * replayed `eth_subscribe` answers leaked to clients and broke their JSON-RPC state.
 *
 * Deadlines cost one timer per distinct timeout, not one per request: a session replaying its
 * subscriptions, times thousands of sessions failing over together, would otherwise create and
 * clear a timer for every replay.
 */
export class ReplayFilter {
  readonly #clock: Clock;
  readonly #requests = new Map<number, OwnRequest>();
  readonly #deadlines = new Map<number, Deadlines>();
  #swallowed = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Answers swallowed so far (for metrics and tests). */
  get swallowed(): number {
    return this.#swallowed;
  }

  get size(): number {
    return this.#requests.size;
  }

  /**
   * Claims upstream id `id` for a request the session sends itself. `owner` is the socket it was
   * sent on, so all of a socket's requests can be failed when it goes away.
   */
  own(id: number, purpose: OwnPurpose, owner: object, timeoutMs: number, { onAnswer, onFail }: OwnRequestHandlers): void {
    const request: OwnRequest = { onAnswer, onFail, purpose, owner, timeoutMs, deadline: this.#clock.now() + timeoutMs };
    this.#requests.set(id, request);
    let deadlines = this.#deadlines.get(timeoutMs);
    if (deadlines === undefined) {
      deadlines = { requests: new Map(), timer: undefined };
      this.#deadlines.set(timeoutMs, deadlines);
    }
    deadlines.requests.set(id, request);
    deadlines.timer ??= this.#clock.setTimeout(() => this.#expire(timeoutMs), timeoutMs);
  }

  /**
   * If `id` is one of the session's own requests, hands the answer to its owner and returns true:
   * the caller must not forward it.
   */
  settle(id: number, response: JsonRpcResponse): boolean {
    const request = this.#requests.get(id);
    if (!request) return false;
    this.#forget(id, request);
    this.#swallowed += 1;
    request.onAnswer(response);
    return true;
  }

  /** Fails every request sent on `owner` (its socket went away). */
  failOwner(owner: object, error: SteadyRpcError): void {
    for (const [id, request] of [...this.#requests]) {
      if (request.owner !== owner) continue;
      this.#forget(id, request);
      request.onFail(error);
    }
  }

  /** Forgets every request and clears their timers, without calling anyone. */
  clear(): void {
    for (const { timer } of this.#deadlines.values()) if (timer !== undefined) this.#clock.clearTimeout(timer);
    this.#deadlines.clear();
    this.#requests.clear();
  }

  #forget(id: number, request: OwnRequest): void {
    this.#requests.delete(id);
    const deadlines = this.#deadlines.get(request.timeoutMs)!;
    deadlines.requests.delete(id);
    if (deadlines.requests.size > 0) return;
    if (deadlines.timer !== undefined) this.#clock.clearTimeout(deadlines.timer);
    this.#deadlines.delete(request.timeoutMs);
  }

  /** The timer for `timeoutMs` fired: fails what is due, and waits for the next deadline. */
  #expire(timeoutMs: number): void {
    const deadlines = this.#deadlines.get(timeoutMs);
    if (!deadlines) return;
    deadlines.timer = undefined;
    const now = this.#clock.now();
    for (const [id, request] of deadlines.requests) {
      if (request.deadline > now) {
        // A failure handler may have sent another request meanwhile, and armed a later timer.
        if (deadlines.timer !== undefined) this.#clock.clearTimeout(deadlines.timer);
        deadlines.timer = this.#clock.setTimeout(() => this.#expire(timeoutMs), request.deadline - now);
        return;
      }
      this.#forget(id, request);
      request.onFail(new SteadyRpcError('ERR_TIMEOUT', `${request.purpose} request got no answer within ${timeoutMs} ms`));
    }
  }
}
