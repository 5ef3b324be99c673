import { describe, expect, it } from 'vitest';
import { NodePool, SteadyRpcError } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode } from '../../src/testing/index.js';
import { fakeCluster } from '../helpers/pool.js';

const call = (id: number, method = 'eth_getBalance') => ({ jsonrpc: '2.0' as const, id, method, params: ['0x0', 'latest'] });
const allHealthy = (pool: NodePool) => pool.nodes.forEach((n) => pool.update(n.name, { status: 'healthy', head: 100 }));

describe('pool.request over HTTP', () => {
  it('sends to the preferred node', async () => {
    const { pool, http } = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    allHealthy(pool);
    await expect(pool.request(call(7))).resolves.toEqual({ jsonrpc: '2.0', id: 7, result: '0x1' });
    expect(http.requests.map((r) => r.url)).toEqual(['http://a.test/']);
  });

  it('fails over to the next healthy node when the transport fails', async () => {
    const { pool, nodes } = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    allHealthy(pool);
    nodes.a!.setMode('down');
    await expect(pool.request(call(1))).resolves.toMatchObject({ result: '0x2' });
  });

  it('fails over on a bad HTTP status', async () => {
    const { pool, nodes } = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    allHealthy(pool);
    nodes.a!.setMode('http-error');
    await expect(pool.request(call(1))).resolves.toMatchObject({ result: '0x2' });
  });

  it('treats a JSON-RPC error from a node as an answer, not a failure', async () => {
    const { pool, nodes, http } = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    allHealthy(pool);
    nodes.a!.setMode('rpc-error');
    await expect(pool.request(call(3))).resolves.toMatchObject({ id: 3, error: { code: -32603 } });
    expect(http.requests).toHaveLength(1);
  });

  it('gives up on a silent node at the attempt timeout and answers from the next', async () => {
    const { pool, nodes, clock } = fakeCluster([{ name: 'a' }, { name: 'b' }], { http: { attemptTimeoutMs: 2_000 } });
    allHealthy(pool);
    nodes.a!.setMode('stall');
    let answer: unknown;
    void pool.request(call(1)).then((a) => (answer = a));
    await clock.advance(1_999);
    expect(answer).toBeUndefined();
    await clock.advance(1);
    expect(answer).toMatchObject({ result: '0x2' });
    expect(clock.pendingTimers).toBe(0);
  });

  it('gives up even when the transport ignores the abort signal', async () => {
    const clock = new FakeClock();
    const http = new FakeHttpTransport()
      .route('http://a.test/', () => new Promise(() => {}))
      .route('http://b.test/', new FakeNode({ balance: 2n }).http);
    const pool = new NodePool({
      nodes: [{ name: 'a', http: 'http://a.test/' }, { name: 'b', http: 'http://b.test/' }],
      clock,
      httpTransport: http,
      http: { attemptTimeoutMs: 100 },
    });
    const answer = pool.request(call(1));
    await clock.advance(100);
    await expect(answer).resolves.toMatchObject({ result: '0x2' });
  });

  it('answers a batch with a batch', async () => {
    const { pool } = fakeCluster([{ name: 'a' }]);
    allHealthy(pool);
    const answers = await pool.request([call(1, 'eth_chainId'), call(2, 'eth_blockNumber')]);
    expect(answers).toEqual([
      { jsonrpc: '2.0', id: 1, result: '0x1' },
      { jsonrpc: '2.0', id: 2, result: '0x64' },
    ]);
  });

  it('tries at most maxAttempts nodes, then fails with every reason in the details', async () => {
    const { pool, nodes, http } = fakeCluster([{ name: 'a' }, { name: 'b' }, { name: 'c' }], { http: { maxAttempts: 2 } });
    allHealthy(pool);
    nodes.a!.setMode('down');
    nodes.b!.setMode('http-error');
    const error = await pool.request(call(1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SteadyRpcError);
    expect(error).toMatchObject({ code: 'ERR_UPSTREAM_UNAVAILABLE' });
    expect((error as SteadyRpcError).details).toMatch(/a: .*connection refused.*; b: .*HTTP 503/);
    expect(http.requests).toHaveLength(2);
  });

  it('tries nodes in preference order before any health check has run', async () => {
    const { pool, nodes } = fakeCluster([{ name: 'a' }, { name: 'b', tier: 'backup' }]);
    nodes.a!.setMode('down');
    await expect(pool.request(call(1))).resolves.toMatchObject({ result: '0x2' });
  });

  it('skips quarantined nodes', async () => {
    const { pool, http } = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    pool.quarantine('a', 10_000);
    await pool.request(call(1));
    expect(http.requests.map((r) => r.url)).toEqual(['http://b.test/']);
    pool.close();
  });

  it('stops when the caller aborts', async () => {
    const { pool, nodes, clock } = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    allHealthy(pool);
    nodes.a!.setMode('stall');
    const controller = new AbortController();
    const answer = pool.request(call(1), { signal: controller.signal });
    controller.abort(new Error('user gave up'));
    await expect(answer).rejects.toThrow('user gave up');
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps credentials out of its errors', async () => {
    const clock = new FakeClock();
    const pool = new NodePool({
      nodes: [{ name: 'a', http: 'http://user:hunter2@a.test/?apikey=s3cret' }],
      clock,
      httpTransport: new FakeHttpTransport(),
    });
    const failing = pool.request(call(1)).catch((e: unknown) => e);
    await clock.advance(500); // a is asked three times, 250 ms apart (http.retryDelayMs)
    const error = (await failing) as SteadyRpcError;
    expect(`${error.message} ${error.details} ${(error.cause as Error).message}`).not.toMatch(/hunter2|s3cret/);
  });
});
