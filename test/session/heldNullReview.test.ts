import { describe, expect, it } from 'vitest';
import { FakeChain, type FakeNode } from '../../src/testing/index.js';
import { forkWhoseLogsFail } from '../helpers/anvilLike.js';
import { rpc, sessionHarness } from '../helpers/session.js';

// Reads by hash held (since 27b31aa) until the client's subscriptions no longer hold the block
// they look up: cases where no check ever takes the block out of what the subscriptions hold.

describe('a newHeads head left by a fork whose backfill was skipped (longer than maxBackfillBlocks)', () => {
  it('its block read by hash from the new node: null promptly, not BEHIND after waitMs', async () => {
    const h = await sessionHarness({ chain: new FakeChain({ genesis: 90 }) });
    const { a, b } = h.nodes as { a: FakeNode; b: FakeNode };
    const backfills: any[] = [];
    const reorgs: unknown[] = [];
    h.session.on('backfill', (e) => backfills.push(e));
    h.session.on('reorg', (e) => reorgs.push(e));
    h.send(rpc('h', 'eth_subscribe', ['newHeads']));
    await h.settle();
    for (let i = 0; i < 3; i++) {
      a.advance(1);
      b.advance(1);
    }
    await h.settle();
    const heads = h.notifications().map((m) => m.params.result);
    expect(heads.map((x) => Number(x.number))).toEqual([101, 102, 103]);
    b.forkAt(2, 140); // b leaves 102 and 103, and is 138 blocks past them
    a.cut();
    h.mark('a', 'unhealthy');
    await h.settle();
    expect(h.session.node).toBe('b');
    expect(backfills).toEqual([expect.objectContaining({ skipped: true })]);
    expect(reorgs.length).toBe(1);
    const events = reorgs.length;
    h.send(rpc(1, 'eth_getBlockByHash', [heads[2].hash, false]));
    await h.settle();
    await h.clock.advance(500);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: null }]);
    expect(h.session.stats().failedBehind).toBe(0);
    // The fork was announced once (not again at each poll of a held read).
    expect(reorgs.length - events).toBeLessThanOrEqual(1);
  });
});

describe("a read by hash held until the check its null called for retracts the client's log", () => {
  it('asked again once retracted: null, without a second check of the node (nor a second backfill event)', async () => {
    const h = await sessionHarness({ chain: new FakeChain({ genesis: 90 }) });
    const a = h.nodes.a!;
    a.announceRemovedLogs = false;
    const backfills: unknown[] = [];
    h.session.on('backfill', (e) => backfills.push(e));
    h.send(rpc('s', 'eth_subscribe', ['logs', {}]));
    await h.settle();
    for (let i = 0; i < 5; i++) a.advance(1).emitLog();
    await h.settle();
    const held = h.notifications().map((m) => m.params.result);
    a.forkAt(2, 3);
    await h.settle();
    h.send(rpc(1, 'eth_getTransactionReceipt', [held.at(-1).transactionHash]));
    await h.settle();
    expect(h.notifications().slice(held.length).map((m) => m.params.result)).toEqual(held.slice(3).map((log) => ({ ...log, removed: true })));
    expect(a.calls.get('eth_getLogs')).toBe(1);
    expect(backfills.length).toBe(1);
    await h.clock.advance(250);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: null }]);
    expect(a.calls.get('eth_getLogs')).toBe(1);
    expect(backfills.length).toBe(1);
  });
});

describe("a read by hash held while the node's check keeps failing", () => {
  /** A client with `logs` on `a` (blocks 101–103, a log each); `b` forks below 103, and fails eth_getLogs while `failing`. */
  async function onFailingNode() {
    const { h, given, failures: errors, getLogs, heal } = await forkWhoseLogsFail();
    return { h, given, errors, getLogs, heal };
  }

  it("does not check the node at each poll: the failed check's retries keep backing off", async () => {
    const without = await onFailingNode();
    await without.h.clock.advance(5_000);
    const { h, given, errors, getLogs } = await onFailingNode();
    h.send(rpc(1, 'eth_getTransactionReceipt', [given[2].transactionHash]));
    await h.settle();
    await h.clock.advance(5_000);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, error: expect.objectContaining({ code: -32055 }) }]);
    // The read's own first check (three attempts) at most, over the retries made without it.
    expect(errors.length).toBeLessThanOrEqual(without.errors.length + 1);
    expect(getLogs()).toBeLessThanOrEqual(without.getLogs() + 3);
  });

  it('once the node serves its logs again, the next retry retracts the log and the null follows', async () => {
    const { h, given, heal } = await onFailingNode();
    h.send(rpc(1, 'eth_getTransactionReceipt', [given[2].transactionHash]));
    await h.settle();
    expect(h.answers(1)).toEqual([]);
    heal();
    await h.clock.advance(1_000);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: null }]);
    const at = h.received.findIndex((m) => m.id === 1);
    expect(h.received.findIndex((m) => m.params?.result?.removed && m.params.result.transactionHash === given[2].transactionHash)).toBeLessThan(at);
  });
});

