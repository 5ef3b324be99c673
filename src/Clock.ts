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

/** The real clock: `Date.now` and the global timers. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (callback: () => void, ms: number): TimerHandle => setTimeout(callback, ms),
  clearTimeout: (handle: TimerHandle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
});
