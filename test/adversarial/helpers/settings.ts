/**
 * How hard the adversarial suite pushes. `npm test` runs the short version (small counts, the
 * deadlines shrunk through options); `npm run test:adversarial` sets ADVERSARIAL_LONG=1: the
 * counts of the probes, and the default deadlines measured on Node's real sweep.
 */
export const LONG = process.env.ADVERSARIAL_LONG === '1';

export const COUNTS = Object.freeze({
  /** Half-open and slow-drip connections opened at once against the deadlines. */
  slowConnections: LONG ? 600 : 40,
  /** Half-open WebSocket upgrades. */
  halfOpenUpgrades: LONG ? 2_000 : 60,
  /** WebSocket clients over the max-clients cap. */
  overCap: LONG ? 200 : 20,
  /** How long a stalled reader is held, in ms. */
  stallMs: LONG ? 30_000 : 5_000,
  /** Clients with answers owed when SIGTERM arrives. */
  drainClients: LONG ? 50 : 8,
});
