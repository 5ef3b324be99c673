import type { Clock, TimerHandle } from '../Clock.js';
import { SteadyRpcError } from '../errors.js';

export interface MessageQueueOptions {
  /**
   * Most items held at once.
   * @default 1_000
   */
  maxCount?: number;
  /**
   * Most bytes held at once (the sum of the sizes given to `push`), in bytes.
   * @default 4_194_304 (4 MiB)
   */
  maxBytes?: number;
  /**
   * How long an item may wait before it is expired and handed to `onExpire`, in ms.
   * @default 10_000
   */
  maxWaitMs?: number;
  /** Source of time for the expiry timer (`FakeClock` in tests). Required. */
  clock: Clock;
}

/** An item as the queue holds it (not handed out: `drain` and `onExpire` give the values). */
interface QueuedItem<T> {
  readonly value: T;
  /** Its size as given by the caller, in bytes. */
  readonly bytes: number;
  /** `clock.now()` when it was queued (or put back). */
  readonly enqueuedAt: number;
}

const DEFAULTS = Object.freeze({ maxCount: 1_000, maxBytes: 4 * 1024 * 1024, maxWaitMs: 10_000 });

function checkBytes(bytes: number): void {
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new RangeError(`Expected bytes to be an integer >= 0, got ${bytes}`);
  }
}

/**
 * Client messages that arrive while no upstream is ready: ordered, bounded by count and bytes, and
 * each with a deadline. Nothing leaves it in silence: `push` says when it is full (the caller
 * answers `QUEUE_FULL`), and expired items go to `onExpire` (the caller answers `REQUEST_TIMEOUT`).
 *
 * It owns the order, the bounds, the byte count and the deadlines of what it holds; it does not
 * measure items (the caller gives each one's size), send them, or answer anyone: the caller
 * answers what `push` refuses and what `onExpire` hands back, and sends what `drain` gives.
 *
 * One clock timer runs, for the oldest item; there is none while the queue is empty or closed.
 */
export class MessageQueue<T> {
  readonly #maxCount: number;
  readonly #maxBytes: number;
  readonly #maxWaitMs: number;
  readonly #clock: Clock;
  readonly #onExpire: (items: T[]) => void;
  #items: QueuedItem<T>[] = [];
  #bytes = 0;
  #timer: TimerHandle | undefined;
  #closed = false;

  /**
   * `onExpire` gets, in order, the items that waited `maxWaitMs` (several at once when they were due
   * together), after they left the queue. Throws `ERR_CONFIG` on a bad option or a missing clock.
   */
  constructor(options: MessageQueueOptions, onExpire: (items: T[]) => void) {
    if (typeof options !== 'object' || options === null) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected MessageQueue options to be an object, got ${String(options)}`);
    }
    const {
      maxCount = DEFAULTS.maxCount,
      maxBytes = DEFAULTS.maxBytes,
      maxWaitMs = DEFAULTS.maxWaitMs,
      clock,
    } = options;
    if (!Number.isInteger(maxCount) || maxCount < 1) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected maxCount to be an integer >= 1, got ${maxCount}`);
    }
    if (typeof maxBytes !== 'number' || !Number.isFinite(maxBytes) || maxBytes <= 0) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected maxBytes to be a finite number > 0, got ${maxBytes}`);
    }
    if (typeof maxWaitMs !== 'number' || !Number.isFinite(maxWaitMs) || maxWaitMs <= 0) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected maxWaitMs to be a finite number > 0, got ${maxWaitMs}`);
    }
    if (typeof clock?.now !== 'function' || typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function') {
      throw new SteadyRpcError('ERR_CONFIG', 'Expected clock to be a Clock (now, setTimeout, clearTimeout)');
    }
    if (typeof onExpire !== 'function') {
      throw new SteadyRpcError('ERR_CONFIG', `Expected onExpire to be a function, got ${typeof onExpire}`);
    }
    this.#maxCount = maxCount;
    this.#maxBytes = maxBytes;
    this.#maxWaitMs = maxWaitMs;
    this.#clock = clock;
    this.#onExpire = onExpire;
  }

  /**
   * Queues `value` of `bytes` bytes at the back. Returns false, and queues nothing, if the count or
   * byte bound would be exceeded: the caller must answer the message itself. Throws `ERR_CLOSED`
   * after `close()`.
   */
  push(value: T, bytes: number): boolean {
    this.#assertOpen('push');
    checkBytes(bytes);
    if (this.#items.length + 1 > this.#maxCount || this.#bytes + bytes > this.#maxBytes) return false;
    this.#items.push({ value, bytes, enqueuedAt: this.#clock.now() });
    this.#bytes += bytes;
    // A pushed item is never older than what is queued: a running timer is still for the oldest.
    if (this.#timer === undefined) this.#arm();
    return true;
  }

  /**
   * Puts items back at the front, in the given order, ignoring the bounds: in-flight requests to
   * re-send after a switch were accepted once and must not be refused now. Their deadline starts
   * again from now. Throws `ERR_CLOSED` after `close()`.
   */
  unshift(values: { value: T; bytes: number }[]): void {
    this.#assertOpen('unshift');
    for (const { bytes } of values) checkBytes(bytes);
    if (values.length === 0) return;
    const now = this.#clock.now();
    this.#items.unshift(...values.map(({ value, bytes }) => ({ value, bytes, enqueuedAt: now })));
    for (const { bytes } of values) this.#bytes += bytes;
    if (this.#timer === undefined) this.#arm();
  }

  /** Takes every item out, in order; the queue is empty and its timer cleared. */
  drain(): T[] {
    const values = this.#items.map((item) => item.value);
    this.#items = [];
    this.#bytes = 0;
    this.#disarm();
    return values;
  }

  /** Same as {@link drain}; reads better where the items are about to be answered with an error. */
  clear(): T[] {
    return this.drain();
  }

  /** Items queued now. */
  get length(): number {
    return this.#items.length;
  }

  /** Bytes queued now. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Stops the expiry timer and refuses further `push`/`unshift`. Items still queued stay until
   * `drain()`/`clear()` takes them, so the caller can answer them. Idempotent.
   */
  close(): void {
    this.#closed = true;
    this.#disarm();
  }

  #assertOpen(operation: string): void {
    if (this.#closed) throw new SteadyRpcError('ERR_CLOSED', `MessageQueue.${operation}() called after close()`);
  }

  /** Sets the one timer for the oldest item, if there is an item and the queue is open. */
  #arm(): void {
    this.#disarm();
    if (this.#closed || this.#items.length === 0) return;
    let oldest = Infinity;
    for (const item of this.#items) if (item.enqueuedAt < oldest) oldest = item.enqueuedAt;
    const delay = Math.max(0, oldest + this.#maxWaitMs - this.#clock.now());
    this.#timer = this.#clock.setTimeout(() => this.#expire(), delay);
  }

  #disarm(): void {
    if (this.#timer === undefined) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #expire(): void {
    this.#timer = undefined;
    const deadline = this.#clock.now() - this.#maxWaitMs;
    const expired: T[] = [];
    const kept: QueuedItem<T>[] = [];
    for (const item of this.#items) {
      if (item.enqueuedAt <= deadline) {
        expired.push(item.value);
        this.#bytes -= item.bytes;
      } else {
        kept.push(item);
      }
    }
    this.#items = kept;
    this.#arm();
    // State is consistent (and the next timer set) before the caller hears of it.
    if (expired.length > 0) this.#onExpire(expired);
  }
}
