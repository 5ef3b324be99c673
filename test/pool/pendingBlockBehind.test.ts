// Found in review: eth_getBlockByNumber('pending') was held only to "its number is not below the
// view". geth numbers the pending block head + 1, so a node one block behind the view answers a
// pending block numbered as the view's own block: it went through, and a caller that had been
// given the pending block 104 by a node at 103 was then given the pending block 103 (built on 102)
// by a node one block behind. Documented: "as for latest: only a node at the view answers".
import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../src/index.js';
import { fakeCluster, outcome } from '../helpers/pool.js';

const rpc = (id: number, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, id, method, params });

/** a at 103 and b at 102 (geth-like: pending is head + 1); the pool was given block 103 and the pending block 104 by a; a dies. */
async function pendingFromA() {
  const c = fakeCluster([{ name: 'a', head: 103 }, { name: 'b', head: 102 }], { consistency: { waitMs: 1_000, pollMs: 250 } });
  c.pool.update('a', { status: 'healthy', head: 103 });
  c.pool.update('b', { status: 'healthy', head: 102 });
  expect(await c.pool.request(rpc(1, 'eth_blockNumber'))).toMatchObject({ result: '0x67' });
  expect(await c.pool.request(rpc(2, 'eth_getBlockByNumber', ['pending', false]))).toMatchObject({ result: { number: '0x68' } });
  c.nodes.a!.setMode('down');
  c.pool.update('a', { status: 'unhealthy' });
  return c;
}

describe("pool.request(): eth_getBlockByNumber('pending') from a node one block behind the view", () => {
  it('waits for a node at the view, instead of a pending block numbered as a block already served', async () => {
    const c = await pendingFromA();
    try {
      const pending = outcome(c.pool.request(rpc(3, 'eth_getBlockByNumber', ['pending', false])));
      await c.clock.advance(500);
      // On HEAD: b (at 102) answers its pending block, 103, at once: the pending block went back from 104.
      expect(pending.done).toBe(false);
      c.nodes.b!.advance(1);
      c.pool.update('b', { head: 103 });
      await c.clock.advance(250);
      expect(pending.value).toMatchObject({ id: 3, result: { number: '0x68' } });
    } finally {
      c.pool.close();
    }
  });

  it('and is BEHIND when no node gets there', async () => {
    const c = await pendingFromA();
    try {
      const pending = outcome(c.pool.request(rpc(3, 'eth_getBlockByNumber', ['pending', true])));
      await c.clock.advance(1_500);
      expect(pending.value).toMatchObject({ id: 3, error: { code: RpcErrorCode.BEHIND } });
    } finally {
      c.pool.close();
    }
  });

  it('a node at the view that answers pending as latest (anvil) is answered at once', async () => {
    const c = fakeCluster([{ name: 'a', head: 103 }], { consistency: { waitMs: 1_000, pollMs: 250 } });
    const own = c.nodes.a!.answer.bind(c.nodes.a!);
    c.nodes.a!.answer = (request) => own(request.method === 'eth_getBlockByNumber' && (request.params as unknown[])[0] === 'pending' ? { ...request, params: ['latest', false] } : request);
    c.pool.update('a', { status: 'healthy', head: 103 });
    try {
      expect(await c.pool.request(rpc(1, 'eth_blockNumber'))).toMatchObject({ result: '0x67' });
      const pending = outcome(c.pool.request(rpc(2, 'eth_getBlockByNumber', ['pending', false])));
      await c.clock.advance(0);
      expect(pending.value).toMatchObject({ id: 2, result: { number: '0x67' } });
    } finally {
      c.pool.close();
    }
  });
});
