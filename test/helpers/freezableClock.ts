import type { Clock, TimerHandle } from '../../src/index.js';
import type { FakeClock } from '../../src/testing/index.js';

interface Held {
  callback: () => void;
  cancelled: boolean;
  inner: TimerHandle;
}

/**
 * A page's clock: while frozen (a background tab the browser froze, a laptop asleep) timers that
 * fall due do not run; on `thaw()` every overdue one runs at once, before anything the test
 * delivers next (the network events waiting in the queue behind them).
 */
export class FreezableClock implements Clock {
  #frozen = false;
  #held: Held[] = [];

  constructor(readonly inner: FakeClock) {}

  now(): number {
    return this.inner.now();
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer: Held = { callback, cancelled: false, inner: undefined };
    timer.inner = this.inner.setTimeout(() => {
      if (this.#frozen) this.#held.push(timer);
      else callback();
    }, ms);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    const timer = handle as Held;
    timer.cancelled = true;
    this.inner.clearTimeout(timer.inner);
  }

  freeze(): void {
    this.#frozen = true;
  }

  thaw(): void {
    this.#frozen = false;
    for (const timer of this.#held.splice(0)) if (!timer.cancelled) timer.callback();
  }
}
