import { describe, expect, it } from 'vitest';
import { NodePool, RpcErrorCode, type JsonRpcResponse } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, type FakeHttpHandler } from '../../src/testing/index.js';
import { fakeCluster } from '../helpers/pool.js';

const call = (id: number, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, id, method, params });
const send = (id: number) => call(id, 'eth_sendTransaction', [{ from: '0x01', to: '0x02', value: '0x1' }]);
const read = (id: number) => call(id, 'eth_getBalance', ['0x0', 'latest']);
const allHealthy = (pool: NodePool) => pool.nodes.forEach((n) => pool.update(n.name, { status: 'healthy', head: 100 }));

/** A handler that records each body it gets and never answers (until aborted). */
function hanging(received: string[]): FakeHttpHandler {
  return (body, signal) => {
    received.push(body);
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  };
}

/** Two nodes a and b on a fake clock, a served by `first` and b by a FakeNode. */
function twoNodes(first: FakeHttpHandler, options: Partial<ConstructorParameters<typeof NodePool>[0]> = {}) {
  const clock = new FakeClock();
  const b = new FakeNode({ name: 'b', balance: 2n, head: 100 });
  const http = new FakeHttpTransport().route('http://a.test/k3y/', first).route('http://b.test/', b.http);
  const pool = new NodePool({
    nodes: [{ name: 'a', http: 'http://a.test/k3y/' }, { name: 'b', http: 'http://b.test/' }],
    clock,
    httpTransport: http,
    http: { attemptTimeoutMs: 2_000 },
    ...options,
  });
  allHealthy(pool);
  return { clock, http, pool, b };
}

function expectNotResent(answer: unknown, id: number, why: RegExp): void {
  expect(answer).toMatchObject({ jsonrpc: '2.0', id, error: { code: RpcErrorCode.NOT_RESENT, data: { node: 'a' } } });
  const { message } = (answer as { error: { message: string } }).error;
  expect(message).toMatch(/^Node "a" /);
  expect(message).toMatch(why);
  expect(message).toMatch(/not safe to send twice, so it was not sent to another node/);
  expect(message).not.toMatch(/a\.test|k3y|http:/);
}

