import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../src/index.js';
import { fakeCluster } from '../helpers/pool.js';

/**
 * Promise (brief / reference): close() leaves no timers; NodePool.close() "rejects further use".
 * A request() waiting for a node to catch up with the pool's view (consistency.waitMs) is the pool's
 * own timer loop.
 */
describe('NodePool.close() during a consistency wait', () => {
  it('leaves no timer behind and sends nothing more to the nodes', async () => {
    const c = fakeCluster([{ name: 'a', head: 100 }, { name: 'b', head: 110 }]);
    c.pool.update('a', { status: 'healthy', head: 100 });
    c.pool.update('b', { status: 'healthy', head: 110 });
    // The pool's view reaches 110 (b), then a read that only a (at 100) may take waits for it.
    await c.pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }, { avoid: ['a'] });
    const waiting = c.pool.request({ jsonrpc: '2.0', id: 2, method: 'eth_blockNumber', params: [] }, { avoid: ['b'] }).catch((e: unknown) => e);
    await c.clock.advance(300);
    c.pool.close();
    const sentAtClose = c.http.requests.length;
    await c.clock.advance(0);
    expect(c.clock.pendingTimers).toBe(0);
    await c.clock.advance(10_000);
    // (It kept asking a every pollMs until waitMs was over, then answered BEHIND.)
    expect(c.http.requests.length - sentAtClose).toBe(0);
    expect(await waiting).toMatchObject({ code: 'ERR_CLOSED' });
  });
});

const rpc = (id: number, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, id, method, params });

/**
 * close() settles what is in flight at once (found by the pool's property test,
 * test/pool/pool.property.test.ts): before, an attempt on a node that had not answered ran on to
 * its deadline (10 s of a timer keeping a shutting-down process alive), and could then fail over
 * to another node after close(); a batch whose write a node had answered, with a read held for the
 * view, was rejected, losing the write's answer.
 */
describe('NodePool.close() with requests in flight', () => {
  async function stalledPrimary(options: Parameters<typeof fakeCluster>[1] = {}) {
    const c = fakeCluster([{ name: 'a' }, { name: 'b' }], options);
    c.pool.update('a', { status: 'healthy', head: 100 });
    c.pool.update('b', { status: 'healthy', head: 100 });
    c.nodes.a!.setMode('stall');
    return c;
  }

  it('a read whose node has not answered rejects at once with ERR_CLOSED; nothing goes to another node, no timer is left', async () => {
    const c = await stalledPrimary();
    const pending = c.pool.request(rpc(1, 'eth_blockNumber')).catch((e: unknown) => e);
    await c.clock.advance(500);
    expect(c.http.requests.map((r) => r.url)).toEqual(['http://a.test/']);
    c.pool.close();
    await c.clock.advance(0);
    expect(await pending).toMatchObject({ code: 'ERR_CLOSED' });
    expect(c.clock.pendingTimers).toBe(0);
    await c.clock.advance(20_000);
    expect(c.http.requests.map((r) => r.url)).toEqual(['http://a.test/']);
  });

  it('a hedged read: both copies end, the request rejects with ERR_CLOSED, no timer is left', async () => {
    const c = await stalledPrimary({ hedge: { delayMs: 100 } });
    c.nodes.b!.setMode('stall');
    const pending = c.pool.request(rpc(1, 'eth_blockNumber')).catch((e: unknown) => e);
    await c.clock.advance(200);
    expect(c.http.requests.map((r) => r.url)).toEqual(['http://a.test/', 'http://b.test/']);
    c.pool.close();
    await c.clock.advance(0);
    expect(await pending).toMatchObject({ code: 'ERR_CLOSED' });
    expect(c.clock.pendingTimers).toBe(0);
  });

  it('a write its node may have carried out is answered NOT_RESENT (reason closed), not sent elsewhere', async () => {
    const c = await stalledPrimary();
    let answer: unknown;
    void c.pool.request(rpc(7, 'eth_sendTransaction', [{}])).then((a) => (answer = a));
    await c.clock.advance(500);
    c.pool.close();
    await c.clock.advance(0);
    expect(answer).toEqual({
      jsonrpc: '2.0',
      id: 7,
      error: { code: RpcErrorCode.NOT_RESENT, message: expect.stringContaining('had not answered when the pool was closed'), data: { node: 'a', reason: 'closed' } },
    });
    expect(c.http.requests.map((r) => r.url)).toEqual(['http://a.test/']);
    expect(c.clock.pendingTimers).toBe(0);
  });

  it("a batch whose write a node answered keeps that answer; its read held for the view is answered UPSTREAM_UNAVAILABLE", async () => {
    // The pool has served 103 (from b); a, at 100, answers the batch: the write's hash is real,
    // the block number is behind and waits for a node that has caught up.
    const c = fakeCluster([{ name: 'a', head: 100 }, { name: 'b', head: 103 }], { failbackCatchUp: false });
    c.pool.update('a', { status: 'healthy', head: 100 });
    c.pool.update('b', { status: 'healthy', head: 103 });
    expect(await c.pool.request(rpc(1, 'eth_blockNumber'), { avoid: ['a'] })).toMatchObject({ result: '0x67' });
    c.nodes.b!.setMode('down');
    const write = { hash: `0x${'ab'.repeat(32)}` };
    const answerWrites = c.nodes.a!.http;
    c.http.route('http://a.test/', async (body, signal, endpoint) => {
      const payload = JSON.parse(body) as Array<{ id: number; method: string }>;
      if (!Array.isArray(payload) || payload[0]!.method !== 'eth_sendTransaction') return answerWrites(body, signal, endpoint);
      const reads = JSON.parse((await answerWrites(JSON.stringify(payload.filter((r) => r.method !== 'eth_sendTransaction')), signal, endpoint)).body) as unknown[];
      return { status: 200, body: JSON.stringify([{ jsonrpc: '2.0', id: payload[0]!.id, result: write.hash }, ...reads]) };
    });
    let answer: unknown;
    void c.pool.request([rpc(2, 'eth_sendTransaction', [{}]), rpc(3, 'eth_blockNumber')]).then((a) => (answer = a));
    await c.clock.advance(300);
    expect(answer).toBeUndefined();
    c.pool.close();
    await c.clock.advance(0);
    expect(answer).toEqual([
      { jsonrpc: '2.0', id: 2, result: write.hash },
      { jsonrpc: '2.0', id: 3, error: { code: RpcErrorCode.UPSTREAM_UNAVAILABLE, message: 'NodePool closed before a node caught up with the blocks already served' } },
    ]);
    expect(c.clock.pendingTimers).toBe(0);
  });
});
