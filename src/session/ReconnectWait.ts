import type { ExponentialBackoff } from '../backoff/ExponentialBackoff.js';
import type { TimerHandle } from '../Clock.js';
import type { HealthEvent } from '../pool/NodePool.js';
import type { SessionContext } from './SessionContext.js';

/**
 * How a session waits when it has nothing to connect to: a jittered, capped exponential backoff
 * when every node failed this round, or, while the device is offline, a wait for the network that
 * does not make the backoff grow. Either ends early when a probe brings news of a node:
 * - a backoff, when a node comes back: the pool's status for it turns healthy, or its first good
 *   probe after a failed one (a node that flapped faster than the pool marks a node down keeps
 *   its status, and the session would otherwise wait out its delay, up to `backoff.maxDelayMs`,
 *   after the node answers again). Probes that never failed are no news: a node whose HTTP side
 *   answers while its WebSocket upgrade is refused is retried at the backoff's pace, not at every
 *   probe;
 * - the wait for the network, when a probe reaches a node at all: it is reachable whatever the
 *   device says (a node on localhost with no other network). A probe that failed says nothing,
 *   even while the pool's hysteresis still counts the node healthy.
 * The pool's `health` events are listened to only while waiting.
 */
export class ReconnectWait {
  readonly #ctx: SessionContext;
  /** A probe found `name` healthy: the wait is over. */
  readonly #onHealthy: (name: string) => void;
  #backoff: ExponentialBackoff;
  #timer: TimerHandle | undefined;
  #forNetwork = false;

  constructor(ctx: SessionContext, backoff: ExponentialBackoff, onHealthy: (name: string) => void) {
    this.#ctx = ctx;
    this.#backoff = backoff;
    this.#onHealthy = onHealthy;
  }

  /** Backing off: the next round starts when the timer runs. */
  get backingOff(): boolean {
    return this.#timer !== undefined;
  }

  /** The next backoff starts from its first delay again. */
  reset(): void {
    this.#backoff = this.#backoff.reset();
  }

  /** Waits the backoff's next delay (announced as `reconnecting`), then calls `onDone`. */
  backOff(onDone: () => void): void {
    const ctx = this.#ctx;
    this.stop();
    const delayMs = this.#backoff.delay(ctx.random);
    this.#backoff = this.#backoff.next();
    ctx.stats.reconnects += 1;
    ctx.events.emit('reconnecting', { attempt: this.#backoff.attempt, delayMs });
    if (ctx.closed()) return; // a listener gave up
    this.#timer = ctx.clock.setTimeout(() => {
      this.stop();
      onDone();
    }, delayMs);
    ctx.pool.on('health', this.#onHealth);
  }

  /** Waits for the network, without a timer: the backoff does not grow meanwhile. */
  awaitNetwork(): void {
    if (this.#forNetwork) return;
    this.stop();
    this.#forNetwork = true;
    this.#ctx.pool.on('health', this.#onHealth);
  }

  /** The device went offline: a backoff in progress becomes a wait for the network. */
  offline(): void {
    if (this.#timer !== undefined) this.awaitNetwork();
  }

  /** Ends any wait and stops listening to the pool's probes. Idempotent. */
  stop(): void {
    if (this.#timer !== undefined) this.#ctx.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#forNetwork = false;
    this.#ctx.pool.off('health', this.#onHealth);
  }

  readonly #onHealth = ({ name, previous, health }: HealthEvent): void => {
    const { pool } = this.#ctx;
    if (health.status !== 'healthy' || pool.node(name).ws === undefined || (health.quarantinedUntil ?? -Infinity) > pool.clock.now()) return;
    // The last probe failed (the node still counts healthy until enough fail in a row).
    if (health.consecutiveFailures > 0) return;
    if (!this.#forNetwork && previous === 'healthy' && health.consecutiveSuccesses !== 1) return;
    this.stop();
    this.#onHealthy(name);
  };
}
