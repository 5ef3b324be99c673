/**
 * Invariants 10 and 11 on real nodes, through an UpstreamSession: two anvil nodes of one network
 * (SharedChain: byte-identical history), `a` preferred, `b` the backup, a fast HealthChecker. The
 * nodes then fork or lag near the tip, and `a` is cut (FaultProxy): what the client is given must
 * read as ONE node's view of the chain — a switch onto another branch announced as that node's
 * reorg (heads re-emitted from the common ancestor, delivered logs retracted with `removed: true`,
 * then the new branch's logs), and a node behind the client's view never answering with an older
 * block number or a `null` for what the client already has.
 *
 * Real time, every wait bounded. Key figures are printed (console.log) for quoting.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../src/index.js';
import { DEV_ACCOUNT } from './helpers/anvil.js';
import {
  blockOf,
  firstStepBack,
  headViolations,
  isForkLog,
  logKey,
  logsOf,
  logViolations,
  num,
  poolSees,
  rpc,
  sleep,
  startRig,
  until,
  watchBlockNumber,
  type Rig,
} from './helpers/consistency.js';

let rig: Rig | undefined;

afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

/** Starts the rig and a session on `a` with a `newHeads` and a logger `logs` subscription. */
async function sessionOnA(options: Parameters<Rig['session']>[0] = {}) {
  rig = await startRig();
  const { chain, pool } = rig;
  await poolSees(pool, { a: 1, b: 1 });
  await until('pool prefers a', () => pool.preferred() === 'a');
  const opened = rig.session(options);
  const heads = await opened.client.subscribe(['newHeads']);
  const logs = await opened.client.subscribe(['logs', { address: chain.logger }]);
  expect(opened.session.node).toBe('a');
  return { ...opened, chain, pool, heads, logs };
}

