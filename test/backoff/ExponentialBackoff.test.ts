import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExponentialBackoff } from '../../src/backoff/ExponentialBackoff.js';
import { isSteadyRpcError } from '../../src/errors.js';

const middle = () => 0.5;
/** The largest double below 1: what `random()` tends to at the top of its range. */
const almostOne = () => 1 - Number.EPSILON / 2;

function after(backoff: ExponentialBackoff, steps: number): ExponentialBackoff {
  let b = backoff;
  for (let i = 0; i < steps; i++) b = b.next();
  return b;
}

describe('ExponentialBackoff growth', () => {
  it('starts at initialDelayMs with the default settings', () => {
    const backoff = new ExponentialBackoff();
    expect(backoff.attempt).toBe(0);
    expect(backoff.delay(middle)).toBe(250);
  });

  it('multiplies the delay by factor on every attempt', () => {
    const backoff = new ExponentialBackoff({ initialDelayMs: 100, factor: 3, jitter: 0 });
    expect([0, 1, 2, 3].map((n) => after(backoff, n).delay(middle))).toEqual([100, 300, 900, 2_700]);
  });

  it('caps the delay before jitter at maxDelayMs', () => {
    const backoff = after(new ExponentialBackoff({ initialDelayMs: 250, maxDelayMs: 1_000, jitter: 0 }), 10);
    expect(backoff.delay(middle)).toBe(1_000);
  });

  it('stays at the cap when factor^attempt overflows to Infinity', () => {
    const backoff = after(new ExponentialBackoff({ maxDelayMs: 5_000, jitter: 0 }), 2_000);
    expect(backoff.delay(middle)).toBe(5_000);
  });

  it('keeps a zero initial delay at zero for any attempt', () => {
    const backoff = after(new ExponentialBackoff({ initialDelayMs: 0, maxDelayMs: 0 }), 2_000);
    expect(backoff.delay(almostOne)).toBe(0);
  });
});

describe('ExponentialBackoff jitter', () => {
  it('gives exactly base·(1 − jitter) when random() is 0', () => {
    expect(new ExponentialBackoff({ initialDelayMs: 1_000, jitter: 0.2 }).delay(() => 0)).toBe(800);
  });

  it('approaches base·(1 + jitter) as random() tends to 1', () => {
    expect(new ExponentialBackoff({ initialDelayMs: 1_000, jitter: 0.2 }).delay(almostOne)).toBe(1_200);
  });

  it('applies jitter after the cap, so a capped delay spreads around maxDelayMs', () => {
    const capped = after(new ExponentialBackoff({ maxDelayMs: 10_000, jitter: 0.1 }), 20);
    expect(capped.delay(() => 0)).toBe(9_000);
    expect(capped.delay(almostOne)).toBe(11_000);
  });

  it('rounds to whole milliseconds', () => {
    expect(new ExponentialBackoff({ initialDelayMs: 3, jitter: 0.5 }).delay(() => 0)).toBe(2);
  });

  it('never returns a negative delay, even from a random source out of range', () => {
    const backoff = new ExponentialBackoff({ initialDelayMs: 100, jitter: 1 });
    expect(backoff.delay(() => -5)).toBe(0);
    expect(backoff.delay(() => 7)).toBe(200);
    expect(backoff.delay(() => Number.NaN)).toBe(100);
  });

  it('keeps every delay within [base·(1 − j), base·(1 + j)], up to rounding', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer({ min: 0, max: 120_000 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.nat({ max: 100 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (initialDelayMs, extra, factor, jitter, attempt, r) => {
          const maxDelayMs = initialDelayMs + extra;
          const backoff = after(new ExponentialBackoff({ initialDelayMs, maxDelayMs, factor, jitter }), attempt);
          const base = initialDelayMs === 0 ? 0 : Math.min(maxDelayMs, initialDelayMs * factor ** attempt);
          const delay = backoff.delay(() => r);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          // Rounding to whole ms may move the result by at most half a millisecond.
          expect(delay).toBeGreaterThanOrEqual(base * (1 - jitter) - 0.5);
          expect(delay).toBeLessThanOrEqual(base * (1 + jitter) + 0.5);
        },
      ),
    );
  });
});

describe('ExponentialBackoff is immutable', () => {
  it('next() returns a new backoff one attempt further and leaves the original unchanged', () => {
    const first = new ExponentialBackoff({ jitter: 0 });
    const second = first.next();
    expect(second).not.toBe(first);
    expect(first.attempt).toBe(0);
    expect(second.attempt).toBe(1);
    expect(first.delay(middle)).toBe(250);
    expect(second.delay(middle)).toBe(500);
  });

  it('reset() returns a backoff at attempt 0 with the same settings, leaving the original unchanged', () => {
    const far = after(new ExponentialBackoff({ initialDelayMs: 40, factor: 5, jitter: 0 }), 3);
    const fresh = far.reset();
    expect(far.attempt).toBe(3);
    expect(far.delay(middle)).toBe(5_000);
    expect(fresh.attempt).toBe(0);
    expect(fresh.delay(middle)).toBe(40);
    expect(fresh.next().delay(middle)).toBe(200);
  });

  it('does not expose a writable attempt', () => {
    const backoff = new ExponentialBackoff();
    expect(() => {
      (backoff as unknown as { attempt: number }).attempt = 5;
    }).toThrow(TypeError);
    expect(backoff.attempt).toBe(0);
  });

  it('is not affected by later changes to the options object', () => {
    const options = { initialDelayMs: 100, jitter: 0 };
    const backoff = new ExponentialBackoff(options);
    options.initialDelayMs = 9_999;
    expect(backoff.delay(middle)).toBe(100);
    expect(backoff.next().delay(middle)).toBe(200);
  });
});

describe('ExponentialBackoff options', () => {
  it.each([
    [{ initialDelayMs: -1 }, 'Expected initialDelayMs to be a finite number >= 0, got -1'],
    [{ initialDelayMs: Number.NaN }, 'Expected initialDelayMs to be a finite number >= 0, got NaN'],
    [{ maxDelayMs: 100 }, 'Expected maxDelayMs to be a finite number >= initialDelayMs (250), got 100'],
    [{ maxDelayMs: Infinity }, 'Expected maxDelayMs to be a finite number >= initialDelayMs (250), got Infinity'],
    [{ factor: 0.5 }, 'Expected factor to be a finite number >= 1, got 0.5'],
    [{ jitter: -0.1 }, 'Expected jitter to be a number in [0, 1], got -0.1'],
    [{ jitter: 1.5 }, 'Expected jitter to be a number in [0, 1], got 1.5'],
  ])('rejects %o with a precise ERR_CONFIG message', (options, message) => {
    let thrown: unknown;
    try {
      new ExponentialBackoff(options);
    } catch (error) {
      thrown = error;
    }
    expect(isSteadyRpcError(thrown, 'ERR_CONFIG')).toBe(true);
    expect((thrown as Error).message).toBe(message);
  });

  it('treats options given as undefined as their defaults', () => {
    const backoff = new ExponentialBackoff({ initialDelayMs: undefined, jitter: undefined });
    expect(backoff.delay(() => 0)).toBe(200);
  });
});
