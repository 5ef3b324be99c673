import { describe, expect, it } from 'vitest';
import { chainLogs, heldLogs, logKeys, network } from './network.js';

/**
 * Failover to a backup two blocks behind, on the same chain: as it catches up it re-sends the
 * logs of blocks the client already has. Those are duplicates, dropped by key — but only while
 * the key is among the last `dedupeWindow` (256) remembered. One that fell out is taken for a log
 * of another branch at a lower height: it is delivered again and it retracts every delivered log
 * above it, though none of them left the chain.
 */
describe('logs from a backup that lags on the same chain (200 logs a block)', () => {
  it('nothing is retracted and nothing is delivered twice', async () => {
    const n = await network();
    const logs = await n.subscribe(['logs', {}]);
    const { a, b } = n.nodes as any;
    for (let i = 0; i < 2; i++) {
      a.advance(1);
      for (let j = 0; j < 200; j++) a.emitLog();
    }
    await n.clock.flush();
    expect(n.notes(logs)).toHaveLength(400); // 91 and 92 from a; b is still at 90 on the same chain
    a.cut();
    await n.clock.flush();
    expect(n.session.node).toBe('b');
    b.advance(3); // catches up: 91, 92 (same blocks, same logs), then 93
    b.emitLog();
    await n.clock.flush();
    const keys = logKeys(n.notes(logs));
    expect(keys.filter((k) => k.endsWith(':removed'))).toEqual([]);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
    expect(heldLogs(n.notes(logs))).toEqual(chainLogs(b));
    expect(n.reorgs).toEqual([]);
  });
});
