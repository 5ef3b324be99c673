import { SteadyRpcError } from '../errors.js';
import type { SessionContext } from './SessionContext.js';
import type { UpstreamLink } from './UpstreamLink.js';

/**
 * Keeps the active socket honest: after an idle interval it sends a cheap call, and a socket that
 * misses the deadline is treated as dead (a "zombie" upstream). Each tick is also when the session
 * considers going back to the preferred node.
 */
export class Keepalive {
  readonly #ctx: SessionContext;

  constructor(ctx: SessionContext) {
    this.#ctx = ctx;
  }

  arm(link: UpstreamLink): void {
    link.setTimer('keepalive', this.#ctx.settings.keepaliveIntervalMs, () => this.#tick(link));
  }

  /**
   * Checks the active socket now, unless a keepalive is already on its way: for when the page
   * becomes visible again, after its timers may have been held back for minutes and the network
   * may have changed under it.
   */
  checkNow(): void {
    const link = this.#ctx.link;
    if (link === undefined || link.phase !== 'active' || link.keepaliveInFlight) return;
    this.#probe(link);
  }

  #tick(link: UpstreamLink): void {
    const ctx = this.#ctx;
    if (link !== ctx.link) return;
    ctx.switcher.maybeFailback(link);
    // A `state` listener of the failback's switching may have closed the session.
    if (ctx.closed()) return;
    const { keepaliveIntervalMs } = ctx.settings;
    const idle = ctx.clock.now() - link.lastSeenAt;
    if (link.keepaliveInFlight || idle < keepaliveIntervalMs) {
      // Wake up when the socket will have been idle for a whole interval, not a tick later: a
      // silent upstream is then noticed within keepaliveIntervalMs + keepaliveTimeoutMs.
      link.setTimer('keepalive', link.keepaliveInFlight ? keepaliveIntervalMs : keepaliveIntervalMs - idle, () => this.#tick(link));
      return;
    }
    this.#probe(link);
  }

  /** Sends a keepalive call now; a missed deadline fails the link. */
  #probe(link: UpstreamLink): void {
    const ctx = this.#ctx;
    const { keepaliveTimeoutMs, keepaliveMethod } = ctx.settings;
    this.arm(link);
    link.keepaliveInFlight = true;
    ctx.outbox.sendOwn(link, 'keepalive', keepaliveMethod, [], keepaliveTimeoutMs,
      () => (link.keepaliveInFlight = false), // any answer, even an error, is a sign of life
      (error) => {
        link.keepaliveInFlight = false;
        // Only the active socket is kept alive: a socket being left just drains what it owes.
        if (link === ctx.link) ctx.switcher.linkFailed(link, 'keepalive-timeout', new SteadyRpcError('ERR_TIMEOUT', `Node "${link.node}" missed its keepalive deadline`, { cause: error }));
      },
    );
  }
}
