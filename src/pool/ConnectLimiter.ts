import type { Clock, TimerHandle } from '../Clock.js';
import { SteadyRpcError } from '../errors.js';

export interface ConnectLimitOptions {
  /** Connects to one node that may start at once. @default 100 */
  burst?: number;
  /** Sustained connects per second to one node, beyond the burst. @default 1_000 */
  perSecond?: number;
}

const DEFAULTS = Object.freeze({ burst: 100, perSecond: 1_000 });

interface Bucket {
  tokens: number;
  updatedAt: number;
  waiters: Array<() => void>;
  timer: TimerHandle | undefined;
}

/**
 * A token bucket per node for opening sockets. When a node dies under thousands of sessions, they
 * all want the next node in the same instant; this lets a burst through at once and the rest at a
 * bounded rate, so the backup is not hit by a thundering herd. One session is never delayed.
 */
export class ConnectLimiter {
  readonly #clock: Clock;
  readonly #burst: number;
  readonly #perSecond: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(clock: Clock, options: ConnectLimitOptions = {}) {
    const { burst, perSecond } = { ...DEFAULTS, ...options };
    if (!Number.isInteger(burst) || burst < 1) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected connectLimit.burst to be an integer >= 1, got ${burst}`);
    }
    if (!Number.isFinite(perSecond) || perSecond <= 0) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected connectLimit.perSecond to be a finite number > 0, got ${perSecond}`);
    }
    this.#clock = clock;
    this.#burst = burst;
    this.#perSecond = perSecond;
  }

  /** Resolves when a connect to `node` may start: at once while the burst lasts, then paced. */
  acquire(node: string): Promise<void> {
    const bucket = this.#bucket(node);
    this.#refill(bucket);
    if (bucket.waiters.length === 0 && bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      bucket.waiters.push(resolve);
      this.#schedule(bucket);
    });
  }

  /** Connects waiting for a turn, over all nodes. */
  get waiting(): number {
    let count = 0;
    for (const bucket of this.#buckets.values()) count += bucket.waiters.length;
    return count;
  }

  /** Lets every waiter go and clears the timers. */
  close(): void {
    for (const bucket of this.#buckets.values()) {
      if (bucket.timer !== undefined) this.#clock.clearTimeout(bucket.timer);
      bucket.timer = undefined;
      for (const release of bucket.waiters.splice(0)) release();
    }
  }

  #bucket(node: string): Bucket {
    let bucket = this.#buckets.get(node);
    if (!bucket) {
      bucket = { tokens: this.#burst, updatedAt: this.#clock.now(), waiters: [], timer: undefined };
      this.#buckets.set(node, bucket);
    }
    return bucket;
  }

  #refill(bucket: Bucket): void {
    const now = this.#clock.now();
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.updatedAt) * this.#perSecond) / 1_000);
    bucket.updatedAt = now;
  }

  #schedule(bucket: Bucket): void {
    if (bucket.timer !== undefined || bucket.waiters.length === 0) return;
    const wait = Math.max(1, Math.ceil(((1 - bucket.tokens) * 1_000) / this.#perSecond));
    bucket.timer = this.#clock.setTimeout(() => {
      bucket.timer = undefined;
      this.#refill(bucket);
      while (bucket.tokens >= 1 && bucket.waiters.length > 0) {
        bucket.tokens -= 1;
        bucket.waiters.shift()!();
      }
      this.#schedule(bucket);
    }, wait);
  }
}
