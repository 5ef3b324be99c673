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
  timer: TimerHandle | undefined;
}

/**
 * The requests a session sends on its own behalf — subscription replays, keepalive probes,
 * unsubscribes of orphaned upstream subscriptions, backfill — and the swallowing of their answers.
 * Whatever it claims never reaches the client: that is the fix for the seeds' incident, where
 * replayed `eth_subscribe` answers leaked to clients and broke their JSON-RPC state.
 */
export class ReplayFilter {
  readonly #clock: Clock;
  readonly #requests = new Map<number, OwnRequest>();
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
  own(id: number, purpose: OwnPurpose, owner: object, timeoutMs: number, handlers: OwnRequestHandlers): void {
    const request: OwnRequest = { ...handlers, purpose, owner, timer: undefined };
    request.timer = this.#clock.setTimeout(() => {
      request.timer = undefined;
      if (this.#requests.get(id) !== request) return;
      this.#requests.delete(id);
      request.onFail(new SteadyRpcError('ERR_TIMEOUT', `${purpose} request got no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    this.#requests.set(id, request);
  }

  /**
   * If `id` is one of the session's own requests, hands the answer to its owner and returns true:
   * the caller must not forward it.
   */
  settle(id: number, response: JsonRpcResponse): boolean {
    const request = this.#requests.get(id);
    if (!request) return false;
    this.#requests.delete(id);
    if (request.timer !== undefined) this.#clock.clearTimeout(request.timer);
    this.#swallowed += 1;
    request.onAnswer(response);
    return true;
  }

  /** Fails every request sent on `owner` (its socket went away). */
  failOwner(owner: object, error: SteadyRpcError): void {
    for (const [id, request] of [...this.#requests]) {
      if (request.owner !== owner) continue;
      this.#requests.delete(id);
      if (request.timer !== undefined) this.#clock.clearTimeout(request.timer);
      request.onFail(error);
    }
  }

  /** Forgets every request and clears their timers, without calling anyone. */
  clear(): void {
    for (const request of this.#requests.values()) {
      if (request.timer !== undefined) this.#clock.clearTimeout(request.timer);
    }
    this.#requests.clear();
  }
}
