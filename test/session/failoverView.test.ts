import { describe, expect, it } from 'vitest';
import type { SessionSwitchEvent } from '../../src/index.js';
import { rpc, sessionHarness } from '../helpers/session.js';

/**
 * Promise (consistency guide, "Failover to a lagging node"): "The session opens, among the usable
 * nodes, the first whose head is not below the client's view, and a lagging one only when no other
 * is usable."
 */
describe('failover the pool starts (node marked unhealthy) respects the client view', () => {
  it('leaves an unhealthy primary for the usable backup that has caught up, not for the first backup that lags', async () => {
    // a: primary; c: first backup, 3 blocks behind (healthy: within maxLagBlocks); b: second backup, caught up.
    const h = await sessionHarness({ names: [['a', 'primary'], ['c', 'backup'], ['b', 'backup']] });
    h.nodes.a!.advance(3);
    h.nodes.b!.advance(3);
    h.pool.update('a', { head: 103 });
    h.pool.update('b', { head: 103 });
    h.send(rpc('seen', 'eth_blockNumber'));
    await h.settle();
    expect(h.answers('seen')[0].result).toBe('0x67');
    const switches: SessionSwitchEvent[] = [];
    h.session.on('switch', (e) => switches.push(e));
    // The probes find a down (its socket still open: a blackhole, a node stuck syncing ...).
    h.mark('a', 'unhealthy');
    await h.settle();
    expect(h.pool.preferred()).toBe('c');
    // Expected: b, the usable node that is not below what the client has seen.
    expect(h.session.node).toBe('b');
  });

  it('control: when a is cut instead, #pickNode opens b (the caught-up backup)', async () => {
    const h = await sessionHarness({ names: [['a', 'primary'], ['c', 'backup'], ['b', 'backup']] });
    h.nodes.a!.advance(3);
    h.nodes.b!.advance(3);
    h.pool.update('a', { head: 103 });
    h.pool.update('b', { head: 103 });
    h.send(rpc('seen', 'eth_blockNumber'));
    await h.settle();
    h.nodes.a!.cut();
    await h.settle();
    expect(h.session.node).toBe('b');
  });
});
