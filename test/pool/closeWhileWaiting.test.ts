import { describe, expect, it } from 'vitest';
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
