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

/** The real clock: `Date.now` and the global timers. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (callback: () => void, ms: number): TimerHandle => setTimeout(callback, ms),
  clearTimeout: (handle: TimerHandle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
});
