/** Stops a listener from being called. Idempotent. */
export type Unsubscribe = () => void;

/**
 * Where the network and visibility events a session reacts to come from, injected like the
 * {@link Clock}: `browserEnvironment()` reads the page's (`online`/`offline`, `visibilitychange`,
 * `navigator.onLine`), {@link staticEnvironment} has none (servers), and `FakeEnvironment` from
 * `steadyrpc/testing` lets a test fire them.
 *
 * What a session does with them:
 * - `offline`: it stops its own reconnect and failback attempts and the backoff stops growing; it
 *   waits for `online` (a node a health probe reaches is still connected to: the device may be
 *   wrong, and a socket in use is kept);
 * - `online`: the backoff starts over and it reconnects at once (make-before-break when it still
 *   has an upstream: the old socket may have died with the old network); a socket still opening
 *   from before is given up for a fresh one;
 * - visible again: it checks its upstream at once with a keepalive call, as the timers of a
 *   hidden page may have been held back for minutes.
 */
export interface Environment {
  /** Whether the device has a network now, as far as the platform knows. */
  online(): boolean;
  /** Calls `listener` each time the device goes online. */
  onOnline(listener: () => void): Unsubscribe;
  /** Calls `listener` each time the device goes offline. */
  onOffline(listener: () => void): Unsubscribe;
  /** Calls `listener` each time the page becomes visible again. */
  onVisible(listener: () => void): Unsubscribe;
}

const unsubscribed: Unsubscribe = () => {};

/**
 * An environment with no events: always online, never hidden. What servers, Node, and runtimes
 * without a page get; pass it to a session to opt out of the browser hooks.
 */
export const staticEnvironment: Environment = Object.freeze({
  online: () => true,
  onOnline: () => unsubscribed,
  onOffline: () => unsubscribed,
  onVisible: () => unsubscribed,
});

/** Whether `value` has the {@link Environment} methods (a session checks its option once). */
export function isEnvironment(value: unknown): value is Environment {
  if (typeof value !== 'object' || value === null) return false;
  const env = value as Record<string, unknown>;
  return ['online', 'onOnline', 'onOffline', 'onVisible'].every((name) => typeof env[name] === 'function');
}
