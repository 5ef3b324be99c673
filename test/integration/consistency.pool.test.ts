/**
 * Invariant 10 on real nodes for `NodePool.request()` (HTTP), and the pool/HealthChecker rules that
 * keep the chain from going back: failback waits for the better node to catch up
 * (`failbackCatchUp`), and a dead node's last head keeps counting for lag (`headGraceMs`) so a
 * lagging backup is not promoted the moment the primary dies. Two SharedChain nodes, `a` preferred,
 * `b` the backup, a fast HealthChecker; `a` cut with its FaultProxy.
 *
 * Real time, every wait bounded. Key figures are printed (console.log) for quoting.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../src/index.js';
import type { JsonRpcResponse, NodePool, SwitchEvent } from '../../src/index.js';
import { DEV_ACCOUNT } from './helpers/anvil.js';
import { firstStepBack, logsOf, num, poolSees, rpc, sleep, startRig, until, type Rig } from './helpers/consistency.js';

let rig: Rig | undefined;

afterEach(async () => {
  await rig?.stop();
  rig = undefined;
});

let nextId = 1;

/** One call through `pool.request()`: the response (a result or a JSON-RPC error), how long it took, or what it threw. */
async function request(pool: NodePool, method: string, params: unknown[] = []): Promise<{ response?: JsonRpcResponse; thrown?: string; ms: number }> {
  const started = Date.now();
  try {
    const response = await pool.request({ jsonrpc: '2.0', id: nextId++, method, params });
    return { response, ms: Date.now() - started };
  } catch (error) {
    const e = error as Error & { code?: string; details?: string };
    return { thrown: e instanceof Error ? `${e.code ?? e.name}: ${e.message.split('\n')[0]}${e.details ? ` (${e.details})` : ''}` : String(e), ms: Date.now() - started };
  }
}

const resultOf = (r: { response?: JsonRpcResponse }) => (r.response && 'result' in r.response ? (r.response.result as any) : undefined);
const errorOf = (r: { response?: JsonRpcResponse }) => (r.response && 'error' in r.response ? r.response.error : undefined);

/** a and b share 2..5; b stops there while a goes on to 8 (2 logs a block from 6 on). */
async function lagB(options: Parameters<typeof startRig>[0] = {}) {
  rig = await startRig(options);
  const { chain, pool } = rig;
  for (let i = 0; i < 4; i++) await chain.mine({ logs: 1 });
  chain.lag('b');
  for (let i = 0; i < 3; i++) await chain.mine({ logs: 2 });
  await poolSees(pool, { a: 8, b: 5 });
  await until('pool prefers a', () => pool.preferred() === 'a');
  return { chain, pool };
}

