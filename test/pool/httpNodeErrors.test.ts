import { describe, expect, it } from 'vitest';
import { NodePool, classifyNodeError, type JsonRpcRequest, type JsonRpcResponse, type NodePoolOptions } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode } from '../../src/testing/index.js';
import { httpPool } from '../helpers/scriptedHttp.js';

const call = (id: number, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, id, method, params });
const read = (id: number) => call(id, 'eth_getBalance', ['0x0', 'latest']);
const fail = (request: JsonRpcRequest, code: number, message: string): JsonRpcResponse => ({ jsonrpc: '2.0', id: request.id ?? null, error: { code, message } });

/**
 * Nodes a and b: a answers each request with `answer(request)` when it returns one (HTTP 200), else
 * as a FakeNode; b is a FakeNode. Both healthy.
 */
function rig(answer: (request: JsonRpcRequest) => JsonRpcResponse | undefined, options: Partial<NodePoolOptions> = {}) {
  const a = new FakeNode({ name: 'a', balance: 1n, head: 100 });
  const b = new FakeNode({ name: 'b', balance: 2n, head: 100 });
  const http = new FakeHttpTransport()
    .route('http://a.test/', async (body, signal, endpoint) => {
      const payload = JSON.parse(body) as JsonRpcRequest | JsonRpcRequest[];
      const one = (request: JsonRpcRequest) => answer(request) ?? a.answer(request);
      return { status: 200, body: JSON.stringify(Array.isArray(payload) ? payload.map(one) : one(payload)) };
    })
    .route('http://b.test/', b.http);
  const pool = new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }, { name: 'b', http: 'http://b.test/' }], clock: new FakeClock(), httpTransport: http, ...options });
  pool.nodes.forEach((n) => pool.update(n.name, { status: 'healthy', head: 100 }));
  return { pool, a, b, http };
}

describe('"not this node" errors: a read safe to repeat goes to the next node', () => {
  // One message per client family (the full lists: test/pool/nodeErrors.test.ts).
  it.each([
    ['geth', -32000, 'header not found'],
    ['geth', -32000, 'missing trie node 4f53a1 (path ) <nil>'],
    ['reth', -32001, 'block not found: 0x64'],
    ['erigon', -32000, 'old data not available due to pruning'],
    ['Nethermind', -32002, 'No state available for block 0x3f9e…7e'],
    ['Besu', -32000, 'World state unavailable'],
    ['anvil', -32602, 'BlockOutOfRangeError: block height is 99 but requested was 100'],
    ['any', 4444, 'pruned history unavailable'],
  ])('%s: %s %s', async (_client, code, message) => {
    const { pool, b } = rig((request) => fail(request, code, message));
    await expect(pool.request(read(1))).resolves.toEqual({ jsonrpc: '2.0', id: 1, result: '0x2' });
    expect(b.calls.get('eth_getBalance')).toBe(1);
  });

  it('a method the first node does not have is asked of the next', async () => {
    const { pool, http } = rig((request) => fail(request, -32601, `the method ${request.method} does not exist/is not available`));
    // FakeNode b does not have it either: its own error is the answer, after both were asked.
    await expect(pool.request(call(2, 'debug_traceCall', [{}]))).resolves.toEqual({
      jsonrpc: '2.0',
      id: 2,
      error: { code: -32601, message: 'the method debug_traceCall does not exist/is not available' },
    });
    expect(http.requests.map((r) => r.url)).toEqual(['http://a.test/', 'http://b.test/']);
  });

  it("when no node does better, the last node's error is the answer", async () => {
    const clock = new FakeClock();
    const missing = async (body: string) => ({ status: 200, body: JSON.stringify(fail(JSON.parse(body) as JsonRpcRequest, -32000, 'header not found')) });
    const pool = new NodePool({
      nodes: [{ name: 'a', http: 'http://a.test/' }, { name: 'b', http: 'http://b.test/' }],
      clock,
      httpTransport: new FakeHttpTransport().route('http://a.test/', missing).route('http://b.test/', missing),
    });
    await expect(pool.request(read(3))).resolves.toEqual({ jsonrpc: '2.0', id: 3, error: { code: -32000, message: 'header not found' } });
  });

  it('a batch the first node served none of goes to the next; one it served in part is its answer', async () => {
    const none = rig((request) => fail(request, -32000, 'header not found'));
    await expect(none.pool.request([read(1), read(2)])).resolves.toEqual([
      { jsonrpc: '2.0', id: 1, result: '0x2' },
      { jsonrpc: '2.0', id: 2, result: '0x2' },
    ]);
    const part = rig((request) => (request.id === 2 ? fail(request, -32000, 'header not found') : undefined));
    await expect(part.pool.request([read(1), read(2)])).resolves.toEqual([
      { jsonrpc: '2.0', id: 1, result: '0x1' },
      { jsonrpc: '2.0', id: 2, error: { code: -32000, message: 'header not found' } },
    ]);
    expect(part.b.calls.size).toBe(0);
  });

  it('a write gets the error as it is: it is never sent to another node', async () => {
    const { pool, b } = rig((request) => fail(request, -32000, 'header not found'));
    await expect(pool.request(call(4, 'eth_sendTransaction', [{}]))).resolves.toEqual({ jsonrpc: '2.0', id: 4, error: { code: -32000, message: 'header not found' } });
    expect(b.calls.size).toBe(0);
  });
});

describe('real answers are returned as they are', () => {
  it.each([
    [3, 'execution reverted: Ownable: caller is not the owner'],
    [3, 'execution reverted: header not found'],
    [-32000, 'Execution reverted'],
    [-32602, 'invalid argument 0: hex string has length 3, want 40 for common.Address'],
    [-32603, 'Internal error'],
  ])('%s %s', async (code, message) => {
    const { pool, b } = rig((request) => (request.method === 'eth_call' ? fail(request, code, message) : undefined));
    await expect(pool.request(call(5, 'eth_call', [{ to: '0x01' }, 'latest']))).resolves.toEqual({ jsonrpc: '2.0', id: 5, error: { code, message } });
    expect(b.calls.size).toBe(0);
  });
});

