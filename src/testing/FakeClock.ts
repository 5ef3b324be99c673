import type { Clock, TimerHandle } from '../Clock.js';

interface Timer {
  id: number;
  at: number;
  callback: () => void;
}

/**
 * Lets every pending promise callback run, so async code woken by a timer gets to its next await.
 * `setImmediate` runs after the microtask queue is empty; it does not wait for time to pass. Where
 * there is none (browsers: the test kit has a browser build too), a zero timeout does the same.
 */
function flushMicrotasks(): Promise<void> {
  const immediate = (globalThis as { setImmediate?: (callback: () => void) => unknown }).setImmediate;
  return new Promise((resolve) => (immediate ? immediate(resolve) : setTimeout(resolve, 0)));
}

/**
 * A {@link Clock} that only moves when told to. Timers fire in time order (ties in the order they
 * were set); between timers, pending promise callbacks are flushed so async code sees the time it
 * expects. Nothing sleeps.
 */
export class FakeClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers = new Map<number, Timer>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.#timers.set(id, { id, at: this.#now + delay, callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.#timers.delete(handle);
  }

  /** How many timers are set and not yet fired or cleared; 0 after a clean `close()`. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /** The time of the next timer, if any. */
  nextTimerAt(): number | undefined {
    let next: number | undefined;
    for (const t of this.#timers.values()) if (next === undefined || t.at < next) next = t.at;
    return next;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way (including timers set
   * by those timers), flushing microtasks before and after each.
   */
  async advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`Expected ms to be a finite number >= 0, got ${ms}`);
    const end = this.#now + ms;
    await flushMicrotasks();
    for (;;) {
      const timer = this.#dueBy(end);
      if (!timer) break;
      this.#now = Math.max(this.#now, timer.at);
      this.#timers.delete(timer.id);
      timer.callback();
      await flushMicrotasks();
    }
    this.#now = end;
    await flushMicrotasks();
  }

  /** Fires timers one after another until none is left, or throws after `limit` of them. */
  async runAll(limit = 10_000): Promise<void> {
    for (let fired = 0; ; fired++) {
      const at = this.nextTimerAt();
      if (at === undefined) return;
      if (fired >= limit) throw new Error(`FakeClock.runAll: still timers pending after ${limit} (a timer loop?)`);
      await this.advance(Math.max(0, at - this.#now));
    }
  }

  /** Flushes pending promise callbacks without moving time. */
  async flush(): Promise<void> {
    await flushMicrotasks();
  }

  #dueBy(end: number): Timer | undefined {
    let due: Timer | undefined;
    for (const t of this.#timers.values()) {
      if (t.at <= end && (due === undefined || t.at < due.at || (t.at === due.at && t.id < due.id))) due = t;
    }
    return due;
  }
}
