import { SteadyRpcError } from '../errors.js';

export interface RateLimitOptions {
  /**
   * Cool-down after a node's first rate limit that names no wait (no `Retry-After`, no Infura
   * `backoff_seconds`), in ms. Doubled with each further one that names none, up to
   * `maxCooldownMs`; it starts over once the node answers without one.
   * @default 1_000
   */
  cooldownMs?: number;
  /** Longest cool-down, named by the node or not, in ms. @default 60_000 */
  maxCooldownMs?: number;
}

export const RATE_LIMIT_DEFAULTS: Readonly<Required<RateLimitOptions>> = Object.freeze({ cooldownMs: 1_000, maxCooldownMs: 60_000 });

/** Validated rate-limit settings. */
export function rateLimitSettings(options: RateLimitOptions | undefined): Readonly<Required<RateLimitOptions>> {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected rateLimit to be an object, got ${String(options)}`);
  }
  const { cooldownMs, maxCooldownMs } = { ...RATE_LIMIT_DEFAULTS, ...options };
  if (typeof cooldownMs !== 'number' || !Number.isFinite(cooldownMs) || cooldownMs <= 0) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected rateLimit.cooldownMs to be a finite number > 0, got ${cooldownMs}`);
  }
  if (typeof maxCooldownMs !== 'number' || !Number.isFinite(maxCooldownMs) || maxCooldownMs < cooldownMs) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected rateLimit.maxCooldownMs to be a finite number >= rateLimit.cooldownMs (${cooldownMs}), got ${maxCooldownMs}`);
  }
  return Object.freeze({ cooldownMs, maxCooldownMs });
}

/**
 * The longest wait a node's own hint (`Retry-After`, Infura's `backoff_seconds`) is read as, in ms:
 * the longest timer delay (about 24.8 days). A hint is the node's word, untrusted: an absurd one
 * (`Retry-After: 999…9`, `backoff_seconds: 1e306`) must not become `Infinity`. Cool-downs are capped
 * by `rateLimit.maxCooldownMs` after that.
 */
export const MAX_NAMED_WAIT_MS = 2_147_483_647;

/** A wait a node named, in ms, as a finite number from 0 to {@link MAX_NAMED_WAIT_MS}. */
export function namedWaitMs(ms: number): number {
  return ms > MAX_NAMED_WAIT_MS ? MAX_NAMED_WAIT_MS : Math.max(0, ms);
}

/**
 * Whether an HTTP answer says "rate limited": a 429, or a 503 that names its wait (it says when to
 * come back, as a 429 does: RFC 9110 §10.2.3); with the wait it names, if any.
 */
export function httpRateLimit(status: number, retryAfter: string | undefined, now: number): { ms: number | undefined } | undefined {
  const named = retryAfterMs(retryAfter, now);
  return status === 429 || (status === 503 && named !== undefined) ? { ms: named } : undefined;
}

/**
 * A `Retry-After` value as a wait from `now`, in ms: delay-seconds, or an HTTP date (RFC 9110
 * §10.2.3), read against `now` (wall-clock time with the default clock). `undefined` when absent
 * or unreadable; a date in the past is 0; a longer wait than {@link MAX_NAMED_WAIT_MS} is that.
 */
export function retryAfterMs(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return namedWaitMs(Number(text) * 1_000);
  if (!/^[a-z]{3}/i.test(text)) return undefined; // an HTTP date starts with the day name
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : namedWaitMs(at - now);
}

/**
 * The cool-downs of the nodes that answered with a rate limit: how long each is kept away from new
 * requests. The node's own wait (`Retry-After`, `backoff_seconds`) is taken as it is, capped;
 * without one, an exponential backoff. Rate limits of requests sent before the node's latest
 * cool-down ended (a session's calls go on during one), arriving while it lasts or after it ended,
 * only lengthen it to what they name: they are not new strikes (the node said so once already).
 * When a cool-down ends, one request goes first (the trial): the others follow once the node has
 * answered it without a rate limit, so a node just out of its limit is not hit by a whole burst.
 */
export class RateLimitCooldown {
  readonly #settings: Readonly<Required<RateLimitOptions>>;
  /**
   * Per node, from its first rate limit until it answers without one: rate limits in a row that
   * named no wait, when its latest cool-down ends, and whether the trial request after it is under
   * way (sent at `trialAt`).
   */
  readonly #nodes = new Map<string, { strikes: number; until: number; trial: boolean; trialAt: number }>();

  constructor(settings: Readonly<Required<RateLimitOptions>>) {
    this.#settings = settings;
  }

  /** When `name`'s cool-down ends, if it is cooling down at `now`. */
  until(name: string, now: number): number | undefined {
    const until = this.#nodes.get(name)?.until;
    return until !== undefined && until > now ? until : undefined;
  }

  /** Whether a request may go to `name` at `now`: not cooling down, and no trial under way. */
  admits(name: string, now: number): boolean {
    const node = this.#nodes.get(name);
    return node === undefined || (node.until <= now && !node.trial);
  }

  /** Lets a request go to `name` if it may; after a cool-down, it becomes the trial. */
  admit(name: string, now: number): boolean {
    if (!this.admits(name, now)) return false;
    const node = this.#nodes.get(name);
    if (node) {
      node.trial = true;
      node.trialAt = now;
    }
    return true;
  }

  /**
   * A rate limit from `name` at `now`, naming a wait of `namedMs` or none, for a request sent at
   * `sentAt` (unknown: as if sent now). Returns the new end of its cool-down and the wait it stands
   * for, or `undefined` when the cool-down under way already lasts as long, or when the request
   * was sent before the latest cool-down ended and names no wait.
   */
  hit(name: string, now: number, namedMs: number | undefined, sentAt = now): { until: number; ms: number } | undefined {
    const { cooldownMs, maxCooldownMs } = this.#settings;
    const node = this.#nodes.get(name) ?? { strikes: 0, until: -Infinity, trial: false, trialAt: Infinity };
    // The trial has its answer (an older request's limit leaves it under way).
    if (node.trial && sentAt >= node.trialAt) node.trial = false;
    // Sent before the latest cool-down ended (while one lasts, every request was).
    const known = sentAt < node.until || node.until > now;
    if (known && namedMs === undefined) return undefined;
    if (namedMs === undefined) node.strikes += 1;
    const ms = Math.min(namedMs ?? cooldownMs * 2 ** (node.strikes - 1), maxCooldownMs);
    this.#nodes.set(name, node);
    if (known && now + ms <= Math.max(node.until, now)) return undefined;
    node.until = now + ms;
    return { until: node.until, ms };
  }

  /**
   * `name` answered a request sent at `sentAt` (unknown: as if sent now) without a rate limit: once
   * its cool-down is over, its backoff starts over. While an older request's limit keeps it cooling
   * down, the trial that answered is over all the same: the next request after the cool-down is
   * the trial then (else no request would ever go to the node again).
   */
  answered(name: string, now: number, sentAt = now): void {
    const node = this.#nodes.get(name);
    if (node === undefined) return;
    const trialAnswered = node.trial && sentAt >= node.trialAt;
    if (trialAnswered) node.trial = false;
    // Not the trial, and sent before the latest cool-down ended: it proves nothing new (as such a
    // request's rate limit is no new strike), and a trial under way stays under way.
    if (!trialAnswered && sentAt < node.until) return;
    if (node.until <= now && !node.trial) this.#nodes.delete(name);
  }

  /**
   * A request to `name` sent at `sentAt` (unknown: the trial) ended with no word on the rate limit
   * (it failed, or its caller gave up): if it was the trial, the next request may try. One sent
   * before the trial leaves it under way.
   */
  released(name: string, sentAt?: number): void {
    const node = this.#nodes.get(name);
    if (node && (sentAt === undefined || sentAt >= node.trialAt)) node.trial = false;
  }
}
