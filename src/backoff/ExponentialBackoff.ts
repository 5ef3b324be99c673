import { SteadyRpcError } from '../errors.js';
import type { Random } from '../random.js';

export interface ExponentialBackoffOptions {
  /**
   * Delay before the first retry (attempt 0), in ms, before jitter.
   * @default 250
   */
  initialDelayMs?: number;
  /**
   * Cap on the delay before jitter, in ms. The jittered delay may exceed it by up to `jitter`.
   * @default 30_000
   */
  maxDelayMs?: number;
  /**
   * Multiplier applied per attempt (dimensionless, >= 1).
   * @default 2
   */
  factor?: number;
  /**
   * Relative spread of the delay, as a fraction in [0, 1]: 0.2 spreads it over ±20 %.
   * @default 0.2
   */
  jitter?: number;
}

const DEFAULTS = Object.freeze({ initialDelayMs: 250, maxDelayMs: 30_000, factor: 2, jitter: 0.2 });

type Settings = Readonly<Required<ExponentialBackoffOptions>>;

function validate(options: ExponentialBackoffOptions): Settings {
  if (typeof options !== 'object' || options === null) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected backoff options to be an object, got ${String(options)}`);
  }
  const {
    initialDelayMs = DEFAULTS.initialDelayMs,
    maxDelayMs = DEFAULTS.maxDelayMs,
    factor = DEFAULTS.factor,
    jitter = DEFAULTS.jitter,
  } = options;
  if (typeof initialDelayMs !== 'number' || !Number.isFinite(initialDelayMs) || initialDelayMs < 0) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected initialDelayMs to be a finite number >= 0, got ${initialDelayMs}`);
  }
  if (typeof maxDelayMs !== 'number' || !Number.isFinite(maxDelayMs) || maxDelayMs < initialDelayMs) {
    throw new SteadyRpcError(
      'ERR_CONFIG',
      `Expected maxDelayMs to be a finite number >= initialDelayMs (${initialDelayMs}), got ${maxDelayMs}`,
    );
  }
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected factor to be a finite number >= 1, got ${factor}`);
  }
  if (typeof jitter !== 'number' || !Number.isFinite(jitter) || jitter < 0 || jitter > 1) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected jitter to be a number in [0, 1], got ${jitter}`);
  }
  return Object.freeze({ initialDelayMs, maxDelayMs, factor, jitter });
}

/**
 * Capped exponential backoff with symmetric jitter, as an immutable value: `next()` and `reset()`
 * return new backoffs and leave this one as it was, so a retry loop can never share state by
 * accident. Randomness is a parameter of `delay()`, so tests choose it.
 */
export class ExponentialBackoff {
  readonly #settings: Settings;
  #attempt = 0;

  constructor(options: ExponentialBackoffOptions = {}) {
    this.#settings = validate(options);
  }

  /** How many retries came before this one; 0 for a fresh or reset backoff. */
  get attempt(): number {
    return this.#attempt;
  }

  /**
   * The delay before this attempt, in whole ms:
   * `min(maxDelayMs, initialDelayMs · factor^attempt) · (1 + jitter · (2 · random() − 1))`, rounded.
   */
  delay(random: Random): number {
    const { initialDelayMs, maxDelayMs, factor, jitter } = this.#settings;
    // 0 · Infinity is NaN once factor^attempt overflows, so a zero initial delay stays zero.
    const base = initialDelayMs === 0 ? 0 : Math.min(maxDelayMs, initialDelayMs * factor ** this.#attempt);
    const r = Math.min(1, Math.max(0, random()));
    const jittered = base * (1 + jitter * (2 * r - 1));
    return Math.max(0, Math.round(Number.isFinite(jittered) ? jittered : base));
  }

  /** The backoff for the following attempt. */
  next(): ExponentialBackoff {
    return this.#withAttempt(this.#attempt + 1);
  }

  /** The backoff for attempt 0 with the same settings (after a stable connection, say). */
  reset(): ExponentialBackoff {
    return this.#withAttempt(0);
  }

  #withAttempt(attempt: number): ExponentialBackoff {
    const backoff = new ExponentialBackoff(this.#settings);
    backoff.#attempt = attempt;
    return backoff;
  }
}
