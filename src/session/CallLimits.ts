import type { BatchCollector } from './BatchCollector.js';
import type { PendingCall } from './PendingCall.js';

/** Which per-session cap a call ran into. */
export type LimitName = 'maxInFlight' | 'maxSubscriptions';

export interface CallLimitSettings {
  readonly maxInFlight: number;
  readonly maxSubscriptions: number;
}

/** What a batch still counts until the client has its answer. */
interface BatchTally {
  calls: number;
  subscribes: number;
}

/**
 * The per-session caps on what one client can make the session hold: calls it has sent and not yet
 * received the answer to (queued, upstream, waiting for a node to catch up, or answered inside a
 * batch that is not complete), and subscriptions (those it holds plus the subscribes it is waiting
 * on). Both are counted as the client sees them, so a client that stays under a cap is never
 * refused, and the count goes down only when the answer has been sent: a batch's calls count until
 * the batch answer goes out. A call past a cap is refused (`LIMIT_EXCEEDED`), never queued or
 * dropped.
 */
export class CallLimits {
  readonly #settings: CallLimitSettings;
  readonly #subscriptions: () => number;
  #inFlight = 0;
  /** Subscribes counted and not yet in the registry: waiting for their answer, or failed in a batch still open. */
  #subscribing = 0;
  /** Made with the first batch: a session that sends none keeps none. */
  #batches: WeakMap<BatchCollector<string>, BatchTally> | undefined;

  /** `subscriptions()`: how many subscriptions the session holds for the client (its registry). */
  constructor(settings: CallLimitSettings, subscriptions: () => number) {
    this.#settings = settings;
    this.#subscriptions = subscriptions;
  }

  /** Calls the client is owed answers to. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Counts `call` in, or says which cap it is over (it is then not counted: the caller refuses it).
   * Notifications (no id) are never answered and not counted.
   */
  admit(call: PendingCall): LimitName | undefined {
    if (call.oneWay) return undefined;
    const subscribe = call.method === 'eth_subscribe';
    if (this.#inFlight >= this.#settings.maxInFlight) return 'maxInFlight';
    if (subscribe && this.#subscriptions() + this.#subscribing >= this.#settings.maxSubscriptions) return 'maxSubscriptions';
    this.#inFlight += 1;
    if (subscribe) this.#subscribing += 1;
    if (call.slot) {
      const batches = (this.#batches ??= new WeakMap());
      const tally = batches.get(call.slot.collector) ?? { calls: 0, subscribes: 0 };
      tally.calls += 1;
      if (subscribe) tally.subscribes += 1;
      batches.set(call.slot.collector, tally);
    }
    return undefined;
  }

  /**
   * `call` has its answer. `registered`: a subscribe whose subscription is now in the registry
   * (counted there from now on). A call in a batch stops counting when the batch is sent.
   */
  answered(call: PendingCall, registered: boolean): void {
    const subscribe = call.method === 'eth_subscribe';
    if (call.slot) {
      if (subscribe && registered) {
        this.#subscribing -= 1;
        const tally = this.#batches?.get(call.slot.collector);
        if (tally) tally.subscribes -= 1;
      }
      return;
    }
    this.#inFlight -= 1;
    if (subscribe) this.#subscribing -= 1;
  }

  /** The client has the answer to the batch of `collector`: its calls no longer count. */
  batchSent(collector: BatchCollector<string>): void {
    const tally = this.#batches?.get(collector);
    if (!tally) return;
    this.#batches?.delete(collector);
    this.#inFlight -= tally.calls;
    this.#subscribing -= tally.subscribes;
  }
}
