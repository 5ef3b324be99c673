import type { Clock, TimerHandle } from '../Clock.js';
import { LATE_TIMER_MS } from '../Clock.js';
import { SteadyRpcError } from '../errors.js';
import { FirstError } from '../FirstError.js';
import type { JsonRpcResponse } from '../jsonrpc.js';

/**
 * Why a request of one's own was sent: a subscription `replay`, a `keepalive` probe, the
 * `unsubscribe` of an upstream subscription nobody holds, or a `backfill` read. Named in the
 * timeout error.
 */
export type OwnPurpose = 'replay' | 'keepalive' | 'unsubscribe' | 'backfill';

/** Where the outcome of one request of one's own goes: exactly one of the two is called, once. */
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
  deadline: number;
  /** Given one more deadline because the timer ran late (see {@link LATE_TIMER_MS}). */
  extended?: true;
}

export interface ReplayFilterOptions {
  /** Source of time for the deadlines (`FakeClock` in tests). */
  clock: Clock;
}

/** The requests with one timeout, in the order they were sent (so, by deadline), and one timer for them. */
interface Deadlines {
  readonly requests: Map<number, OwnRequest>;
  timer: TimerHandle | undefined;
  /** When the timer should run, to tell how late it did. */
  due: number;
}

/**
 * The requests a session sends on its own behalf — subscription replays, keepalive probes,
 * unsubscribes of orphaned upstream subscriptions, backfill — and the swallowing of their answers.
 * Whatever it claims never reaches the client: that is the fix for the seeds' incident, where
 * replayed `eth_subscribe` answers leaked to clients and broke their JSON-RPC state.
 *
 * Use: send a request upstream under an id nothing else uses, {@link own} that id; pass every
 * answer from upstream to {@link settle} first and forward it to the client only when that returns
 * false; when a socket goes away, {@link failOwner} it. It owns the claimed ids, their handlers and
 * their deadlines (each request is answered or failed exactly once); it does not send anything,
 * choose ids, parse frames, or forward what it does not own (that stays the caller's).
 *
 * Deadlines cost one timer per distinct timeout, not one per request: a session replaying its
 * subscriptions, times thousands of sessions failing over together, would otherwise create and
 * clear a timer for every replay. A deadline timer that runs more than a second late (a hidden
 * tab's throttled timers, a frozen page, a machine that slept) gives the requests it would fail one
 * more deadline of their own length: their answers may be queued behind it.
 */
export class ReplayFilter {
  readonly #clock: Clock;
  readonly #requests = new Map<number, OwnRequest>();
  readonly #deadlines = new Map<number, Deadlines>();
  #swallowed = 0;

  constructor(options: ReplayFilterOptions) {
    const clock = (options as ReplayFilterOptions | null | undefined)?.clock;
    if (typeof clock?.now !== 'function' || typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function') {
      throw new SteadyRpcError('ERR_CONFIG', 'Expected clock to be a Clock (now, setTimeout, clearTimeout)');
    }
    this.#clock = clock;
  }

  /** Answers swallowed so far (for metrics and tests). */
  get swallowed(): number {
    return this.#swallowed;
  }

  /** Requests owned now, waiting for an answer. */
  get size(): number {
    return this.#requests.size;
  }

