import { describe, expect, it } from 'vitest';
import { chainLogs, heldLogs, logKeys, network } from './network.js';

/**
 * geth writes a block's logs to the logs feed before its head goes to newHeads
 * (writeBlockAndSetHead: logsFeed.Send, then chainHeadFeed.Send); the two subscriptions'
 * notifications reach the client in either order. The FakeNode always sends the head first.
 * Here the node reorgs one block (100 → 100') and sends, in geth's order: the removed log of the
 * old 100 (unless anvil-like), the new 100' log, then head 100'.
 */
describe('a node\'s own reorg with the new block\'s logs before its head', () => {
  it.each([true, false])('removed logs announced: %s — the new branch log stays with the client', async (announce) => {
    const n = await network({ announceRemovedLogs: announce });
    await n.subscribe(['newHeads']);
    const logs = await n.subscribe(['logs', {}]);
    await n.mine(10); // 91..100, a log each
    const a = n.nodes.a!;
    const old = a.logs.at(-1)!;
    a.setMode('stall'); // the node's own notifications are written by hand below, in geth's order
    a.forkAt(1, 1); // 100'
    a.emitLog(); // 100' carries a log
    a.setMode('ok');
    const fresh = a.logs.at(-1)!;
    if (announce) a.notify('logs', { ...old, removed: true });
    a.notify('logs', { ...fresh });
    a.notify('newHeads', a.block(100));
    await n.clock.flush();
    const seen = logKeys(n.notes(logs)).slice(10);
    expect(seen).toEqual(['100:00000000:0:removed', '100:00000001:0']);
    expect(heldLogs(n.notes(logs))).toEqual(chainLogs(a));
  });
});