describe('consistency through NodePool.request() on real nodes', { timeout: 30_000 }, () => {
  it('a lagging backup (3 behind, within maxLagBlocks): reads sent right after the cut wait for it to catch up, never answer older, null or partial', async () => {
    const { chain, pool } = await lagB();
    // b's lag is measured at b's own probe: the one after a's head 8 was recorded says 3.
    await until('b measured 3 behind', () => pool.health('b').lag === 3);
    expect(pool.health('b')).toMatchObject({ status: 'healthy', lag: 3 });
    // The pool serves block 8 (its view of the chain).
    expect(resultOf(await request(pool, 'eth_blockNumber'))).toBe('0x8');
    const block8 = resultOf(await request(pool, 'eth_getBlockByNumber', ['0x8', false])) as { hash: string; transactions: string[] };
    const tx = block8.transactions[0]!;
    const wantLogs = await logsOf(chain, 'a', 2, 8);
    const wantBalance = await rpc<string>(chain.nodes.a!.anvil.httpUrl, 'eth_getBalance', [DEV_ACCOUNT, '0x8']);

    // Sent while the pool still counts a as healthy (its probes have not failed 3 times yet): a
    // refuses the connection, b answers from its older chain. The read must wait for b (or get
    // BEHIND after waitMs), not fail because a refused.
    const cutAt = Date.now();
    await chain.nodes.a!.proxy.cut();
    const reads = Promise.all([
      request(pool, 'eth_blockNumber'),
      request(pool, 'eth_getBlockByNumber', ['0x8', false]),
      request(pool, 'eth_getBlockByHash', [block8.hash, false]),
      request(pool, 'eth_getTransactionReceipt', [tx]),
      request(pool, 'eth_getLogs', [{ address: chain.logger, fromBlock: '0x2', toBlock: '0x8' }]),
      request(pool, 'eth_getLogs', [{ address: chain.logger, fromBlock: '0x2', toBlock: 'latest' }]),
      request(pool, 'eth_getBalance', [DEV_ACCOUNT, 'latest']),
    ]);
    await sleep(1_200);
    const caughtUpAt = Date.now();
    await chain.catchUp('b');
    const answers = await reads;
    const [blockNumber, byNumber, byHash, receipt, logsTo8, logsToLatest, balance] = answers;
    console.log(
      `pool.request() with a cut and b 3 behind: ${answers.map((r) => `${r.ms} ms ${r.thrown ? `threw ${r.thrown}` : errorOf(r) ? `error ${errorOf(r)!.code}` : 'ok'}`).join('; ')} (b caught up ${caughtUpAt - cutAt} ms after the cut)`,
    );

    for (const r of answers) expect(r.thrown ?? errorOf(r)).toBeUndefined();
    expect(num(resultOf(blockNumber))).toBeGreaterThanOrEqual(8);
    expect(resultOf(byNumber)?.hash).toBe(block8.hash);
    expect(resultOf(byHash)?.hash).toBe(block8.hash);
    expect(resultOf(receipt)).toMatchObject({ transactionHash: tx, blockNumber: '0x8' });
    expect(resultOf(logsTo8)).toEqual(wantLogs);
    expect(resultOf(logsToLatest)).toEqual(wantLogs);
    expect(resultOf(balance)).toBe(wantBalance);
    for (const r of [blockNumber, byNumber, byHash, receipt, logsTo8]) expect(r.ms).toBeGreaterThanOrEqual(caughtUpAt - cutAt - 50);
  });

  it('the same reads once the pool has left a: held, then answered after b catches up', async () => {
    const { chain, pool } = await lagB();
    expect(resultOf(await request(pool, 'eth_blockNumber'))).toBe('0x8');
    const block8 = resultOf(await request(pool, 'eth_getBlockByNumber', ['0x8', false])) as { hash: string; transactions: string[] };
    await chain.nodes.a!.proxy.cut();
    await until('pool on b', () => pool.preferred() === 'b');
    const startedAt = Date.now();
    const reads = Promise.all([
      request(pool, 'eth_blockNumber'),
      request(pool, 'eth_getBlockByNumber', ['0x8', false]),
      request(pool, 'eth_getBlockByHash', [block8.hash, false]),
      request(pool, 'eth_getTransactionReceipt', [block8.transactions[1]!]),
      request(pool, 'eth_getLogs', [{ address: chain.logger, fromBlock: '0x6', toBlock: '0x8' }]),
    ]);
    await sleep(1_000);
    const caughtUpAt = Date.now();
    await chain.catchUp('b');
    const answers = await reads;
    for (const r of answers) expect(r.thrown ?? errorOf(r)).toBeUndefined();
    expect(num(resultOf(answers[0]!))).toBeGreaterThanOrEqual(8);
    expect(resultOf(answers[1]!)?.hash).toBe(block8.hash);
    expect(resultOf(answers[2]!)?.hash).toBe(block8.hash);
    expect(resultOf(answers[3]!)).toMatchObject({ blockNumber: '0x8' });
    expect(resultOf(answers[4]!)).toEqual(await logsOf(chain, 'a', 6, 8));
    for (const r of answers) expect(r.ms).toBeGreaterThanOrEqual(caughtUpAt - startedAt - 50);
    console.log(`pool.request() on b (3 behind): 5 reads held ${Math.min(...answers.map((r) => r.ms))}-${Math.max(...answers.map((r) => r.ms))} ms, answered ${Date.now() - caughtUpAt} ms after b caught up`);
  });

  it('a backup that never catches up: BEHIND (-32055) after waitMs; what it has is answered at once', async () => {
    const { chain, pool } = await lagB({ pool: { consistency: { waitMs: 1_500, pollMs: 250 } } });
    expect(resultOf(await request(pool, 'eth_blockNumber'))).toBe('0x8');
    const block8 = resultOf(await request(pool, 'eth_getBlockByNumber', ['0x8', false])) as { hash: string; transactions: string[] };
    await chain.nodes.a!.proxy.cut();
    await until('pool on b', () => pool.preferred() === 'b');
    const answers = await Promise.all([
      request(pool, 'eth_blockNumber'),
      request(pool, 'eth_getBlockByNumber', ['0x8', false]),
      request(pool, 'eth_getBlockByHash', [block8.hash, false]),
      request(pool, 'eth_getTransactionReceipt', [block8.transactions[0]!]),
      request(pool, 'eth_getLogs', [{ address: chain.logger, fromBlock: '0x2', toBlock: '0x8' }]),
      request(pool, 'eth_getBalance', [DEV_ACCOUNT, 'latest']),
    ]);
    const served = await request(pool, 'eth_getBlockByNumber', ['0x4', false]);
    for (const r of answers) expect(errorOf(r)?.code).toBe(RpcErrorCode.BEHIND);
    for (const r of answers) expect(r.ms).toBeGreaterThanOrEqual(1_400);
    for (const r of answers) expect(r.ms).toBeLessThan(4_000);
    expect(resultOf(served)?.hash).toBe(chain.canonical(4).hash);
    expect(served.ms).toBeLessThan(1_000);
    console.log(`pool.request() BEHIND after ${Math.min(...answers.map((r) => r.ms))}-${Math.max(...answers.map((r) => r.ms))} ms (waitMs 1500); block 4 served in ${served.ms} ms`);
  });

  it('lag guard kept when it matters: b 8 blocks behind stays unhealthy for headGraceMs after a dies, then takes over', async () => {
    const graceMs = 3_000;
    rig = await startRig({ health: { maxLagBlocks: 5, headGraceMs: graceMs }, pool: { consistency: { waitMs: 1_000 } } });
    const { chain, pool } = rig;
    chain.lag('b');
    for (let i = 0; i < 8; i++) await chain.mine(); // a at 9, b at 1
    await poolSees(pool, { a: 9, b: 1 });
    await until('b unhealthy (lagging 8)', () => pool.health('b').status === 'unhealthy');
    expect(pool.health('b').lag).toBe(8);
    expect(pool.preferred()).toBe('a');
    expect(resultOf(await request(pool, 'eth_blockNumber'))).toBe('0x9');
    const switches: Array<SwitchEvent & { at: number }> = [];
    pool.on('switch', (e) => switches.push({ ...e, at: Date.now() }));

    const lastHeadAt = pool.health('a').headAt!;
    const cutAt = Date.now();
    await chain.nodes.a!.proxy.cut();
    await until('a unhealthy', () => pool.health('a').status === 'unhealthy');
    // For the grace, b stays known to lag, and no read is answered below 9 (reads run on their own
    // loop: one may wait for a node to catch up, or fail, but never answer lower).
    const numbers: number[] = [];
    const failures: string[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const r = await request(pool, 'eth_blockNumber');
        if (resultOf(r) !== undefined) numbers.push(num(resultOf(r)));
        else failures.push(r.thrown?.split(' (')[0] ?? `error ${errorOf(r)!.code}`);
        await sleep(100);
      }
    })();
    let checks = 0;
    while (Date.now() < lastHeadAt + graceMs - 300) {
      expect(pool.health('b')).toMatchObject({ status: 'unhealthy', lag: 8 });
      expect(pool.preferred()).toBeUndefined();
      checks++;
      await sleep(50);
    }
    const heldMs = Date.now() - cutAt;
    expect(checks).toBeGreaterThan(10);
    expect(switches).toEqual([expect.objectContaining({ from: 'a', to: undefined, reason: 'unhealthy' })]);

    // After the grace, a's last head no longer counts: b (alone) is healthy and takes the traffic.
    await until('pool on b', () => pool.preferred() === 'b', graceMs + 3_000);
    const tookOverMs = Date.now() - cutAt;
    expect(pool.health('b').lag).toBe(0);
    expect(tookOverMs).toBeGreaterThanOrEqual(graceMs - (cutAt - lastHeadAt) - 50);
    reading = false;
    await reader;
    expect(numbers.every((n) => n >= 9)).toBe(true);
    console.log(`lag guard: b (8 behind, maxLagBlocks 5) stayed unhealthy ${heldMs}+ ms after a died (headGraceMs ${graceMs}); took over ${tookOverMs} ms after the cut; ${numbers.length + failures.length} eth_blockNumber reads meanwhile: ${numbers.length} answered (all >= 9), ${failures.length} failed (${[...new Set(failures)].join(', ')})`);
  });

  it('failback to a node that returns behind the active one waits until it has caught up; pool.request() never steps back', async () => {
    rig = await startRig();
    const { chain, pool } = rig;
    for (let i = 0; i < 3; i++) await chain.mine(); // 2..4
    await poolSees(pool, { a: 4, b: 4 });
    await until('pool prefers a', () => pool.preferred() === 'a');
    const switches: Array<SwitchEvent & { at: number }> = [];
    pool.on('switch', (e) => switches.push({ ...e, at: Date.now() }));
    await chain.nodes.a!.proxy.cut();
    await until('pool on b', () => pool.preferred() === 'b');
    chain.lag('a');
    for (let i = 0; i < 3; i++) await chain.mine(); // 5..7 on b only
    await poolSees(pool, { b: 7 });
    expect(resultOf(await request(pool, 'eth_blockNumber'))).toBe('0x7');

    const numbers: number[] = [];
    const nulls: string[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const n = await request(pool, 'eth_blockNumber');
        numbers.push(resultOf(n) === undefined ? -1 : num(resultOf(n)));
        const block = await request(pool, 'eth_getBlockByNumber', ['0x7', false]);
        if (resultOf(block)?.hash !== chain.canonical(7).hash) nulls.push(JSON.stringify(block.response ?? block.thrown));
        await sleep(50);
      }
    })();

    await chain.nodes.a!.proxy.restore();
    await until('a healthy again, 3 behind', () => pool.health('a').status === 'healthy' && pool.health('a').head === 4);
    const healthyAt = Date.now();
    await sleep(1_000);
    expect(pool.preferred()).toBe('b');
    const catchUpAt = Date.now();
    await chain.catchUp('a');
    await until('pool back on a', () => pool.preferred() === 'a');
    const failback = switches.find((s) => s.to === 'a')!;
    await sleep(300);
    reading = false;
    await reader;

    expect(failback).toMatchObject({ from: 'b', to: 'a', reason: 'recovered' });
    expect(failback.at).toBeGreaterThanOrEqual(catchUpAt);
    expect(nulls).toEqual([]);
    expect(numbers.every((n) => n >= 7)).toBe(true);
    expect(firstStepBack(numbers)).toBeUndefined();
    console.log(`pool failback to a node 3 behind: preferred b for ${catchUpAt - healthyAt}+ ms while a was healthy but behind; back on a ${failback.at - catchUpAt} ms after it caught up; ${numbers.length} eth_blockNumber reads, never below 7`);
  });
});
