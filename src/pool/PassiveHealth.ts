import type { CircuitBreakerOptions, CircuitChange, CircuitState } from './CircuitBreaker.js';
import { CircuitBreaker, circuitBreakerSettings } from './CircuitBreaker.js';
import type { NodeHealth } from './NodeHealth.js';
import type { RateLimitOptions } from './RateLimitCooldown.js';
import { RateLimitCooldown, rateLimitSettings } from './RateLimitCooldown.js';

/** A node answered with a rate limit and is kept away from new requests until `until`. */
export interface RateLimitEvent {
  readonly name: string;
  /** Clock time the cool-down ends. */
  readonly until: number;
  /** Its length, in ms: the node's own wait (capped), else the backoff's. */
  readonly ms: number;
  /** `http-status`: an HTTP 429; `rpc-error`: a JSON-RPC error the classifier called `rate-limited`. */
  readonly source: 'http-status' | 'rpc-error';
}

/** A node's circuit breaker changed state. */
export interface CircuitEvent {
  readonly name: string;
  readonly from: CircuitState;
  readonly to: CircuitState;
  /** While `open`: when a trial request may go. */
  readonly openUntil: number | undefined;
}

/** What the pool gives {@link PassiveHealth}: its clock, its health records and its events. */
export interface PassiveHealthHooks {
  now(): number;
  /** Writes into the node's health record (no-op once the pool is closed). */
  write(name: string, patch: Partial<NodeHealth>): void;
  rateLimited(event: RateLimitEvent): void;
  circuit(event: CircuitEvent): void;
}

export interface PassiveHealthOptions {
  breaker?: CircuitBreakerOptions | false;
  rateLimit?: RateLimitOptions;
}

/**
 * What the requests themselves tell of each node, between health probes: a circuit breaker over
 * consecutive failed attempts ({@link CircuitBreaker}) and the cool-down after a rate limit
 * ({@link RateLimitCooldown}). A node that is cooling down or whose circuit is open takes no new
 * HTTP request and comes after every other candidate; neither changes its status (the probes own
 * it) nor the pool's preferred node, so no session moves for a one-second rate limit.
 */
export class PassiveHealth {
  readonly #hooks: PassiveHealthHooks;
  readonly #breakers: Map<string, CircuitBreaker> | undefined;
  readonly #cooldown: RateLimitCooldown;

  constructor(names: readonly string[], options: PassiveHealthOptions, hooks: PassiveHealthHooks) {
    const breaker = circuitBreakerSettings(options.breaker);
    this.#cooldown = new RateLimitCooldown(rateLimitSettings(options.rateLimit));
    this.#breakers = breaker === false ? undefined : new Map(names.map((name) => [name, new CircuitBreaker(breaker)]));
    this.#hooks = hooks;
  }

  /** Whether a request would be let through to `name` now (nothing is taken). */
  available(name: string): boolean {
    const now = this.#hooks.now();
    return this.#cooldown.admits(name, now) && (this.#breakers?.get(name)!.admits(now) ?? true);
  }

  /** Whether only an open circuit keeps requests from `name` now (it is not cooling down). */
  heldByCircuitOnly(name: string): boolean {
    const now = this.#hooks.now();
    return this.#cooldown.admits(name, now) && !(this.#breakers?.get(name)!.admits(now) ?? true);
  }

  /** Whether `name` is cooling down after a rate limit (it named when it takes requests again). */
  coolingDown(name: string): boolean {
    return this.#cooldown.until(name, this.#hooks.now()) !== undefined;
  }

  /** When `name` takes requests again, if it is cooling down or its circuit is open. */
  backAt(name: string): number | undefined {
    const now = this.#hooks.now();
    const cooling = this.#cooldown.until(name, now);
    const breaker = this.#breakers?.get(name);
    const open = breaker?.state(now) === 'open' ? breaker.openUntil : undefined;
    return cooling === undefined ? open : Math.max(cooling, open ?? -Infinity);
  }

  /** Why `name` takes no request now, in words (for error details). */
  why(name: string): string {
    const now = this.#hooks.now();
    const cooling = this.#cooldown.until(name, now);
    if (cooling !== undefined) return `cooling down after a rate limit for ${cooling - now} ms more`;
    if (!this.#cooldown.admits(name, now)) return 'its first request after a rate limit under way';
    const breaker = this.#breakers?.get(name);
    const state = breaker?.state(now);
    if (state === 'open') return `circuit open for ${breaker!.openUntil! - now} ms more`;
    if (state === 'half-open') return 'circuit half-open, its trial request under way';
    return 'takes requests';
  }

  /**
   * Lets an attempt go to `name` if it may: not cooling down (after a cool-down, this attempt goes
   * first, alone), circuit closed, or half-open with no trial under way (this attempt becomes the
   * trial). Every admitted attempt ends in exactly one of {@link answered}, {@link failed},
   * {@link abandoned} or {@link rateLimited}.
   */
  admit(name: string): boolean {
    const now = this.#hooks.now();
    const breaker = this.#breakers?.get(name);
    if (breaker && !breaker.admits(now)) return false;
    if (!this.#cooldown.admit(name, now)) return false;
    if (!breaker) return true;
    const { change } = breaker.admit(now);
    try {
      this.#publish(name, change);
    } catch (error) {
      // A listener of the change threw: the attempt is not made, so it is no trial of either.
      this.#cooldown.released(name);
      breaker.released();
      throw error;
    }
    return true;
  }

  /** `name` answered (a result or a JSON-RPC error) a request sent at `sentAt` (unknown: now): alive. */
  answered(name: string, sentAt?: number): void {
    this.#cooldown.answered(name, this.#hooks.now(), sentAt);
    this.#publish(name, this.#breakers?.get(name)!.succeeded());
  }

  /**
   * An attempt to `name` sent at `sentAt` (unknown: now) failed: no answer in time, a broken
   * connection, an HTTP error status, garbage.
   */
  failed(name: string, sentAt?: number): void {
    this.#cooldown.released(name, sentAt);
    this.#publish(name, this.#breakers?.get(name)!.failed(this.#hooks.now(), sentAt));
  }

  /** An attempt sent at `sentAt` (unknown: now) ended with no verdict on the node (its caller gave up). */
  abandoned(name: string, sentAt?: number): void {
    this.#cooldown.released(name, sentAt);
    this.#breakers?.get(name)!.released(sentAt);
  }

  /**
   * `name` answered with a rate limit, naming a wait of `namedMs` or none, to a request sent at
   * `sentAt` (unknown: now): it cools down.
   */
  rateLimited(name: string, namedMs: number | undefined, source: RateLimitEvent['source'], sentAt?: number): void {
    this.#breakers?.get(name)!.released(sentAt);
    const cooled = this.#cooldown.hit(name, this.#hooks.now(), namedMs, sentAt);
    if (!cooled) return;
    this.#hooks.write(name, { rateLimitedUntil: cooled.until });
    this.#hooks.rateLimited({ name, until: cooled.until, ms: cooled.ms, source });
  }

  /**
   * The health probes brought `name` back (down, then healthy): its circuit closes. Returns the
   * change for the pool to write with the status and publish, or `undefined`.
   */
  recovered(name: string): CircuitEvent | undefined {
    const change = this.#breakers?.get(name)!.reset();
    return change && { name, ...change };
  }

  #publish(name: string, change: CircuitChange | undefined): void {
    if (!change) return;
    this.#hooks.write(name, { circuit: change.to, circuitOpenUntil: change.openUntil });
    this.#hooks.circuit({ name, ...change });
  }
}
