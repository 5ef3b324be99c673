import { describe, expect, it } from 'vitest';
import { HealthChecker, RpcErrorCode } from '../../src/index.js';
import { fakeCluster, poolAfterCut } from '../helpers/pool.js';

const rpc = (id: number, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, id, method, params });

describe('pool.request() never shows the chain going back (invariant 10)', () => {
  it('a lower block number waits for the node to catch up', async () => {
    const { pool, nodes, clock } = await poolAfterCut();
    let answer: unknown;
    void pool.request(rpc(2, 'eth_blockNumber')).then((a) => (answer = a));
    await clock.advance(1_000);
    expect(answer).toBeUndefined();
    nodes.b!.advance(3);
    await clock.advance(250);
    expect(answer).toEqual({ jsonrpc: '2.0', id: 2, result: '0x67' });
  });

  it('null for a block already served is asked of the next node that has it, not returned', async () => {
    // Without the failback gate, so that the pool prefers a node behind what it has served.
    const cluster = fakeCluster([{ name: 'a' }, { name: 'b', head: 103 }], { failbackCatchUp: false });
    const { pool, nodes } = cluster;
    pool.update('a', { status: 'healthy', head: 100 });
    pool.update('b', { status: 'healthy', head: 103 });
    pool.update('a', { status: 'unhealthy' });
    expect((await pool.request(rpc(1, 'eth_getBlockByNumber', ['0x67', false]))) as unknown).toMatchObject({ result: { number: '0x67' } });
    pool.update('a', { status: 'healthy' }); // a is preferred again but has only 100
    nodes.b!.calls.clear();
    const block = await pool.request(rpc(2, 'eth_getBlockByNumber', ['0x67', false]));
    expect(block).toMatchObject({ id: 2, result: { number: '0x67' } });
    expect(nodes.a!.calls.get('eth_getBlockByNumber')).toBe(1); // asked first, answered null
    expect(nodes.b!.calls.get('eth_getBlockByNumber')).toBe(1);
  });

  it('answers BEHIND (-32055) when no node catches up within waitMs', async () => {
    const { pool, clock } = await poolAfterCut({ consistency: { waitMs: 1_000 } });
    let answer: unknown;
    void pool.request([rpc(2, 'eth_blockNumber'), rpc(3, 'eth_chainId')]).then((a) => (answer = a));
    await clock.advance(1_000);
    expect(answer).toEqual([
      { jsonrpc: '2.0', id: 2, error: { code: RpcErrorCode.BEHIND, message: expect.any(String) } },
      { jsonrpc: '2.0', id: 3, result: '0x1' },
    ]);
  });

  it('a caller that aborts while its read waits for a node to catch up: rejected with its reason, no timer left', async () => {
    const { pool, clock } = await poolAfterCut({ consistency: { waitMs: 1_000 } });
    const controller = new AbortController();
    let failure: unknown;
    void pool.request(rpc(2, 'eth_blockNumber'), { signal: controller.signal }).catch((e: unknown) => (failure = e));
    await clock.advance(300);
    expect(failure).toBeUndefined();
    controller.abort(new Error('client gone'));
    await clock.advance(0);
    expect((failure as Error).message).toBe('client gone');
    expect(clock.pendingTimers).toBe(0);
  });

  it('eth_getLogs up to latest waits for a node at the served head', async () => {
    const { pool, nodes, clock } = await poolAfterCut();
    let answer: unknown;
    void pool.request(rpc(2, 'eth_getLogs', [{ fromBlock: '0x1' }])).then((a) => (answer = a));
    await clock.advance(500);
    expect(answer).toBeUndefined();
    nodes.b!.advance(3);
    await clock.advance(250);
    expect(answer).toEqual({ jsonrpc: '2.0', id: 2, result: [] });
  });

  it('a write is never sent again because its answer looked behind: only the read behind is asked again', async () => {
    const { pool, nodes, clock } = await poolAfterCut({ consistency: { waitMs: 1_000 } });
    let answer: unknown;
    void pool.request([rpc(2, 'eth_blockNumber'), rpc(3, 'eth_sendTransaction', [{}])]).then((a) => (answer = a));
    await clock.advance(0);
    expect(answer).toBeUndefined();
    await clock.advance(1_000);
    expect(answer).toMatchObject([{ id: 2, error: { code: RpcErrorCode.BEHIND } }, { id: 3 }]);
    expect(nodes.b!.calls.get('eth_sendTransaction')).toBe(1);
    expect(nodes.b!.calls.get('eth_blockNumber')).toBeGreaterThan(1);
  });

  it('with consistency.monotonic off, answers pass as the node gives them', async () => {
    const { pool } = await poolAfterCut({ consistency: { monotonic: false } });
    expect(await pool.request(rpc(2, 'eth_blockNumber'))).toEqual({ jsonrpc: '2.0', id: 2, result: '0x64' });
  });
});