describe('a newHeads head left by a reorg its node told only by the new tip (a batch import: a gap in the heads)', () => {
  it("its block read by hash: the check compares that block, the new branch's heads go out, then null", async () => {
    const h = await sessionHarness({ chain: new FakeChain({ genesis: 90 }) });
    const a = h.nodes.a!;
    const reorgs: unknown[] = [];
    h.session.on('reorg', (e) => reorgs.push(e));
    h.send(rpc('s', 'eth_subscribe', ['newHeads']));
    await h.settle();
    a.advance(5);
    await h.settle();
    const heads = h.notifications().map((m) => m.params.result);
    expect(heads.map((x) => Number(x.number))).toEqual([101, 102, 103, 104, 105]);
    a.forkAt(3, 5, { batch: true }); // 103–105 left; 103'–107' told as 107' alone
    await h.settle();
    expect(h.notifications().slice(5).map((m) => Number(m.params.result.number))).toEqual([107]);
    h.send(rpc(1, 'eth_getBlockByHash', [heads[4].hash, false]));
    await h.settle();
    await h.clock.advance(250);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: null }]);
    expect(h.session.stats().failedBehind).toBe(0);
    expect(reorgs).toEqual([expect.objectContaining({ ancestor: 102, deep: false })]);
    // The new branch from the ancestor up, before the null.
    const after = h.received.slice(h.received.indexOf(h.notifications()[5]) + 1);
    const answered = after.findIndex((m) => m.id === 1);
    expect(after.slice(0, answered).map((m) => [Number(m.params.result.number), m.params.result.hash])).toEqual(
      [103, 104, 105, 106, 107].map((n) => [n, a.block(n).hash]),
    );
    // Nothing more is checked once it is answered.
    const calls = a.calls.get('eth_blockNumber');
    await h.clock.advance(2_000);
    expect(a.calls.get('eth_blockNumber')).toBe(calls);
  });
});

describe("a log left by an unannounced reorg whose new branch's first log came above it", () => {
  it('its receipt read by hash: the check compares its block, the log is retracted, then null', async () => {
    const h = await sessionHarness({ chain: new FakeChain({ genesis: 90 }) });
    const a = h.nodes.a!;
    a.announceRemovedLogs = false;
    h.send(rpc('s', 'eth_subscribe', ['logs', {}]));
    await h.settle();
    for (let i = 0; i < 5; i++) a.advance(1).emitLog();
    await h.settle();
    const held = h.notifications().map((m) => m.params.result);
    a.forkAt(3, 4); // 103–105 left, told to no one; 103'–106' carry no log
    a.advance(1).emitLog(); // 107' does: the client gets it live
    await h.settle();
    expect(h.notifications().length).toBe(held.length + 1);
    h.send(rpc(1, 'eth_getTransactionReceipt', [held.at(-1).transactionHash]));
    await h.settle();
    await h.clock.advance(250);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: null }]);
    expect(h.session.stats().failedBehind).toBe(0);
    const retracted = h.notifications().filter((m) => m.params.result.removed).map((m) => Number(m.params.result.blockNumber));
    // Everything above the ancestor, as on any fork a check finds; 107', on the node's chain, then comes again.
    expect(retracted).toEqual([103, 104, 105, 107]);
    expect(h.notifications().at(-1).params.result).toEqual(expect.objectContaining({ blockNumber: '0x6b', blockHash: a.block(107).hash, removed: false }));
    expect(h.received.findIndex((m) => m.id === 1)).toBeGreaterThan(h.received.indexOf(h.notifications().filter((m) => m.params.result.removed).at(-1)));
  });
});

describe('a newHeads head the check cannot compare (a gap in the heads longer than reorgDepth)', () => {
  it('its block read by hash: null once a check since compared every subscription, not BEHIND after waitMs', async () => {
    const h = await sessionHarness({ chain: new FakeChain({ genesis: 90 }) });
    const a = h.nodes.a!;
    h.send(rpc('s', 'eth_subscribe', ['newHeads']));
    await h.settle();
    a.advance(5);
    await h.settle();
    const heads = h.notifications().map((m) => m.params.result);
    a.forkAt(3, 100, { batch: true }); // 103–105 left; 103'–202' told as 202' alone, 97 blocks above 105
    await h.settle();
    h.send(rpc(1, 'eth_getBlockByHash', [heads[4].hash, false]));
    await h.settle();
    await h.clock.advance(500);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: null }]);
    expect(h.session.stats().failedBehind).toBe(0);
    // One check (the one its null called for), not one at each poll.
    expect(a.calls.get('eth_blockNumber')).toBeLessThanOrEqual(2);
  });
});