  /**
   * Claims upstream id `id` for a request sent on one's own behalf: its answer goes to `onAnswer`
   * (through {@link settle}), or, if none comes within `timeoutMs` ms, `onFail` gets `ERR_TIMEOUT`
   * (once more `timeoutMs` from then if the deadline timer ran late, see {@link LATE_TIMER_MS}).
   * `owner` is any object standing for the socket it was sent on, so that all of a socket's
   * requests can be failed at once when it goes away ({@link failOwner}).
   *
   * Throws a `RangeError` if `id` is already owned (the caller must not reuse an id before it is
   * settled or failed) or `timeoutMs` is not a finite number >= 0.
   */
  own(id: number, purpose: OwnPurpose, owner: object, timeoutMs: number, { onAnswer, onFail }: OwnRequestHandlers): void {
    if (this.#requests.has(id)) throw new RangeError(`Request id ${id} is already owned`);
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw new RangeError(`Expected timeoutMs to be a finite number >= 0, got ${String(timeoutMs)}`);
    }
    const request: OwnRequest = { onAnswer, onFail, purpose, owner, timeoutMs, deadline: this.#clock.now() + timeoutMs };
    this.#requests.set(id, request);
    let deadlines = this.#deadlines.get(timeoutMs);
    if (deadlines === undefined) {
      deadlines = { requests: new Map(), timer: undefined, due: 0 };
      this.#deadlines.set(timeoutMs, deadlines);
    }
    deadlines.requests.set(id, request);
    if (deadlines.timer === undefined) this.#arm(timeoutMs, deadlines, timeoutMs);
  }

  /**
   * If `id` is one of the owned requests, hands `response` to its `onAnswer` and returns true: the
   * caller must not forward it. Returns false for any other id (forward it as usual).
   */
  settle(id: number, response: JsonRpcResponse): boolean {
    const request = this.#requests.get(id);
    if (!request) return false;
    this.#forget(id, request);
    this.#swallowed += 1;
    request.onAnswer(response);
    return true;
  }

  /**
   * Fails every request sent on `owner` with `error` (its socket went away); others are kept. A
   * handler that throws does not keep the others from theirs: the first error is thrown after.
   */
  failOwner(owner: object, error: SteadyRpcError): void {
    const errors = new FirstError();
    for (const [id, request] of [...this.#requests]) {
      // Not one forgotten meanwhile: a failure handler's listener may have closed the session (clear()).
      if (request.owner !== owner || this.#requests.get(id) !== request) continue;
      this.#forget(id, request);
      errors.run(() => request.onFail(error));
    }
    errors.rethrow();
  }

  /**
   * Forgets every request and clears their timers, without calling anyone (the session is closing).
   * The filter stays usable.
   */
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

  #arm(timeoutMs: number, deadlines: Deadlines, ms: number): void {
    deadlines.due = this.#clock.now() + ms;
    deadlines.timer = this.#clock.setTimeout(() => this.#expire(timeoutMs), ms);
  }

  /**
   * The timer for `timeoutMs` fired: fails what is due, and waits for the next deadline. When it
   * fired late (see {@link LATE_TIMER_MS}), each request it would fail first gets one more deadline
   * of its own length from now, so a healthy socket is not given up on because the page slept.
   */
  #expire(timeoutMs: number): void {
    // A handler that throws does not keep the others due from failing, nor the next timer from
    // being set: the first error is thrown once that is done.
    const errors = new FirstError();
    this.#failDue(timeoutMs, errors);
    errors.rethrow();
  }

  #failDue(timeoutMs: number, errors: FirstError): void {
    const deadlines = this.#deadlines.get(timeoutMs);
    if (!deadlines) return;
    deadlines.timer = undefined;
    const now = this.#clock.now();
    const late = now - deadlines.due > LATE_TIMER_MS;
    for (const [id, request] of deadlines.requests) {
      // Cleared meanwhile (a failure handler's listener closed the session): nothing more is due.
      if (this.#deadlines.get(timeoutMs) !== deadlines) return;
      if (request.deadline > now) {
        // A failure handler may have sent another request meanwhile, and armed a later timer.
        if (deadlines.timer !== undefined) this.#clock.clearTimeout(deadlines.timer);
        this.#arm(timeoutMs, deadlines, request.deadline - now);
        return;
      }
      if (late && request.extended === undefined) {
        request.extended = true;
        request.deadline = now + timeoutMs;
        // To the end: no request sent before now has a later deadline, so the order holds, and
        // this loop comes back to it (not due) to arm the timer.
        deadlines.requests.delete(id);
        deadlines.requests.set(id, request);
        continue;
      }
      this.#forget(id, request);
      errors.run(() => request.onFail(new SteadyRpcError('ERR_TIMEOUT', `${request.purpose} request got no answer within ${timeoutMs} ms`)));
    }
  }
}
