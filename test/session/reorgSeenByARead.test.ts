import { describe, expect, it } from 'vitest';
import { FakeChain, type FakeNode } from '../../src/testing/index.js';
import { rpc, sessionHarness } from '../helpers/session.js';

// A node that reorgs without telling `logs` subscribers of the left blocks (anvil never sends
// `removed: true`), under a client with a `logs` subscription only: the session has no head to see
// the reorg by. The client then reads its newest log's receipt: the node answers null, and the
// session, asking the node for its block at the log's height, finds another block there. That
// `null` is true of the node's chain, and it is also the first word that the logs the client holds
// left it: the session checks the node's chain against them as it does when a head does not link,
// so the client gets the retractions (and a `reorg` event) rather than keeping the logs for good.

async function logsOnlyOnAnvilLikeNode() {
  const h = await sessionHarness({ chain: new FakeChain({ genesis: 90 }) });
  const a = h.nodes.a!;
  a.announceRemovedLogs = false;
  const reorgs: unknown[] = [];
  h.session.on('reorg', (event) => reorgs.push(event));
  h.send(rpc('s', 'eth_subscribe', ['logs', {}]));
  await h.settle();
  for (let i = 0; i < 5; i++) a.advance(1).emitLog();
  await h.settle();
  const logs = () => h.notifications().map((m) => m.params.result);
  expect(logs().map((log) => [Number(log.blockNumber), log.removed])).toEqual([101, 102, 103, 104, 105].map((n) => [n, false]));
  return { h, a, reorgs, logs };
}

describe("a read by hash whose null shows the node left the client's logs", () => {
  it('the null is answered, and the logs that left the chain are retracted, with a reorg event', async () => {
    const { h, a, reorgs, logs } = await logsOnlyOnAnvilLikeNode();
    const held = logs();
    a.forkAt(2, 3); // 104 and 105 leave a's chain, told to no one; its new blocks carry no log
    await h.settle();
    expect(logs()).toEqual(held);
    h.send(rpc(1, 'eth_getTransactionReceipt', [held.at(-1).transactionHash]));
    await h.settle();
    expect(logs().slice(held.length)).toEqual(held.slice(3).map((log) => ({ ...log, removed: true })));
    expect(reorgs).toEqual([expect.objectContaining({ ancestor: 103, deep: false, from: 'a', to: 'a' })]);
    // The null comes after the retractions: asked again at the next poll, once the client no longer holds the log.
    expect(h.answers(1)).toEqual([]);
    await h.clock.advance(250);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: null }]);
    expect(h.received.findIndex((m) => m.id === 1)).toBeGreaterThan(h.received.lastIndexOf(h.notifications().at(-1)));
    // What stayed on the chain is still held: its receipt is there.
    h.send(rpc(2, 'eth_getTransactionReceipt', [held[2].transactionHash]));
    await h.settle();
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: expect.objectContaining({ transactionHash: held[2].transactionHash }) }]);
  });

  it('a null for a log the chain kept, from a node whose read backend lags, retracts nothing', async () => {
    const { h, a, reorgs, logs } = await logsOnlyOnAnvilLikeNode();
    const held = logs();
    a.advance(1);
    a.readLagBlocks = 2;
    await h.settle();
    h.send(rpc(1, 'eth_getTransactionReceipt', [held.at(-1).transactionHash]));
    await h.settle();
    expect(h.answers(1)).toEqual([]);
    a.readLagBlocks = 0;
    await h.clock.advance(250);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: expect.objectContaining({ transactionHash: held.at(-1).transactionHash }) }]);
    expect(logs()).toEqual(held);
    expect(reorgs).toEqual([]);
  });
});

describe('reads that find the same block gone', () => {
  it("an indexer's receipts of every log of that block: one check of the node's chain, not one each", async () => {
    const h = await sessionHarness({ chain: new FakeChain({ genesis: 90 }) });
    const a = h.nodes.a!;
    a.announceRemovedLogs = false;
    h.send(rpc('s', 'eth_subscribe', ['logs', {}]));
    await h.settle();
    a.advance(1);
    for (let i = 0; i < 4; i++) a.emitLog();
    a.advance(1).emitLog();
    await h.settle();
    const held = h.notifications().map((m) => m.params.result);
    expect(held.map((log) => Number(log.blockNumber))).toEqual([101, 101, 101, 101, 102]);
    a.forkAt(2, 3);
    await h.settle();
    const heads = () => a.calls.get('eth_blockNumber') ?? 0;
    const before = heads();
    held.slice(0, 4).forEach((log, i) => h.send(rpc(i + 1, 'eth_getTransactionReceipt', [log.transactionHash])));
    await h.settle();
    expect(heads() - before).toBe(1);
    expect(h.notifications().slice(held.length).map((m) => m.params.result)).toEqual(held.map((log) => ({ ...log, removed: true })));
    await h.clock.advance(250); // each asked again, once retracted
    expect([1, 2, 3, 4].map((id) => h.answers(id))).toEqual([1, 2, 3, 4].map((id) => [{ jsonrpc: '2.0', id, result: null }]));
  });
});

describe('the same block gone again after it came back', () => {
  it('is checked again: its logs are retracted each time', async () => {
    const h = await sessionHarness({ chain: new FakeChain({ genesis: 90 }) });
    const { a, b } = h.nodes as { a: FakeNode; b: FakeNode };
    a.announceRemovedLogs = false;
    h.send(rpc('s', 'eth_subscribe', ['logs', {}]));
    await h.settle();
    for (let i = 0; i < 3; i++) {
      a.advance(1).emitLog();
      b.advance(1);
    }
    await h.settle();
    const held = h.notifications().map((m) => m.params.result);
    const newest = held.at(-1);
    const retractions = () => h.notifications().filter((m) => m.params.result.removed && m.params.result.transactionHash === newest.transactionHash).length;
    for (const round of [1, 2]) {
      a.forkAt(1, 2);
      await h.settle();
      h.send(rpc(`r${round}`, 'eth_getTransactionReceipt', [newest.transactionHash]));
      await h.settle();
      await h.clock.advance(250);
      expect(h.answers(`r${round}`)).toEqual([{ jsonrpc: '2.0', id: `r${round}`, result: null }]);
      expect(retractions()).toBe(round);
      a.follow(b); // back on b's branch: its logs again, as a node's reorg back sends them
      await h.settle();
      expect(h.notifications().at(-1).params.result).toEqual(newest);
    }
  });
});