describe('pool.request never sends a write twice', () => {
  it('a write that timed out on a node is answered NOT_RESENT, not sent to the next', async () => {
    const received: string[] = [];
    const { clock, http, pool, b } = twoNodes(hanging(received));
    let answer: unknown;
    void pool.request(send(5)).then((a) => (answer = a));
    await clock.advance(2_000);
    expectNotResent(answer, 5, /did not answer within 2000 ms; eth_sendTransaction is/);
    expect((answer as { error: { data: unknown } }).error.data).toEqual({ node: 'a', reason: 'timeout' });
    expect(received).toHaveLength(1);
    expect(b.calls.get('eth_sendTransaction')).toBeUndefined();
    expect(http.requests.map((r) => r.url)).toEqual(['http://a.test/k3y/']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a write answered HTTP 500 (not a JSON-RPC body) is answered NOT_RESENT', async () => {
    const { pool, b } = twoNodes(async () => ({ status: 500, body: '<html>Internal Server Error</html>' }));
    const answer = await pool.request(send(6));
    expectNotResent(answer, 6, /answered HTTP 500; eth_sendTransaction/);
    expect(b.calls.size).toBe(0);
  });

  it('a write whose connection broke after sending is answered NOT_RESENT, and reached one node only', async () => {
    const a = new FakeNode({ name: 'a', head: 100 });
    const { pool, http, b } = twoNodes(a.http);
    http.fail('http://a.test/k3y/', 'reset-after-send');
    const answer = await pool.request(call(7, 'evm_mine'));
    expectNotResent(answer, 7, /dropped the connection after the request was sent; evm_mine/);
    expect(a.calls.get('evm_mine')).toBe(1);
    expect(b.calls.get('evm_mine')).toBeUndefined();
  });

  it('a write goes to the next node when the first refused the connection', async () => {
    const a = new FakeNode({ name: 'a', head: 100 });
    const { pool, http, b } = twoNodes(a.http);
    http.fail('http://a.test/k3y/', 'refuse');
    const answer = await pool.request(send(8));
    expect(answer).toMatchObject({ id: 8, error: { code: RpcErrorCode.METHOD_NOT_FOUND } });
    expect(a.calls.size).toBe(0);
    expect(b.calls.get('eth_sendTransaction')).toBe(1);
  });

  it('a write goes to the next node when the first is down (FakeNode mode down: refused)', async () => {
    const { pool, nodes } = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    allHealthy(pool);
    nodes.a!.setMode('down');
    await pool.request(send(1));
    expect(nodes.b!.calls.get('eth_sendTransaction')).toBe(1);
  });

  it("a write goes to the next node when the first node's endpoint function failed", async () => {
    const clock = new FakeClock();
    const b = new FakeNode({ name: 'b', head: 100 });
    const http = new FakeHttpTransport().route('http://b.test/', b.http);
    const pool = new NodePool({
      nodes: [
        { name: 'a', http: () => Promise.reject(new Error('vault unreachable')) },
        { name: 'b', http: 'http://b.test/' },
      ],
      clock,
      httpTransport: http,
    });
    allHealthy(pool);
    await pool.request(send(2));
    expect(b.calls.get('eth_sendTransaction')).toBe(1);
  });

  it("a write goes to the next node when the first node's endpoint function was still running at the deadline", async () => {
    const clock = new FakeClock();
    const a = new FakeNode({ name: 'a', head: 100 });
    const b = new FakeNode({ name: 'b', head: 100 });
    const http = new FakeHttpTransport().route('http://a.test/', a.http).route('http://b.test/', b.http);
    const pool = new NodePool({
      nodes: [
        { name: 'a', http: () => new Promise((resolve) => clock.setTimeout(() => resolve({ url: 'http://a.test/' }), 5_000)) },
        { name: 'b', http: 'http://b.test/' },
      ],
      clock,
      httpTransport: http,
      http: { attemptTimeoutMs: 1_000 },
    });
    allHealthy(pool);
    let answer: unknown;
    void pool.request(send(2)).then((x) => (answer = x));
    await clock.advance(1_000);
    expect(answer).toMatchObject({ id: 2, error: { code: RpcErrorCode.METHOD_NOT_FOUND } });
    await clock.advance(5_000);
    // The endpoint resolved after the attempt was over: nothing is sent to a then.
    expect(http.requests.map((r) => r.url)).toEqual(['http://b.test/']);
    expect(a.calls.size).toBe(0);
    expect(b.calls.get('eth_sendTransaction')).toBe(1);
  });

  it('a batch holding one write is judged as a write: every request of it gets NOT_RESENT', async () => {
    const received: string[] = [];
    const { clock, pool, b } = twoNodes(hanging(received));
    let answer: JsonRpcResponse[] | undefined;
    void pool.request([read(1), send(2), { jsonrpc: '2.0', method: 'eth_chainId' }]).then((a) => (answer = a));
    await clock.advance(2_000);
    expect(answer).toHaveLength(2);
    expectNotResent(answer![0], 1, /the batch holds eth_sendTransaction, which is not safe/);
    expectNotResent(answer![1], 2, /the batch holds eth_sendTransaction/);
    expect(b.calls.size).toBe(0);
  });

  it('also holds with the monotonic view off', async () => {
    const { pool, b } = twoNodes(async () => ({ status: 503, body: 'busy' }), { consistency: { monotonic: false } });
    expectNotResent(await pool.request(send(3)), 3, /answered HTTP 503/);
    expect(b.calls.size).toBe(0);
  });

  it('follows NodePoolOptions.isRepeatable', async () => {
    const always = twoNodes(async () => ({ status: 500, body: '' }), { isRepeatable: () => true });
    await always.pool.request(send(1));
    expect(always.b.calls.get('eth_sendTransaction')).toBe(1);
    const noCalls = twoNodes(async () => ({ status: 500, body: '' }), { isRepeatable: (m) => m !== 'eth_call' });
    expectNotResent(await noCalls.pool.request(call(2, 'eth_call', [{}])), 2, /answered HTTP 500; eth_call is/);
    expect(noCalls.b.calls.size).toBe(0);
    expect(() => new NodePool({ nodes: [{ name: 'a', http: 'http://a/' }], isRepeatable: 'no' as never })).toThrow(/isRepeatable to be a function/);
  });
});

describe('pool.request still fails reads over', () => {
  it('after a timeout', async () => {
    const { clock, pool } = twoNodes(hanging([]));
    let answer: unknown;
    void pool.request(read(1)).then((a) => (answer = a));
    await clock.advance(2_000);
    expect(answer).toEqual({ jsonrpc: '2.0', id: 1, result: '0x2' });
  });

  it('after a 500 and after a broken connection; eth_sendRawTransaction counts as a read', async () => {
    const { pool } = twoNodes(async () => ({ status: 500, body: '' }));
    await expect(pool.request(read(1))).resolves.toMatchObject({ result: '0x2' });
    const a = new FakeNode({ name: 'a', head: 100 });
    const reset = twoNodes(a.http);
    reset.http.fail('http://a.test/k3y/', 'reset-after-send');
    await reset.pool.request(call(2, 'eth_sendRawTransaction', ['0x00']));
    expect(reset.b.calls.get('eth_sendRawTransaction')).toBe(1);
    // b answers "method not found" (not this node), so a, whose connection broke mid-way, is asked
    // once more on a new connection (a read: see beyondCandidates.test.ts).
    expect(a.calls.get('eth_sendRawTransaction')).toBe(2);
  });
});

describe("a node's own JSON-RPC error sent with a non-2xx status", () => {
  const nodeError = (message: string, status = 500): FakeHttpHandler => async () => ({
    status,
    body: JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32000, message } }),
  });

  it('reaches the client for a write, under its id, and the write is not resent', async () => {
    const { pool, b } = twoNodes(nodeError('nonce too low'));
    await expect(pool.request(send(9))).resolves.toEqual({ jsonrpc: '2.0', id: 9, error: { code: -32000, message: 'nonce too low' } });
    expect(b.calls.size).toBe(0);
  });

  it('for a read, another node is tried first; its answer wins', async () => {
    const { pool } = twoNodes(nodeError('header not found'));
    await expect(pool.request(read(1))).resolves.toEqual({ jsonrpc: '2.0', id: 1, result: '0x2' });
  });

  it('for a read, when every node fails, the last node error is the answer (not UPSTREAM_UNAVAILABLE)', async () => {
    const clock = new FakeClock();
    const http = new FakeHttpTransport().route('http://a.test/', nodeError('from a')).route('http://b.test/', nodeError('rate limited', 429));
    const pool = new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }, { name: 'b', http: 'http://b.test/' }], clock, httpTransport: http });
    allHealthy(pool);
    await expect(pool.request(read(4))).resolves.toEqual({ jsonrpc: '2.0', id: 4, error: { code: -32000, message: 'rate limited' } });
  });

  it("a batch answered with one error object gives that error to each of the batch's requests", async () => {
    const { pool } = twoNodes(nodeError('batch too large', 400), { nodes: [{ name: 'a', http: 'http://a.test/k3y/' }] });
    await expect(pool.request([read(1), read(2)])).resolves.toEqual([
      { jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'batch too large' } },
      { jsonrpc: '2.0', id: 2, error: { code: -32000, message: 'batch too large' } },
    ]);
  });

  it('a body that is not a JSON-RPC error is still a failure', async () => {
    const { pool, clock } = twoNodes(async () => ({ status: 500, body: '{"error":"oops"}' }), { nodes: [{ name: 'a', http: 'http://a.test/k3y/' }] });
    const failing = pool.request(read(1)).catch((e: unknown) => e);
    await clock.advance(500); // asked three times, 250 ms apart (http.retryDelayMs)
    expect(await failing).toMatchObject({ code: 'ERR_UPSTREAM_UNAVAILABLE' });
  });
});
