import { describe, expect, it } from 'vitest';
import { chainLogs, heldLogs, logKeys, network } from './network.js';

/**
 * A log that leaves the chain, comes back, and leaves again: the node (geth) sends `removed: true`
 * each time it leaves. The session remembers `key:removed` from the first time and never forgets
 * it when the log comes back, so the second retraction is dropped as a "duplicate".
 */
describe('a log removed, re-added, then removed again by one geth-like node', () => {
  it('the second removed: true the node sends reaches the client (logs-only session)', async () => {
    const n = await network({ names: ['a', 'b'] });
    const logs = await n.subscribe(['logs', {}]);
    await n.mine(5); // 91..95, one log each, a and b on one chain
    const { a, b } = n.nodes as { a: any; b: any };
    a.forkAt(1, 2); // a leaves 95: sends 95's log removed; 95', 96' carry no log
    await n.clock.flush();
    b.advance(1); // b (not used by the session) goes on on the first branch: 96
    a.follow(b); // a back on the first branch: 95's log again (and 96's none)
    await n.clock.flush();
    a.forkAt(2, 2); // a leaves 95 and 96 again: sends 95's log removed again
    await n.clock.flush();
    const seen = logKeys(n.notes(logs));
    expect(seen.filter((k) => k === '95:00000000:0:removed')).toHaveLength(2);
    expect(heldLogs(n.notes(logs))).toEqual(chainLogs(a));
  });

  it('the same after the session itself retracted the log at a switch and a failback re-delivered it', async () => {
    const n = await network({ names: ['a', 'b'] });
    const logs = await n.subscribe(['logs', {}]);
    await n.mine(5); // 91..95
    const { a, b } = n.nodes as { a: any; b: any };
    b.forkAt(1, 2); // b: 95', 96' (no logs)
    n.syncPool();
    a.cut();
    await n.clock.flush();
    expect(n.session.node).toBe('b'); // 95's log retracted by the session
    a.restore();
    a.advance(2); // a mines 96, 97 on the first branch: ahead of b, the pool prefers it again
    n.syncPool();
    n.pool.update('a', { status: 'healthy', head: a.head });
    await n.clock.advance(3_000);
    expect(n.session.node).toBe('a'); // failback: 95's log delivered again
    expect(heldLogs(n.notes(logs))).toEqual(chainLogs(a));
    a.forkAt(3, 3); // a's own reorg, geth-style: 95's log removed
    await n.clock.flush();
    expect(heldLogs(n.notes(logs))).toEqual(chainLogs(a));
  });
});