describe('NodePoolOptions.classifyError', () => {
  it('extends the default: a provider text of its own is retried, the rest as before', async () => {
    const classifyError: NodePoolOptions['classifyError'] = (error, method) => (/archive node required/.test(error.message) ? 'retry' : classifyNodeError(error, method));
    const custom = rig((request) => fail(request, -32000, 'archive node required for this block'), { classifyError });
    await expect(custom.pool.request(read(1))).resolves.toMatchObject({ result: '0x2' });
    const plain = rig((request) => fail(request, -32000, 'archive node required for this block'));
    await expect(plain.pool.request(read(1))).resolves.toMatchObject({ error: { message: 'archive node required for this block' } });
  });

  it('can keep an error as an answer that the default would retry, and sees the method', async () => {
    const seen: string[] = [];
    const classifyError: NodePoolOptions['classifyError'] = (error, method) => {
      seen.push(method);
      return 'answer';
    };
    const { pool, b } = rig((request) => fail(request, -32000, 'header not found'), { classifyError });
    await expect(pool.request(read(6))).resolves.toMatchObject({ error: { message: 'header not found' } });
    expect(seen).toEqual(['eth_getBalance']);
    expect(b.calls.size).toBe(0);
  });

  it('a classifier that throws or answers nonsense counts as "answer"', async () => {
    const throwing = rig((request) => fail(request, -32000, 'header not found'), {
      classifyError: () => {
        throw new Error('bug');
      },
    });
    await expect(throwing.pool.request(read(7))).resolves.toMatchObject({ error: { message: 'header not found' } });
    const odd = rig((request) => fail(request, -32000, 'header not found'), { classifyError: () => 'maybe' as never });
    await expect(odd.pool.request(read(8))).resolves.toMatchObject({ error: { message: 'header not found' } });
  });
});

describe('a batch answered with one JSON-RPC error object (JSON-RPC 2.0 §6: "batch size too large")', () => {
  const TOO_LARGE = { code: -32600, message: 'batch size too large' };
  const refusing = (status: number, error: object = TOO_LARGE, id: unknown = null) => async () => ({ status, body: JSON.stringify({ jsonrpc: '2.0', id, error }) });
  const batch = [call(1, 'eth_chainId'), call(2, 'eth_blockNumber')];

  it.each([200, 400])('HTTP %i: every request gets the node’s own error, and the node counts as alive', async (status) => {
    const { pool } = httpPool({ a: refusing(status), b: refusing(status) });
    const circuits: string[] = [];
    pool.on('circuit', (e) => circuits.push(`${e.name}:${e.to}`));
    for (let i = 0; i < 3; i++) {
      expect(await pool.request(batch)).toEqual([
        { jsonrpc: '2.0', id: 1, error: TOO_LARGE },
        { jsonrpc: '2.0', id: 2, error: TOO_LARGE },
      ]);
    }
    expect(circuits).toEqual([]);
  });

  it('HTTP 200: a notification in the batch gets none; an id the node wrote in it changes nothing', async () => {
    const { pool } = httpPool({ a: refusing(200, TOO_LARGE, 1) });
    expect(await pool.request([call(1, 'eth_chainId'), { jsonrpc: '2.0', method: 'eth_chainId' }, call(3, 'eth_chainId')])).toEqual([
      { jsonrpc: '2.0', id: 1, error: TOO_LARGE },
      { jsonrpc: '2.0', id: 3, error: TOO_LARGE },
    ]);
  });

  it('HTTP 200: a batch holding a write gets the error, sent to one node (an answer, not NOT_RESENT)', async () => {
    const bodies: string[] = [];
    const { pool } = httpPool({ a: async (body) => (bodies.push(body), refusing(200)()), b: async (body) => (bodies.push(body), refusing(200)()) });
    const answer = await pool.request([read(1), call(2, 'eth_sendTransaction', [{}])]);
    expect(answer).toEqual([
      { jsonrpc: '2.0', id: 1, error: TOO_LARGE },
      { jsonrpc: '2.0', id: 2, error: TOO_LARGE },
    ]);
    expect(bodies).toHaveLength(1);
  });

  it('HTTP 200: judged as any error: "not this node" asks the next node, a rate limit cools the node down', async () => {
    const b = new FakeNode({ name: 'b', balance: 2n, head: 100 });
    const notHere = httpPool({ a: refusing(200, { code: -32000, message: 'header not found' }), b: b.http });
    expect(await notHere.pool.request([read(1), read(2)])).toEqual([
      { jsonrpc: '2.0', id: 1, result: '0x2' },
      { jsonrpc: '2.0', id: 2, result: '0x2' },
    ]);
    const limited = httpPool({ a: refusing(200, { code: -32005, message: 'daily request count exceeded, request rate limited' }), b: b.http });
    expect(await limited.pool.request([read(1), read(2)])).toMatchObject([{ result: '0x2' }, { result: '0x2' }]);
    expect(limited.pool.health('a').rateLimitedUntil).toBeGreaterThan(limited.clock.now());
  });

  it('HTTP 200: one result object for a batch is still no answer to it', async () => {
    const b = new FakeNode({ name: 'b', balance: 2n, head: 100 });
    const { pool } = httpPool({ a: async () => ({ status: 200, body: '{"jsonrpc":"2.0","id":null,"result":"0x1"}' }), b: b.http });
    expect(await pool.request([read(1)])).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x2' }]);
  });
});
