import { describe, expect, it } from 'vitest';
import { anvilLikeSession, failMethods, heldLogs, logsOf, mineLogs } from '../../helpers/anvilLike.js';
import { rpc } from '../../helpers/session.js';

async function failedSwitch(names?: Array<[string, 'primary' | 'backup']>) {
  const { h, a, b, failures: errors } = await anvilLikeSession(names ? { names } : {});
  h.send(rpc('h', 'eth_subscribe', ['newHeads']));
  h.send(rpc('l', 'eth_subscribe', ['logs', {}]));
  await h.settle();
  await mineLogs(h, 3);
  b.failReads = true;
  a.cut();
  await h.settle();
  await h.settle();
  expect(h.session.node).toBe('b');
  expect(errors.map((e) => e.node)).toEqual(['b', 'b']);
  return { h, a, b, errors };
}

describe('the retry after a failed check', () => {
  it('is not made again after its node was left (no check, no backfill error, while the session has no node)', async () => {
    const { h, b, errors } = await failedSwitch();
    h.mark('a', 'unhealthy');
    b.cut();
    h.mark('b', 'unhealthy');
    await h.settle();
    const before = errors.length;
    await h.clock.advance(120_000);
    expect(h.session.node).toBeUndefined();
    // Each retry on the dead link was a check that failed at once (ERR_ABORTED), reported to the
    // client, then made again at doubling intervals for as long as the session had no node. The
    // retry already scheduled when the node was lost runs once; its failure (the node was left)
    // schedules none.
    expect(errors.slice(before).filter((e) => e.at > 250)).toEqual([]);
  });
});

describe('the retry after a failed check, on the next node', () => {
  it('comes pollMs after a failed check of a node switched to, not at the interval the node left had reached', async () => {
    const { h, a } = await anvilLikeSession({ names: [['a', 'primary'], ['b', 'backup'], ['c', 'backup']] });
    const nodes = Object.values(h.nodes);
    h.send(rpc('h', 'eth_subscribe', ['newHeads']));
    await h.settle();
    for (let i = 0; i < 3; i++) for (const node of nodes) node.advance(1);
    await h.settle();
    for (const node of nodes) if (node !== a) node.failReads = true;
    a.cut();
    h.mark('a', 'unhealthy');
    await h.settle();
    const first = h.nodes[h.session.node!]!;
    expect(first).not.toBe(a);
    // Its check fails, and again at 250, 750, 1750 ms: the next retry would be 2 s after the last.
    await h.clock.advance(2_000);
    first.cut();
    h.mark(first.name, 'unhealthy');
    await h.settle();
    const next = h.nodes[h.session.node!]!;
    expect(next).not.toBe(first);
    expect(next).not.toBe(a);
    const reads = () => next.calls.get('eth_blockNumber') ?? 0;
    const afterSwitch = reads();
    expect(afterSwitch).toBeGreaterThan(0); // the switch's check (it failed)
    // As after the first failed check of a node: again pollMs (250 ms) later.
    await h.clock.advance(300);
    expect(reads()).toBeGreaterThan(afterSwitch);
  });
});

describe('a fork found by a check whose backfill fails', () => {
  it('is announced once, when what left is retracted, not at each failed retry', async () => {
    const { h, a, b, reorgs, failures: errors } = await anvilLikeSession();
    h.send(rpc('l', 'eth_subscribe', ['logs', {}]));
    await h.settle();
    await mineLogs(h, 3);
    const logs = () => logsOf(h, 'l');
    expect(logs().map((log) => Number(log.blockNumber))).toEqual([101, 102, 103]);
    b.forkAt(1, 2); // b leaves 103: its branch is 103', 104'
    // b reads blocks, but its eth_getLogs fails: the check finds the fork, its backfill fails.
    let failing = true;
    failMethods(b, ['eth_getLogs'], () => failing);
    a.cut();
    await h.settle();
    await h.clock.advance(10_000);
    expect(errors.length).toBeGreaterThan(1); // it failed, and its retries too
    expect(logs().filter((log) => log.removed)).toEqual([]); // nothing retracted yet
    failing = false;
    await h.clock.advance(30_000);
    expect(logs().filter((log) => log.removed).map((log) => Number(log.blockNumber))).toEqual([103]);
    expect(reorgs).toEqual([expect.objectContaining({ ancestor: 102, from: 'a', to: 'b' })]);
  });
});

describe('what was delivered before a failed check, when another subscription was given a higher block', () => {
  it('is compared by the check made again, and retracted when the node does not have it', async () => {
    const X = '0x' + '11'.repeat(20);
    const Y = '0x' + '22'.repeat(20);
    const { h, a, b } = await anvilLikeSession();
    h.send(rpc('x', 'eth_subscribe', ['logs', { address: X }]));
    h.send(rpc('y', 'eth_subscribe', ['logs', { address: Y }]));
    await h.settle();
    a.advance(2);
    b.advance(2); // both at 102, one chain
    a.advance(1).emitLog(X); // 103 (a's branch): x's log
    a.advance(3).emitLog(Y); // 106 (a's branch): y's log
    await h.settle();
    const logs = (id: string) => logsOf(h, id);
    expect(logs('x').map((log) => Number(log.blockNumber))).toEqual([103]);
    expect(logs('y').map((log) => Number(log.blockNumber))).toEqual([106]);
    b.forkAt(0, 0); // b goes on a branch of its own from 102
    b.failReads = true;
    a.cut();
    h.mark('a', 'unhealthy');
    await h.settle();
    expect(h.session.node).toBe('b');
    // b's own blocks: x is given b's log at 105, unchecked (b's reads still fail).
    b.advance(3).emitLog(X);
    b.advance(2); // 107
    await h.settle();
    expect(logs('x').map((log) => [Number(log.blockNumber), log.blockHash === b.block(Number(log.blockNumber)).hash])).toEqual([
      [103, false],
      [105, true],
    ]);
    b.failReads = false;
    await h.clock.advance(60_000);
    // What x holds once it has applied every retraction: only what is on b's chain.
    expect(heldLogs(logs('x')).map((log) => [Number(log.blockNumber), log.blockHash === b.block(Number(log.blockNumber)).hash])).toEqual([[105, true]]);
  });
});

describe('what was delivered before a failed check, whose newest block the new node replaced since', () => {
  it('is still compared below it: the logs of the branch left are retracted', async () => {
    const { h, a, b } = await anvilLikeSession();
    h.send(rpc('l', 'eth_subscribe', ['logs', {}]));
    await h.settle();
    a.advance(2);
    b.advance(2); // both at 102, one chain
    a.advance(1).emitLog(); // 103 (a's branch)
    a.advance(1).emitLog(); // 104 (a's branch)
    await h.settle();
    const logs = () => logsOf(h, 'l');
    expect(logs().map((log) => Number(log.blockNumber))).toEqual([103, 104]);
    b.failReads = true;
    a.cut();
    h.mark('a', 'unhealthy');
    await h.settle();
    expect(h.session.node).toBe('b');
    // b's own branch from 102: its log at 104 takes the place of a's there (unchecked: b's reads fail).
    b.forkAt(0, 2).emitLog();
    await h.settle();
    b.failReads = false;
    await h.clock.advance(60_000);
    // a's log at 103 is off b's chain.
    expect(heldLogs(logs()).map((log) => [Number(log.blockNumber), log.blockHash === b.block(Number(log.blockNumber)).hash])).toEqual([[104, true]]);
  });
});
