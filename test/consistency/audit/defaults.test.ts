// Audit of the consistency defaults stated in docs/reference.md:36-38 (NodePool) and :125-127
// (UpstreamSession), docs/guides/consistency.md:33-36 and :233 ("`consistency.pollMs` (250 ms)",
// "After `consistency.waitMs` (5 s) the read gets […] BEHIND"), implemented by CONSISTENCY_DEFAULTS
// (src/consistency/settings.ts:18-22), applied by NodePool (src/pool/NodePool.ts:95) and
// UpstreamSession (src/session/UpstreamSession.ts:89).
//
// Existing tests: the session's 5 s is pinned at its boundary (laggingReadBackend.test.ts:46-57); the
// session's 250 ms and both of the pool's defaults were not (test/pool/view.test.ts passes
// `waitMs: 1_000`; the pool tests that wait advance by loose amounts, and test/defaults/ has no
// consistency case). Each test below uses the default and checks it at its boundary. Passing tests.
import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../../src/index.js';
import { fakeCluster } from '../../helpers/pool.js';
import { rpc, sessionHarness } from '../../helpers/session.js';

/** a (at 103) served the pool; a dies; b is healthy at 100. */
async function poolOnLaggingNode() {
  const cluster = fakeCluster([{ name: 'a', head: 103 }, { name: 'b' }]);
  const { pool, nodes } = cluster;
  pool.update('a', { status: 'healthy', head: 103 });
  pool.update('b', { status: 'healthy', head: 100 });
  expect(await pool.request(rpc(1, 'eth_blockNumber') as never)).toEqual({ jsonrpc: '2.0', id: 1, result: '0x67' });
  nodes.a!.setMode('down');
  pool.update('a', { status: 'unhealthy' });
  return cluster;
}

describe('NodePool consistency defaults', () => {
  it('waitMs is 5 s: a read no node catches up for is answered BEHIND exactly 5 000 ms after it came, not 1 ms before', async () => {
    const { pool, clock } = await poolOnLaggingNode();
    try {
      const sentAt = clock.now();
      let answer: any;
      void pool.request(rpc(2, 'eth_blockNumber') as never).then((a) => (answer = a));
      await clock.advance(5_000 - 1);
      expect(answer).toBeUndefined();
      await clock.advance(1);
      expect(clock.now()).toBe(sentAt + 5_000);
      expect(answer).toEqual({ jsonrpc: '2.0', id: 2, error: { code: RpcErrorCode.BEHIND, message: 'No node caught up with the blocks already served within 5000 ms' } });
    } finally {
      pool.close();
    }
  });

  it('pollMs is 250 ms: once every node was asked, the read is asked again 250 ms later, not 1 ms before', async () => {
    const { pool, nodes, clock } = await poolOnLaggingNode();
    try {
      let answer: unknown;
      void pool.request(rpc(2, 'eth_blockNumber') as never).then((a) => (answer = a));
      await clock.advance(0); // a failed, b answered 100: the pool waits
      expect(answer).toBeUndefined();
      nodes.b!.advance(3); // b catches up right away
      await clock.advance(250 - 1);
      expect(answer).toBeUndefined();
      await clock.advance(1);
      expect(answer).toEqual({ jsonrpc: '2.0', id: 2, result: '0x67' });
    } finally {
      pool.close();
    }
  });

  it('monotonic is on: with no consistency option at all, a lower number is not returned', async () => {
    const { pool, clock } = await poolOnLaggingNode();
    try {
      let answer: unknown;
      void pool.request(rpc(2, 'eth_blockNumber') as never).then(
        (a) => (answer = a),
        () => {}, // closed below while it waits
      );
      await clock.advance(1_000);
      expect(answer).toBeUndefined();
    } finally {
      pool.close();
    }
  });
});

describe('UpstreamSession consistency.pollMs defaults to 250 ms', () => {
  it('a held read is sent again 250 ms after it was held, once the node has caught up; not 1 ms before', async () => {
    const h = await sessionHarness();
    h.nodes.a!.advance(3);
    h.send(rpc('seen', 'eth_blockNumber'));
    await h.settle();
    expect(h.answers('seen')[0].result).toBe('0x67');
    h.nodes.a!.cut();
    await h.settle();
    expect(h.session.node).toBe('b'); // at 100
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle();
    expect(h.session.stats().heldBehind).toBe(1);
    h.nodes.b!.advance(3); // caught up at once: the next poll finds it
    const polls = () => h.nodes.b!.calls.get('eth_blockNumber') ?? 0;
    const before = polls();
    await h.clock.advance(250 - 1);
    expect(h.answers(1)).toEqual([]);
    expect(polls()).toBe(before);
    await h.clock.advance(1);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x67' }]);
  });
});
