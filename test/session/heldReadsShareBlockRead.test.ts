import { describe, expect, it } from 'vitest';
import { failMethods } from '../helpers/anvilLike.js';
import { rpc, sessionHarness } from '../helpers/session.js';

// Found in review: an indexer reads the receipt of every log of a block at once. From a node whose
// read backend lags, each `null` made the session read the node's block at that height to tell a
// lag from a reorg, once per read and again at each poll: N receipts of one block cost N block
// reads every poll (on top of the N reads asked again), against a node that is already behind and
// may be rate limited. Reads that wait on the same block of the same node share one block read.

describe('receipts of many logs of one block, from a node whose reads lag', () => {
  it('share one eth_getBlockByNumber of that block per poll, and are all answered once it has caught up', async () => {
    const h = await sessionHarness();
    h.send(rpc('s', 'eth_subscribe', ['logs', {}]));
    await h.settle();
    const a = h.nodes.a!;
    a.advance(5);
    for (let i = 0; i < 20; i++) a.emitLog();
    await h.settle();
    const logs = h.notifications().map((n) => n.params.result);
    expect(logs.length).toBe(20);
    a.readLagBlocks = 1;
    const blockReads = failMethods(a, [], () => false, 'eth_getBlockByNumber');
    logs.forEach((log, i) => h.send(rpc(i, 'eth_getTransactionReceipt', [log.transactionHash])));
    await h.settle();
    await h.clock.advance(1_000); // four polls
    expect(logs.map((_, i) => h.answers(i))).toEqual(logs.map(() => []));
    // One at first, one for each poll at most (20 and 20 more each poll before).
    expect(blockReads()).toBeLessThanOrEqual(5);
    a.readLagBlocks = 0;
    await h.clock.advance(250);
    expect(logs.map((_, i) => h.answers(i)[0]?.result?.transactionHash)).toEqual(logs.map((log) => log.transactionHash));
    expect(h.session.stats()).toMatchObject({ heldBehind: 20, failedBehind: 0 });
  });
});