describe('consistency through an UpstreamSession on real nodes', { timeout: 30_000 }, () => {
  it.each([
    { k: 1, blocks: 1 },
    { k: 2, blocks: 2 },
    { k: 3, blocks: 3 },
    { k: 2, blocks: 4 }, // onto a longer fork
  ])('a switch onto a fork of depth $k ($blocks blocks) is announced as a reorg: heads re-emitted from the ancestor, logs retracted, then the new branch', async ({ k, blocks }) => {
    const { session, client, events, chain, heads, logs } = await sessionOnA();
    for (let i = 0; i < 6; i++) await chain.mine({ logs: 2 }); // blocks 2..7 on both
    const top = 7;
    const ancestor = top - k;
    const bTop = ancestor + blocks;
    await until('heads 2..7 and their 12 logs delivered', () => client.heads(heads).length === 6 && client.logs(logs).length === 12);

    await chain.fork('b', k, { blocks, logs: 2 }); // b: its own blocks ancestor+1..bTop
    const orphaned = await logsOf(chain, 'a', ancestor + 1, top);
    const branch = await logsOf(chain, 'b', ancestor + 1, bTop);
    expect(orphaned).toHaveLength(2 * k);
    expect(branch).toHaveLength(2 * blocks);
    const bHeads = await Promise.all(Array.from({ length: blocks }, (_, i) => blockOf(chain, 'b', ancestor + 1 + i)));

    const cutAt = Date.now();
    await chain.nodes.a!.proxy.cut();
    await until("b's branch logs delivered", () => client.logs(logs).filter(isForkLog).length === 2 * blocks);
    await until("b's head delivered", () => client.heads(heads).some((h) => h.hash === bHeads[blocks - 1]!.hash));
    const reorgMs = events.reorgs[0]!.at - cutAt;
    const retractedMs = client.notifications(logs).find((n) => n.result.removed === true)!.at - cutAt;

    // Later blocks keep flowing on b's branch.
    await chain.fork('b', 0, { blocks: 1, logs: 1 }); // bTop + 1 on top of b's branch
    const next = await blockOf(chain, 'b', bTop + 1);
    await until('the next block and its log delivered', () => client.heads(heads).some((h) => h.hash === next.hash) && client.logs(logs).some((l) => l.blockHash === next.hash));
    await sleep(200); // nothing more arrives

    expect(session.node).toBe('b');
    expect(events.reorgs).toEqual([expect.objectContaining({ ancestor, depth: k, deep: false, from: 'a', to: 'b' })]);

    // newHeads: a's 2..7, then b's branch from ancestor + 1, linked to the last common head, then the next.
    const got = client.heads(heads);
    expect(got.map((h) => num(h.number))).toEqual([2, 3, 4, 5, 6, 7, ...Array.from({ length: blocks + 1 }, (_, i) => ancestor + 1 + i)]);
    expect(got.slice(0, 6).map((h) => h.hash)).toEqual([2, 3, 4, 5, 6, 7].map((n) => chain.canonical(n).hash));
    const firstFromB = got[6]!;
    expect(firstFromB.hash).toBe(bHeads[0]!.hash);
    expect(firstFromB.parentHash).toBe(chain.canonical(ancestor).hash);
    expect(got.slice(6).map((h) => h.hash)).toEqual([...bHeads.map((h) => h.hash), next.hash]);
    expect(new Set(got.map((h) => h.hash)).size).toBe(got.length); // no duplicate head
    expect(headViolations(got)).toEqual([]);

    // logs: a's 12, then each of a's orphaned logs once with removed: true (same blockHash/logIndex,
    // in delivery order), then b's branch logs, then the next block's log.
    const delivered = client.logs(logs);
    expect(logViolations(delivered)).toEqual([]);
    expect(delivered.slice(0, 12).every((l) => l.removed === false && !isForkLog(l))).toBe(true);
    const retractions = delivered.slice(12, 12 + 2 * k);
    expect(retractions.every((l) => l.removed === true)).toBe(true);
    expect(retractions.map(logKey)).toEqual(orphaned.map(logKey));
    expect(retractions.map((l) => l.data)).toEqual(orphaned.map((l) => l.data));
    expect(retractions.map((l) => l.transactionHash)).toEqual(orphaned.map((l) => l.transactionHash));
    const fresh = delivered.slice(12 + 2 * k);
    expect(fresh.map(logKey)).toEqual([...branch.map(logKey), `${next.hash}:0`]);
    expect(fresh.every((l) => l.removed === false)).toBe(true);
    expect(delivered.filter((l) => l.removed === true)).toHaveLength(2 * k); // each retracted exactly once

    expect(session.stats()).toMatchObject({ reorgs: 1, deepReorgs: 0, retracted: 2 * k, highestBlock: bTop + 1 });
    console.log(`fork depth ${k} (${blocks} blocks) at the switch a -> b: reorg event ${reorgMs} ms after the cut, first retraction ${retractedMs} ms after it; ${2 * k} logs retracted, ${blocks} heads from ${ancestor + 1}`);
  });

  it('a fork deeper than the kept history (reorgDepth 2, fork depth 3) is reported as deep: kept logs retracted, heads go on from the new node', async () => {
    const { session, client, events, chain, heads, logs } = await sessionOnA({ continuity: { reorgDepth: 2 } });
    for (let i = 0; i < 6; i++) await chain.mine({ logs: 1 }); // 2..7
    await until('heads up to 7', () => client.heads(heads).length === 6 && client.logs(logs).length === 6);
    await chain.fork('b', 3, { blocks: 3, logs: 1 }); // b: 5', 6', 7' on top of 4
    const kept = await logsOf(chain, 'a', 6, 7); // what reorgDepth 2 keeps
    const branch = await logsOf(chain, 'b', 6, 7);
    const cutAt = Date.now();
    await chain.nodes.a!.proxy.cut();
    await until('the reorg event', () => events.reorgs.length === 1);
    await until("b's branch logs at 6 and 7", () => branch.every((b) => client.logs(logs).some((l) => logKey(l) === logKey(b))));
    // The stream goes on from b: its next head names b's 7' as parent, not the 7 the client has.
    await chain.fork('b', 0, { blocks: 1, logs: 1 }); // 8 on b's branch
    const eight = await blockOf(chain, 'b', 8);
    await until('head 8 delivered', () => client.heads(heads).some((h) => h.hash === eight.hash) && client.logs(logs).some((l) => l.blockHash === eight.hash));
    await sleep(200);

    expect(events.reorgs[0]).toMatchObject({ deep: true, from: 'a', to: 'b' });
    expect(session.stats()).toMatchObject({ reorgs: 1, deepReorgs: 1 });
    const got = client.heads(heads);
    expect(got.map((h) => num(h.number))).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(got[6]!.parentHash).toBe((await blockOf(chain, 'b', 7)).hash);
    expect(got[6]!.parentHash).not.toBe(got[5]!.hash); // the sign to resynchronise
    const delivered = client.logs(logs);
    const retracted = delivered.filter((l) => l.removed === true);
    expect(retracted.map(logKey)).toEqual(kept.map(logKey)); // each kept log once, in delivery order
    const firstRetraction = delivered.findIndex((l) => l.removed === true);
    const after = delivered.slice(firstRetraction + retracted.length);
    expect(after.every((l) => l.removed === false)).toBe(true);
    expect(after.map(logKey)).toEqual(expect.arrayContaining([...branch.map(logKey), `${eight.hash}:0`]));
    console.log(
      `deep fork (depth 3, reorgDepth 2): reorg event ${JSON.stringify({ ancestor: events.reorgs[0]!.ancestor, depth: events.reorgs[0]!.depth, deep: true })} ${events.reorgs[0]!.at - cutAt} ms after the cut; ` +
        `client heads ${got.map((h) => num(h.number)).join(',')}; logs ${delivered.map((l) => `${num(l.blockNumber)}${l.removed ? 'R' : isForkLog(l) ? "'" : ''}`).join(',')}`,
    );
  });

  it("the node in use reorgs under a logs-only client (anvil sends no removed logs): the client's receipt read finds the block gone, and the logs that left are retracted", async () => {
    rig = await startRig();
    const { chain, pool } = rig;
    await poolSees(pool, { a: 1, b: 1 });
    await until('pool prefers a', () => pool.preferred() === 'a');
    const { session, client, events } = rig.session();
    const logs = await client.subscribe(['logs', { address: chain.logger }]);
    for (let i = 0; i < 4; i++) await chain.mine({ logs: 2 }); // blocks 2..5 on both
    await until('the 8 logs of 2..5 delivered', () => client.logs(logs).length === 8);
    const held = client.logs(logs);
    // a leaves 4 and 5 for blocks of its own, with no log: anvil tells the logs subscription nothing.
    await chain.fork('a', 2, { blocks: 3, logs: 0 });
    await sleep(300);
    expect(client.logs(logs)).toHaveLength(8);
    const newest = held.at(-1)!;
    const { frame } = await client.call('eth_getTransactionReceipt', [newest.transactionHash]);
    expect(frame).toMatchObject({ result: null });
    // The client has heard that the logs left before it gets the null (as from one node).
    expect(client.logs(logs).filter((l) => l.removed === true)).toHaveLength(4);
    await sleep(300);
    const retracted = client.logs(logs).slice(8);
    expect(retracted.map(logKey)).toEqual(held.slice(4).map(logKey));
    expect(retracted.every((l) => l.removed === true)).toBe(true);
    expect(session.node).toBe('a');
    expect(events.reorgs).toEqual([expect.objectContaining({ ancestor: 3, deep: false, from: 'a', to: 'a' })]);
    // What stayed on a's chain is still there.
    expect((await client.call('eth_getTransactionReceipt', [held[3]!.transactionHash])).frame.result).toMatchObject({ transactionHash: held[3]!.transactionHash });
    console.log(`a's own reorg of depth 2, told to no logs subscriber: ${retracted.length} logs retracted, then the receipt read answered null; reorg ${JSON.stringify(events.reorgs.map(({ ancestor, depth, from, to }) => ({ ancestor, depth, from, to })))}`);
  });

  it('failback onto a node that came back on another branch is announced as a reorg too', async () => {
    const { session, client, events, chain, pool, heads, logs } = await sessionOnA();
    for (let i = 0; i < 4; i++) await chain.mine({ logs: 2 }); // 2..5
    await until('heads up to 5', () => client.heads(heads).length === 4);

    await chain.nodes.a!.proxy.cut();
    await until('session on b, pool on b', () => session.node === 'b' && pool.preferred() === 'b');
    await chain.mine({ logs: 2 }); // 6 on both nodes (a's anvil is fine, only its proxy is cut)
    await chain.mine({ logs: 2 }); // 7
    const seven = chain.canonical(7);
    await until('6 and 7 delivered from b', () => client.heads(heads).some((h) => h.hash === seven.hash) && client.logs(logs).length === 12);

    // a, unreachable, ends up on its own branch: 6', 7', 8' on top of 5.
    await chain.fork('a', 2, { blocks: 3, logs: 2 });
    const orphaned = await logsOf(chain, 'b', 6, 7);
    const branch = await logsOf(chain, 'a', 6, 8);
    const aHeads = await Promise.all([6, 7, 8].map((n) => blockOf(chain, 'a', n)));

    const restoredAt = Date.now();
    await chain.nodes.a!.proxy.restore();
    await until('failback to a', () => events.switches.some((s) => s.to === 'a' && s.reason === 'failback'), 10_000);
    await until("a's branch logs delivered", () => client.logs(logs).filter(isForkLog).length === 6);
    await until("a's head 8 delivered", () => client.heads(heads).some((h) => h.hash === aHeads[2]!.hash));
    const failback = events.switches.find((s) => s.to === 'a' && s.from === 'b')!;
    expect(failback.reason).toBe('failback');
    await chain.fork('a', 0, { blocks: 1, logs: 1 }); // 9 on a's branch
    const nine = await blockOf(chain, 'a', 9);
    await until('block 9 delivered', () => client.heads(heads).some((h) => h.hash === nine.hash) && client.logs(logs).some((l) => l.blockHash === nine.hash));
    await sleep(200);

    expect(session.node).toBe('a');
    expect(events.reorgs).toEqual([expect.objectContaining({ ancestor: 5, depth: 2, deep: false, from: 'b', to: 'a' })]);
    const got = client.heads(heads);
    expect(got.map((h) => num(h.number))).toEqual([2, 3, 4, 5, 6, 7, 6, 7, 8, 9]);
    expect(got[6]!.parentHash).toBe(chain.canonical(5).hash);
    expect(got.slice(6).map((h) => h.hash)).toEqual([...aHeads.map((h) => h.hash), nine.hash]);
    expect(headViolations(got)).toEqual([]);

    const delivered = client.logs(logs);
    expect(logViolations(delivered)).toEqual([]);
    expect(delivered.slice(12, 16).map((l) => [logKey(l), l.removed])).toEqual(orphaned.map((l) => [logKey(l), true]));
    expect(delivered.slice(16).map(logKey)).toEqual([...branch.map(logKey), `${nine.hash}:0`]);
    expect(session.stats()).toMatchObject({ reorgs: 1, retracted: 4 });
    console.log(`failback b -> a onto a's fork: switch ${failback.at - restoredAt} ms after a's proxy was restored, reorg event ${events.reorgs[0]!.at - failback.at} ms after the switch, first retraction ${client.notifications(logs).find((n) => n.result.removed === true)!.at - restoredAt} ms after the restore; 4 logs retracted`);
  });

  it('a lagging backup (3 blocks behind, within maxLagBlocks): reads of what the client has seen wait for it to catch up, never answer older or null', async () => {
    const { session, client, events, chain, pool, heads, logs } = await sessionOnA();
    for (let i = 0; i < 4; i++) await chain.mine({ logs: 1 }); // 2..5 on both
    chain.lag('b');
    for (let i = 0; i < 3; i++) await chain.mine({ logs: 2 }); // 6..8 on a only
    await poolSees(pool, { a: 8, b: 5 });
    await until('b healthy with lag 3', () => pool.health('b').status === 'healthy' && pool.health('b').lag === 3);
    await until('head 8 delivered', () => client.heads(heads).some((h) => num(h.number) === 8));

    expect(await client.result('eth_blockNumber')).toBe('0x8');
    const block8 = await client.result<{ hash: string; transactions: string[] }>('eth_getBlockByNumber', ['0x8', false]);
    const tx = block8.transactions[1]!;
    const wantLogs = await logsOf(chain, 'a', 2, 8);
    const wantBalance = await rpc<string>(chain.nodes.a!.anvil.httpUrl, 'eth_getBalance', [DEV_ACCOUNT, '0x8']);
    const watcher = watchBlockNumber(() => client.call('eth_blockNumber').then((r) => r.frame));
    await sleep(100);

    const cutAt = Date.now();
    await chain.nodes.a!.proxy.cut();
    const reads = Promise.all([
      client.call('eth_blockNumber'),
      client.call('eth_getBlockByNumber', ['0x8', false]),
      client.call('eth_getBlockByNumber', ['latest', false]),
      client.call('eth_getBlockByHash', [block8.hash, false]),
      client.call('eth_getTransactionReceipt', [tx]),
      client.call('eth_getTransactionByHash', [tx]),
      client.call('eth_getLogs', [{ address: chain.logger, fromBlock: '0x2', toBlock: '0x8' }]),
      client.call('eth_getLogs', [{ address: chain.logger, fromBlock: '0x2', toBlock: 'latest' }]),
      client.call('eth_getBalance', [DEV_ACCOUNT, 'latest']),
    ]);
    await until('session on b', () => session.node === 'b');
    // A read of what b has is answered at once, by b.
    const early = await client.call('eth_getBlockByNumber', ['0x4', false]);
    expect(early.frame.result.hash).toBe(chain.canonical(4).hash);
    expect(early.ms).toBeLessThan(1_000);
    await sleep(1_200);
    const caughtUpAt = Date.now();
    await chain.catchUp('b');
    const [blockNumber, byNumber, latest, byHash, receipt, txByHash, logsTo8, logsToLatest, balance] = await reads;
    const answeredAt = Date.now();

    for (const r of [blockNumber, byNumber, latest, byHash, receipt, txByHash, logsTo8, logsToLatest, balance]) expect(r.frame.error).toBeUndefined();
    expect(num(blockNumber.frame.result)).toBeGreaterThanOrEqual(8);
    expect(byNumber.frame.result?.hash).toBe(block8.hash);
    expect(num(latest.frame.result?.number)).toBeGreaterThanOrEqual(8);
    expect(byHash.frame.result?.hash).toBe(block8.hash);
    expect(receipt.frame.result).toMatchObject({ transactionHash: tx, blockHash: block8.hash, blockNumber: '0x8' });
    expect(txByHash.frame.result).toMatchObject({ hash: tx, blockHash: block8.hash });
    expect(logsTo8.frame.result).toEqual(wantLogs);
    expect(logsToLatest.frame.result).toEqual(wantLogs);
    expect(balance.frame.result).toBe(wantBalance);
    // They waited for b to catch up (not answered from b's older chain).
    const waited = Math.min(blockNumber.ms, byNumber.ms, byHash.ms, receipt.ms, logsTo8.ms);
    expect(waited).toBeGreaterThanOrEqual(caughtUpAt - cutAt - 50);
    expect(events.behind.filter((e) => e.outcome === 'held').length).toBeGreaterThanOrEqual(9);
    expect(events.behind.every((e) => e.node === 'b' && e.outcome === 'held')).toBe(true);
    expect(events.reorgs).toEqual([]);

    const nine = await chain.mine({ logs: 1 });
    await until('head 9 delivered', () => client.heads(heads).some((h) => h.hash === nine.hash));
    await watcher.stop();
    const got = client.heads(heads);
    expect(got.map((h) => num(h.number))).toEqual([2, 3, 4, 5, 6, 7, 8, 9]); // b's catch-up heads were duplicates
    expect(headViolations(got)).toEqual([]);
    expect(logViolations(client.logs(logs))).toEqual([]);
    expect(client.logs(logs)).toHaveLength(4 + 6 + 1);
    const numbers = watcher.answers.map((a) => a.value);
    expect(watcher.answers.filter((a) => a.error !== undefined)).toEqual([]);
    expect(numbers.every((n) => n !== undefined && n >= 8)).toBe(true);
    expect(firstStepBack(numbers as number[])).toBeUndefined();
    expect(session.stats().failedBehind).toBe(0);
    console.log(
      `lagging backup: 9 reads sent at the cut were held ${waited}-${Math.max(blockNumber.ms, logsToLatest.ms, balance.ms)} ms ` +
        `(b caught up ${caughtUpAt - cutAt} ms after the cut, last answer ${answeredAt - caughtUpAt} ms after that); ${watcher.answers.length} eth_blockNumber polls, never below 8`,
    );
  });

  it('a backup that never catches up: the reads get BEHIND (-32055) after waitMs, reads of what it has are answered at once', async () => {
    const { session, client, events, chain, pool, heads } = await sessionOnA({ consistency: { waitMs: 1_500, pollMs: 250 } });
    for (let i = 0; i < 4; i++) await chain.mine({ logs: 1 }); // 2..5
    chain.lag('b');
    for (let i = 0; i < 3; i++) await chain.mine({ logs: 1 }); // 6..8 on a only
    await poolSees(pool, { a: 8, b: 5 });
    await until('head 8 delivered', () => client.heads(heads).some((h) => num(h.number) === 8));
    const block8 = await client.result<{ hash: string; transactions: string[] }>('eth_getBlockByNumber', ['0x8', false]);
    const tx = block8.transactions[0]!;

    await chain.nodes.a!.proxy.cut();
    const reads = await Promise.all([
      client.call('eth_blockNumber'),
      client.call('eth_getBlockByNumber', ['0x8', false]),
      client.call('eth_getBlockByHash', [block8.hash, false]),
      client.call('eth_getTransactionReceipt', [tx]),
      client.call('eth_getLogs', [{ address: chain.logger, fromBlock: '0x2', toBlock: '0x8' }]),
      client.call('eth_getBalance', [DEV_ACCOUNT, 'latest']),
      client.call('eth_getBlockByNumber', ['0x4', false]),
    ]);
    const behind = reads.slice(0, 6);
    const served = reads[6]!;
    for (const r of behind) expect(r.frame).toMatchObject({ error: { code: RpcErrorCode.BEHIND } });
    for (const r of behind) expect(r.ms).toBeGreaterThanOrEqual(1_400);
    for (const r of behind) expect(r.ms).toBeLessThan(4_000);
    expect(served.frame.result?.hash).toBe(chain.canonical(4).hash);
    expect(served.ms).toBeLessThan(1_000);
    expect(session.node).toBe('b');
    expect(events.behind.filter((e) => e.outcome === 'failed')).toHaveLength(6);
    expect(session.stats().failedBehind).toBe(6);
    console.log(`backup never caught up: 6 reads got BEHIND after ${Math.min(...behind.map((r) => r.ms))}-${Math.max(...behind.map((r) => r.ms))} ms (waitMs 1500); a read of block 4 answered in ${served.ms} ms`);
  });

  it('failback to a node that returns behind the active one waits until it has caught up: no step back, no null', async () => {
    const { session, client, events, chain, pool, heads } = await sessionOnA();
    for (let i = 0; i < 3; i++) await chain.mine({ logs: 1 }); // 2..4
    await until('head 4 delivered', () => client.heads(heads).length === 3);
    await chain.nodes.a!.proxy.cut();
    await until('session and pool on b', () => session.node === 'b' && pool.preferred() === 'b');
    chain.lag('a');
    for (let i = 0; i < 3; i++) await chain.mine({ logs: 1 }); // 5..7 on b only
    await until('head 7 delivered from b', () => client.heads(heads).some((h) => num(h.number) === 7));
    const watcher = watchBlockNumber(() => client.call('eth_blockNumber').then((r) => r.frame));
    const nullReads: string[] = [];
    let stopReading = false;
    const reader = (async () => {
      while (!stopReading) {
        const r = await client.call('eth_getBlockByNumber', ['0x7', false]);
        if (r.frame.result?.hash !== chain.canonical(7).hash) nullReads.push(JSON.stringify(r.frame));
        await sleep(50);
      }
    })();

    await chain.nodes.a!.proxy.restore();
    await until('a healthy again (3 behind)', () => pool.health('a').status === 'healthy' && pool.health('a').head === 4, 5_000);
    const healthyAt = Date.now();
    await sleep(1_500); // failbackRetryMs and several probe rounds
    expect(pool.preferred()).toBe('b');
    expect(session.node).toBe('b');

    const catchUpAt = Date.now();
    await chain.catchUp('a');
    await until('failback to a', () => session.node === 'a', 10_000);
    const failback = events.switches.find((s) => s.to === 'a' && s.from === 'b')!;
    const eight = await chain.mine({ logs: 1 });
    await until('head 8 delivered from a', () => client.heads(heads).some((h) => h.hash === eight.hash));
    stopReading = true;
    await reader;
    await watcher.stop();

    expect(failback.reason).toBe('failback');
    expect(failback.at).toBeGreaterThanOrEqual(catchUpAt);
    expect(events.reorgs).toEqual([]);
    const got = client.heads(heads);
    expect(got.map((h) => num(h.number))).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(headViolations(got)).toEqual([]);
    expect(nullReads).toEqual([]);
    const numbers = watcher.answers.map((a) => a.value);
    expect(watcher.answers.filter((a) => a.error !== undefined)).toEqual([]);
    expect(numbers.every((n) => n !== undefined && n >= 7)).toBe(true);
    expect(firstStepBack(numbers as number[])).toBeUndefined();
    expect(session.stats().failedBehind).toBe(0);
    console.log(`failback to a node 3 blocks behind: stayed on b for ${catchUpAt - healthyAt} ms while a was healthy but behind; failback ${failback.at - catchUpAt} ms after a caught up; ${watcher.answers.length} eth_blockNumber answers, never below 7`);
  });
});