describe('failback waits until the better node has caught up (invariant 10)', () => {
  it('the pool keeps the node in use while the recovered one is behind it, then fails back as a recovery', async () => {
    const { pool, switches } = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    pool.update('a', { status: 'healthy', head: 100 });
    pool.update('b', { status: 'healthy', head: 100 });
    pool.update('a', { status: 'unhealthy' });
    pool.update('b', { head: 103 });
    pool.update('a', { status: 'healthy', head: 100 });
    expect(pool.preferred()).toBe('b');
    pool.update('a', { head: 102 });
    expect(pool.preferred()).toBe('b');
    pool.update('a', { head: 103 });
    expect(pool.preferred()).toBe('a');
    expect(switches.at(-1)).toEqual({ from: 'b', to: 'a', reason: 'recovered' });
  });

  it('failbackCatchUp: false fails back at once', () => {
    const { pool } = fakeCluster([{ name: 'a' }, { name: 'b' }], { failbackCatchUp: false });
    pool.update('b', { status: 'healthy', head: 103 });
    pool.update('a', { status: 'healthy', head: 100 });
    expect(pool.preferred()).toBe('a');
  });
});

describe('a dead node keeps its head in the lag computation for headGraceMs (invariant 10)', () => {
  it('a backup 8 blocks behind stays lagging when the primary dies, until the grace is over', async () => {
    const { pool, nodes, clock } = fakeCluster([{ name: 'a', head: 108 }, { name: 'b' }]);
    const checker = new HealthChecker(pool, { intervalMs: 1_000, headGraceMs: 30_000 });
    checker.start();
    await clock.advance(2_000);
    expect(pool.health('b')).toMatchObject({ status: 'unhealthy', lag: 8 });
    expect(pool.preferred()).toBe('a');
    nodes.a!.setMode('down');
    await clock.advance(10_000);
    expect(pool.health('a').status).toBe('unhealthy');
    expect(pool.health('b')).toMatchObject({ status: 'unhealthy', lag: 8 });
    expect(pool.preferred()).toBeUndefined();
    await clock.advance(25_000); // past the grace: a's head no longer counts
    expect(pool.health('b')).toMatchObject({ status: 'healthy', lag: 0 });
    checker.close();
  });

  it.each([
    ['headGraceMs 0', { intervalMs: 1_000, headGraceMs: 0 }],
    ['headGraceMs shorter than the probe interval', { intervalMs: 1_000, headGraceMs: 500 }],
    ['a probe interval longer than the default grace', { intervalMs: 120_000 }],
  ])('a live node ahead counts however long ago its latest probe read its head: %s', async (_, options) => {
    // a answers its probes 10 ms after b: when b's are judged, a's head was read a whole interval ago.
    const { pool, nodes, clock } = fakeCluster([{ name: 'a', head: 110 }, { name: 'b' }]);
    nodes.a!.latencyMs = 10;
    const checker = new HealthChecker(pool, options);
    checker.start();
    await clock.advance(options.intervalMs * 4);
    expect(pool.health('b')).toMatchObject({ status: 'unhealthy', lag: 10 });
    checker.close();
  });

  it('the grace is 60 s by default (headGraceMs)', async () => {
    const { pool, nodes, clock } = fakeCluster([{ name: 'a', head: 108 }, { name: 'b' }]);
    const checker = new HealthChecker(pool, { intervalMs: 1_000 });
    checker.start();
    await clock.advance(2_000);
    nodes.a!.setMode('down');
    const diedAt = clock.now();
    await clock.advance(55_000);
    expect(pool.health('b')).toMatchObject({ status: 'unhealthy', lag: 8 });
    await clock.advance(diedAt + 62_000 - clock.now());
    expect(pool.health('b')).toMatchObject({ status: 'healthy', lag: 0 });
    checker.close();
  });
});

describe('pool.request() waits on the node behind when the others are down (invariant 10)', () => {
  it('right after a cut the pool has not noticed: the dead node fails, the lagging one is waited for', async () => {
    const cluster = fakeCluster([{ name: 'a', head: 103 }, { name: 'b' }]);
    const { pool, nodes, clock } = cluster;
    pool.update('a', { status: 'healthy', head: 103 });
    pool.update('b', { status: 'healthy', head: 100 });
    expect(await pool.request(rpc(1, 'eth_blockNumber'))).toMatchObject({ result: '0x67' });
    nodes.a!.setMode('down'); // still healthy in the pool
    let answer: unknown;
    void pool.request(rpc(2, 'eth_blockNumber')).then((a) => (answer = a), (e) => (answer = e));
    await clock.advance(1_000);
    expect(answer).toBeUndefined();
    nodes.b!.advance(3);
    await clock.advance(250);
    expect(answer).toEqual({ jsonrpc: '2.0', id: 2, result: '0x67' });
  });
});

describe('an answer from before the node caught up is not vouched for by a head read after it (invariant 10)', () => {
  it('null for a block the pool served, from a node that catches up in the meantime, is asked again', async () => {
    const { pool, nodes, http } = await poolAfterCut();
    const hash103 = (nodes.a!.answer(rpc(0, 'eth_getBlockByNumber', ['0x67', false])) as { result: { hash: string } }).result.hash;
    // b answers the lookup of block 103 with null (it is at 100), and reaches 103 right after.
    let first = true;
    http.route('http://b.test/', async (body, signal, endpoint) => {
      const answer = await nodes.b!.http(body, signal, endpoint);
      if (first && body.includes('eth_getBlockByHash')) {
        first = false;
        nodes.b!.advance(3);
      }
      return answer;
    });
    const answer = await pool.request(rpc(2, 'eth_getBlockByHash', [hash103, false]));
    expect(answer).toMatchObject({ id: 2, result: { number: '0x67', hash: hash103 } });
  });
});
