/** An opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/**
 * The only source of time in steadyrpc. Every timer and timestamp goes through a `Clock`, so tests
 * can drive time with `FakeClock` from `steadyrpc/testing` instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since an arbitrary, monotonic-enough origin. */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * A deadline timer that runs more than this long after it was due was held back: a hidden tab's
 * throttled timers (up to a minute late), a page frozen in the background, a machine that slept,
 * a blocked event loop. The answers it would give up on may be waiting behind it in the event
 * queue, so what it guards gets one more deadline instead of failing at once (the session's own
 * requests, health probes).
 */
export const LATE_TIMER_MS = 1_000;

/**
 * The longest delay the platforms' timers keep (a signed 32-bit count of ms, about 24.8 days): a
 * longer one runs at once (Node: after 1 ms, with a warning), and a deadline that keeps being set
 * again would run every millisecond.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer past {@link MAX_TIMER_MS}: set again in steps until it is due. */
class LongTimer {
  timer: ReturnType<typeof setTimeout> | undefined;

  constructor(callback: () => void, ms: number) {
    const due = Date.now() + ms;
    const arm = (): void => {
      const left = due - Date.now();
      this.timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(callback, Math.max(0, left));
    };
    arm();
  }
}

/** The real clock: `Date.now` and the global timers (a delay past what they keep in steps). */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (callback: () => void, ms: number): TimerHandle => (ms > MAX_TIMER_MS ? new LongTimer(callback, ms) : setTimeout(callback, ms)),
  clearTimeout: (handle: TimerHandle) => clearTimeout((handle instanceof LongTimer ? handle.timer : handle) as ReturnType<typeof setTimeout>),
});
