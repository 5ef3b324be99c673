// Audit of docs/guides/consistency.md:33-35 ("Waits" means: the session asks the node in use for its
// head every consistency.pollMs and sends the read again once the node has caught up […];
// pool.request() first asks the next candidate node, then waits the same way) against
// src/pool/PoolViewGate.ts:115-157.
//
// PoolViewGate does not wait "the same way": each pass sends the read itself again to every candidate
// (after a head read, PoolViewGate.ts:199-206), then sleeps pollMs (:154-157) and starts over. A read
// held for waitMs (5 s) on a lagging pool goes to each node about waitMs / pollMs = 20 times, however
// expensive it is (an indexer's eth_getLogs over a wide range, billed per call by providers).
// docs/reference.md:38 ("how often it asks again while it waits") matches the code; the guide does not.
//
// The guide now says what the code does; this pins it.
import { describe, expect, it } from 'vitest';
import { fakeCluster } from '../../helpers/pool.js';

const rpc = (id: number, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, id, method, params });

/** a (at 103) served the pool; a dies; b is healthy at 100, 3 blocks behind what the pool served. */
async function poolOnLaggingNode() {
  const cluster = fakeCluster([{ name: 'a', head: 103 }, { name: 'b' }]);
  const { pool, nodes } = cluster;
  pool.update('a', { status: 'healthy', head: 103 });
  pool.update('b', { status: 'healthy', head: 100 });
  expect(await pool.request(rpc(1, 'eth_blockNumber'))).toEqual({ jsonrpc: '2.0', id: 1, result: '0x67' });
  nodes.a!.setMode('down');
  pool.update('a', { status: 'unhealthy' });
  nodes.b!.calls.clear();
  return cluster;
}

const logsToLatest = rpc(2, 'eth_getLogs', [{ fromBlock: '0x1', toBlock: 'latest', address: '0x0000000000000000000000000000000000000001' }]);

describe('pool.request(): how a read held to the view waits', () => {
  it('the read itself goes to the lagging node again every consistency.pollMs (250 ms), about waitMs / pollMs times', async () => {
    const { pool, nodes, clock } = await poolOnLaggingNode();
    try {
      let answer: any;
      void pool.request(logsToLatest).then((a) => (answer = a));
      await clock.advance(5_000);
      expect(answer.error.code).toBe(-32055);
      const sent = nodes.b!.calls.get('eth_getLogs') ?? 0;
      expect(sent).toBeGreaterThanOrEqual(19);
      expect(sent).toBeLessThanOrEqual(21);
    } finally {
      pool.close();
    }
  });
});
