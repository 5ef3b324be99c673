// docs/guides/consistency.md ("Waits" means …): pool.request() waits for a node behind the view as
// a session does. It asks the candidates' heads every consistency.pollMs and sends the read again
// only to a node that has reached the block it needs (PoolViewGate.#awaitCaughtUp). Before, each
// pass sent the read itself again: about waitMs / pollMs = 20 copies of an eth_getLogs to a lagging
// node in 5 s, which a provider that bills per call charges for.
import { describe, expect, it } from 'vitest';
import { poolAfterCut } from '../../helpers/pool.js';

const rpc = (id: number, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, id, method, params });

/** a (at 103) served the pool; a dies; b is healthy at 100, 3 blocks behind what the pool served. */
async function poolOnLaggingNode() {
  const cluster = await poolAfterCut();
  cluster.nodes.b!.calls.clear();
  return cluster;
}

const logsToLatest = rpc(2, 'eth_getLogs', [{ fromBlock: '0x1', toBlock: 'latest', address: '0x0000000000000000000000000000000000000001' }]);

describe('pool.request(): how a read held to the view waits', () => {
  it('while no node has caught up, only heads are asked every consistency.pollMs: the read went to the lagging node once', async () => {
    const { pool, nodes, clock } = await poolOnLaggingNode();
    try {
      let answer: any;
      void pool.request(logsToLatest).then((a) => (answer = a));
      await clock.advance(5_000);
      expect(answer.error.code).toBe(-32055);
      expect(nodes.b!.calls.get('eth_getLogs') ?? 0).toBe(1);
      // Its head, every 250 ms (about waitMs / pollMs times).
      expect(nodes.b!.calls.get('eth_blockNumber')).toBeGreaterThanOrEqual(18);
      expect(nodes.b!.calls.get('eth_blockNumber')).toBeLessThanOrEqual(21);
    } finally {
      pool.close();
    }
  });

  it('once the node has caught up, the read goes to it again and its answer is passed on', async () => {
    const { pool, nodes, clock } = await poolOnLaggingNode();
    try {
      let answer: any;
      void pool.request(logsToLatest).then((a) => (answer = a));
      await clock.advance(1_000);
      expect(answer).toBeUndefined();
      expect(nodes.b!.calls.get('eth_getLogs') ?? 0).toBe(1);
      nodes.b!.advance(3); // at 103: what the pool served
      await clock.advance(250);
      expect(answer).toMatchObject({ id: 2, result: expect.any(Array) });
      expect(nodes.b!.calls.get('eth_getLogs') ?? 0).toBe(2);
    } finally {
      pool.close();
    }
  });
});
