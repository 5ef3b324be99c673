import { describe, expect, it } from 'vitest';
import { chainLogs, heldLogs, logKeys, network } from './network.js';

/**
 * A logs subscription only has anchors where it was given logs. A block with no matching log is
 * also something the client "saw" (it has every log since it subscribed), but the fork check
 * guesses the ancestor as (lowest log block - 1) when no log height is shared.
 */
describe('logs-only session, fork below the only delivered log but above the subscription start', () => {
  it('the new branch log between the true ancestor and the old log is delivered after the switch', async () => {
    const n = await network();
    const logs = await n.subscribe(['logs', {}]); // since block 90
    await n.mine(4, undefined, 0); // 91..94, no logs
    await n.mine(1); // 95 with one log (shared by a and b)
    expect(logKeys(n.notes(logs))).toEqual(['95:00000000:0']);
    // b leaves the chain above 92: 93' carries a log, 94'..96' none.
    n.nodes.b!.forkAt(3, 1);
    n.nodes.b!.emitLog();
    n.nodes.b!.advance(3);
    n.syncPool();
    n.nodes.a!.cut();
    await n.clock.flush();
    expect(n.session.node).toBe('b');
    // A real node moving to this branch would retract 95 and deliver 93'.
    expect(heldLogs(n.notes(logs))).toEqual(chainLogs(n.nodes.b!));
  });

  it('the reorg event names the real ancestor (92), not one guessed from the log heights', async () => {
    const n = await network();
    const logs = await n.subscribe(['logs', {}]);
    await n.mine(4, undefined, 0);
    await n.mine(1);
    n.nodes.b!.forkAt(3, 1);
    n.nodes.b!.emitLog();
    n.nodes.b!.advance(3);
    n.syncPool();
    n.nodes.a!.cut();
    await n.clock.flush();
    expect(n.notes(logs).length).toBeGreaterThan(1);
    expect(n.reorgs).toHaveLength(1);
    expect(n.reorgs[0].ancestor).toBeLessThanOrEqual(92);
  });

  it('an old subscription whose only retained log is recent: a 3-block fork is not "deep" and loses no new-branch log', async () => {
    const n = await network();
    const logs = await n.subscribe(['logs', {}]);
    await n.mine(1); // 91: a log
    await n.mine(68, undefined, 0); // 92..159: none
    await n.mine(1); // 160: a log (91 falls out of the 64-block window)
    // b forks 3 blocks down (ancestor 157): 158' carries a log.
    n.nodes.b!.forkAt(3, 1);
    n.nodes.b!.emitLog();
    n.nodes.b!.advance(2);
    n.syncPool();
    n.nodes.a!.cut();
    await n.clock.flush();
    expect(n.session.node).toBe('b');
    expect(n.reorgs.map((r) => r.deep)).toEqual([false]);
    expect(heldLogs(n.notes(logs))).toEqual(chainLogs(n.nodes.b!));
  });

  it('a fork below the log it forgot is deep, and the new branch\'s logs come from that log\'s block on, not only over the range it kept (seed 20261318)', async () => {
    const n = await network();
    const logs = await n.subscribe(['logs', {}]);
    await n.mine(1); // 91: a log
    await n.mine(68, undefined, 0); // 92..159: none
    await n.mine(1); // 160: a log (91 falls out of the 64-block window)
    // b left the chain above 90: 99' carries a log, the rest of its branch none.
    n.nodes.b!.forkAt(70, 1);
    n.nodes.b!.advance(8);
    n.nodes.b!.emitLog();
    n.nodes.b!.advance(63);
    n.syncPool();
    n.nodes.a!.cut();
    await n.clock.flush();
    expect(n.session.node).toBe('b');
    expect(n.reorgs.map((r) => r.deep)).toEqual([true]);
    // The log at 91 was forgotten: it stays with the client (a deep fork says so); 160 is retracted,
    // and the new branch's log at 99' is delivered.
    expect(heldLogs(n.notes(logs)).map((key) => Number(key.split(':')[0]))).toEqual([91, 99]);
  });
});
