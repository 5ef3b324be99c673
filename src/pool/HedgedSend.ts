import type { TimerHandle } from '../Clock.js';
import { SteadyRpcError, describeError } from '../errors.js';
import type { JsonRpcRequest } from '../jsonrpc.js';
import type { HedgeSettings } from './HedgePolicy.js';
import { NodeLatencies } from './HedgePolicy.js';
import type { Answer, Attempt, NodeAttempts } from './NodeAttempts.js';
import { poolClosedError } from './NodeAttempts.js';
import type { NextOptions, NodeQueue } from './NodeQueue.js';
import type { NodePool } from './NodePool.js';

/** An extra copy of a request went to `name` after `primary` was slow; `won`: its answer was used. */
export interface HedgeEvent {
  readonly name: string;
  readonly primary: string;
  readonly won: boolean;
}

/** What the dispatcher reports when no node answered: how far it got. */
export type Unavailable = (attempts: number, held: readonly string[], failures: readonly string[], lastError: unknown) => never;

/** A first attempt or a failover may go anywhere worth a try; a hedge's copy only to a candidate that takes requests now. */
const FIRST_OR_FAILOVER: NextOptions = Object.freeze({ anyHeld: true, widen: true });
const HEDGE_COPY: NextOptions = Object.freeze({ anyHeld: false, widen: false });

interface Settled {
  readonly name: string;
  readonly outcome?: Attempt;
  readonly error?: unknown;
}

/**
 * Sends a read to the best node and, when it has not answered after the hedge delay (fixed, or
 * that node's latency percentile), the same read to the next node that takes requests; up to
 * `maxExtra` copies, all within `maxAttempts`. The first answer wins and the other attempts are
 * aborted (their transports get the abort through their `AbortSignal`). A failure or a "not this
 * node" answer with nothing else running fails over at once, as without hedging. Only for
 * requests {@link isHedgeable} says may run on two nodes at once: never a write.
 */
export class HedgedSend {
  readonly #pool: NodePool;
  readonly #attempts: NodeAttempts;
  readonly #settings: HedgeSettings;
  readonly #maxAttempts: number;
  readonly #latencies: NodeLatencies | undefined;

  constructor(pool: NodePool, attempts: NodeAttempts, settings: HedgeSettings, maxAttempts: number) {
    this.#pool = pool;
    this.#attempts = attempts;
    this.#settings = settings;
    this.#maxAttempts = maxAttempts;
    this.#latencies = settings.percentile === undefined ? undefined : new NodeLatencies(settings.percentile);
  }

  /** `queue`: the nodes to ask, in order, and when to pause before asking them again (see `http.retryDelayMs`). */
  async send(
    payload: JsonRpcRequest | JsonRpcRequest[],
    body: string,
    queue: NodeQueue,
    signal: AbortSignal | undefined,
    unavailable: Unavailable,
  ): Promise<Answer> {
    const { clock } = this.#pool;
    const failures: string[] = [];
    const running = new Map<string, AbortController>();
    const settled: Settled[] = [];
    const extras: string[] = [];
    let primary: string | undefined;
    let winner: string | undefined;
    let attempts = 0;
    let fallback: Answer | undefined;
    let lastError: unknown;
    let timer: TimerHandle | undefined;
    let hedgeDue = false;
    /** Every node worth asking failed: the pause before asking again runs, then is over (or failed: closed, aborted). */
    let pausing = false;
    let paused: { error?: unknown } | undefined;
    let wake: (() => void) | undefined;
    const notify = () => wake?.();

    const arm = (name: string) => {
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      if (extras.length >= this.#settings.maxExtra || attempts >= this.#maxAttempts) return;
      const delay = this.#latencies?.of(name) ?? this.#settings.delayMs;
      timer = clock.setTimeout(() => {
        timer = undefined;
        hedgeDue = true;
        notify();
      }, delay);
    };
    const start = (name: string) => {
      attempts += 1;
      primary ??= name;
      const controller = new AbortController();
      running.set(name, controller);
      const started = clock.now();
      this.#attempts.attempt(name, payload, body, controller.signal).then(
        (outcome) => {
          if (outcome.kind === 'answer') this.#latencies?.record(name, clock.now() - started);
          settled.push({ name, outcome });
          notify();
        },
        (error: unknown) => {
          settled.push({ name, error });
          notify();
        },
      );
      arm(name);
    };
    const onAbort = () => {
      for (const controller of running.values()) controller.abort(signal!.reason);
    };
    const pause = () => {
      // Nothing runs to hedge meanwhile.
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      hedgeDue = false;
      pausing = true;
      this.#attempts.pause(queue.retryDelayMs, signal).then(
        () => {
          paused = {};
          notify();
        },
        (error: unknown) => {
          paused = { error };
          notify();
        },
      );
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    try {
      signal?.throwIfAborted();
      const first = queue.next(FIRST_OR_FAILOVER);
      if (first === undefined) unavailable(0, queue.held, failures, lastError);
      start(first!);
      while (running.size > 0 || pausing) {
        if (settled.length === 0 && !hedgeDue && paused === undefined) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        if (paused !== undefined) {
          const { error } = paused;
          pausing = false;
          paused = undefined;
          if (error !== undefined) throw error;
          queue.restart();
          const again = queue.next(FIRST_OR_FAILOVER);
          if (again !== undefined) start(again);
          continue;
        }
        signal?.throwIfAborted();
        if (settled.length === 0) {
          hedgeDue = false;
          const extra = queue.next(HEDGE_COPY);
          if (extra !== undefined) {
            extras.push(extra);
            start(extra);
          }
          continue;
        }
        const { name, outcome, error } = settled.shift()!;
        running.delete(name);
        // An attempt only throws when its signal was aborted: the caller gave up.
        if (outcome === undefined) throw error;
        // It ended because the pool closed: nothing more goes out (the other attempts are aborted below).
        if (this.#pool.closed && outcome.kind === 'failed') throw poolClosedError();
        if (outcome.kind === 'answer') {
          winner = name;
          return outcome.answer;
        }
        if (outcome.kind === 'not-here') {
          fallback = outcome.answer;
          failures.push(`${name}: answered that it cannot serve the request now`);
        } else {
          if (outcome.own) fallback = outcome.own;
          lastError = outcome.error;
          failures.push(`${name}: ${describeError(outcome.error)}`);
          queue.failed(name, outcome, true);
        }
        // With another attempt still running, that one is the failover; else the next node now.
        if (running.size === 0 && attempts < this.#maxAttempts) {
          // Every node worth asking failed it (none answered): one may be back in a moment.
          const mayPause = queue.mayPause(fallback !== undefined);
          const failover = queue.next(FIRST_OR_FAILOVER, mayPause && attempts + 1 >= this.#maxAttempts);
          if (failover !== undefined) start(failover);
          else if (mayPause) pause();
        }
      }
      if (fallback) return fallback;
      return unavailable(attempts, queue.held, failures, lastError);
    } finally {
      if (timer !== undefined) clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      const lost = new SteadyRpcError('ERR_ABORTED', `Hedged request answered by node "${winner ?? '?'}" first`);
      for (const controller of running.values()) controller.abort(lost);
      for (const name of extras) this.#pool.emit('hedged', { name, primary: primary!, won: name === winner });
    }
  }
}
