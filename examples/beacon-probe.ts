/**
 * A custom health probe: beacon nodes (consensus layer) checked over their REST API instead of
 * JSON-RPC. A node that is syncing fails the probe; the head slot is its "head" for the lag check.
 *
 *   npx tsx examples/beacon-probe.ts http://127.0.0.1:5052 http://127.0.0.1:5053
 */
import { pathToFileURL } from 'node:url';
import { HealthChecker, NodePool, SteadyRpcError, type Probe } from 'steadyrpc';

/** GET /eth/v1/node/syncing: `{ data: { head_slot, is_syncing } }`. */
export const beaconProbe: Probe = async ({ node, signal }) => {
  const base = typeof node.http === 'string' ? node.http : undefined;
  if (!base) throw new SteadyRpcError('ERR_CONFIG', `Node "${node.name}" needs a static http URL for the beacon probe`);
  const response = await fetch(new URL('/eth/v1/node/syncing', base), { signal });
  if (!response.ok) throw new SteadyRpcError('ERR_BAD_RESPONSE', `Node "${node.name}" answered HTTP ${response.status}`);
  // The node's answer is checked, not trusted: a missing or garbled slot must fail the probe, not
  // become NaN (`Number(undefined)`) or a slot from a misread string (`Number('')` is 0).
  const body = (await response.json()) as { data?: { head_slot?: unknown; is_syncing?: unknown } } | null;
  const data = typeof body === 'object' && body !== null ? body.data : undefined;
  const slot = data?.head_slot;
  if (typeof slot !== 'string' || !/^\d{1,15}$/.test(slot) || typeof data?.is_syncing !== 'boolean') {
    throw new SteadyRpcError('ERR_BAD_RESPONSE', `Node "${node.name}" answered /eth/v1/node/syncing without a head_slot and is_syncing`);
  }
  if (data.is_syncing) throw new SteadyRpcError('ERR_LAGGING', `Node "${node.name}" is syncing`);
  return { head: Number(slot) };
};

/** Checks beacon nodes every second; returns the pool and checker (close both when done). */
export function watchBeacons(urls: string[], log = console.log) {
  const pool = new NodePool({ nodes: urls.map((http, i) => ({ name: `beacon${i}`, http })) });
  const health = new HealthChecker(pool, { probe: beaconProbe, maxLagBlocks: 2, intervalMs: 1_000 });
  health.on('probe', ({ name, ok, head, error }) => log(`${name}: ${ok ? `slot ${head}` : error?.message}`));
  pool.on('switch', ({ from, to, reason }) => log(`preferred beacon ${from ?? '-'} -> ${to ?? '-'} (${reason})`));
  health.start();
  return { pool, health };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { pool, health } = watchBeacons(process.argv.slice(2));
  process.once('SIGINT', () => {
    health.close();
    pool.close();
  });
}
