import { describe, expect, it } from 'vitest';
import { NodePool, RpcErrorCode, serveHttp, type HttpAnswer } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, type FakeHttpHandler } from '../../src/testing/index.js';
import { fakeCluster } from '../helpers/pool.js';

const rpc = (id: unknown, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0', id, method, params });
const text = (value: unknown) => JSON.stringify(value);

/** Nodes a and b (balances 0x1 and 0x2), healthy. */
function cluster() {
  const c = fakeCluster([{ name: 'a' }, { name: 'b' }], { http: { attemptTimeoutMs: 1_000 } });
  c.pool.nodes.forEach((n) => c.pool.update(n.name, { status: 'healthy', head: 100 }));
  return c;
}

/** One node served by `handler`. */
function oneNode(handler: FakeHttpHandler) {
  const clock = new FakeClock();
  const http = new FakeHttpTransport().route('http://a.test/', handler);
  const pool = new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }], clock, httpTransport: http });
  pool.update('a', { status: 'healthy', head: 100 });
  return { clock, http, pool };
}

const json = (answer: HttpAnswer) => JSON.parse(answer.body) as any;

describe('serveHttp answers', () => {
  it('a request, under its own id, with the status, headers and outcome a host needs', async () => {
    const { pool } = cluster();
    const answer = await serveHttp(pool, text(rpc('x', 'eth_getBalance', ['0x0', 'latest'])));
    expect(answer).toEqual({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":"x","result":"0x1"}',
      outcome: 'answered',
    });
  });

  it('a batch, in order, sent upstream under ids 0..n-1 so duplicate client ids never collide', async () => {
    const { pool, http } = cluster();
    const answer = await serveHttp(pool, text([rpc(1, 'eth_getBalance', ['0x0', 'latest']), rpc(1, 'eth_chainId'), rpc('1', 'eth_blockNumber')]));
    expect(json(answer)).toEqual([
      { jsonrpc: '2.0', id: 1, result: '0x1' },
      { jsonrpc: '2.0', id: 1, result: '0x1' },
      { jsonrpc: '2.0', id: '1', result: '0x64' },
    ]);
    expect(JSON.parse(http.requests.at(-1)!.body).map((r: { id: unknown }) => r.id)).toEqual([0, 1, 2]);
  });

  it('ids above 2^53 exactly as written, distinct ones distinct', async () => {
    const { pool } = cluster();
    const body = '[{"jsonrpc":"2.0","id":9007199254740993,"method":"eth_chainId"},{"jsonrpc":"2.0","id":9007199254740992,"method":"eth_chainId"},{"jsonrpc":"2.0","id":1e400,"method":"eth_chainId"}]';
    const answer = await serveHttp(pool, body);
    expect(answer.body).toBe(
      '[{"jsonrpc":"2.0","id":9007199254740993,"result":"0x1"},{"jsonrpc":"2.0","id":9007199254740992,"result":"0x1"},{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid request: id must be a string, a number or null"}}]',
    );
    const single = await serveHttp(pool, '{"jsonrpc":"2.0","id":-12345678901234567890123,"method":"eth_chainId"}');
    expect(single.body).toBe('{"jsonrpc":"2.0","id":-12345678901234567890123,"result":"0x1"}');
  });

  it('ids of every valid kind as written: strings, 0, negative, fractional, huge, null, repeated; notifications get nothing', async () => {
    const { pool } = cluster();
    const ids = ['"x"', '0', '-7', '1.50', '0.1000000000000000055511151231257827', '123456789012345678901234567890', 'null', '"x"'];
    const body = `[${ids.map((id) => `{"jsonrpc":"2.0","id":${id},"method":"eth_chainId"}`).join(',')},{"jsonrpc":"2.0","method":"eth_chainId"}]`;
    const answer = await serveHttp(pool, body);
    expect(answer.body).toBe(`[${ids.map((id) => `{"jsonrpc":"2.0","id":${id},"result":"0x1"}`).join(',')}]`);
  });

  it('a whole number written with a fraction, an exponent or a minus zero comes back in plain digits: the same number (docs/guides/http.md)', async () => {
    // Telling 1 from 1.0 would take the id's text, which JSON.parse does not keep: finding it means
    // scanning every frame for the commonest ids, which sessions and serveHttp do not.
    const { pool } = cluster();
    for (const [written, answered] of [['1.0', '1'], ['1e2', '100'], ['1.5E1', '15'], ['-0', '0'], ['1.00000000000000001', '1']]) {
      const answer = await serveHttp(pool, `{"jsonrpc":"2.0","id":${written},"method":"eth_chainId"}`);
      expect(answer.body).toBe(`{"jsonrpc":"2.0","id":${answered},"result":"0x1"}`);
      expect(JSON.parse(answered!)).toBe(JSON.parse(written!) + 0);
    }
  });

  it('an id that is an object, an empty batch, a batch of notifications only, a batch of invalid items', async () => {
    const { pool } = cluster();
    expect(json(await serveHttp(pool, '{"jsonrpc":"2.0","id":{"a":1},"method":"eth_chainId"}'))).toMatchObject({ id: null, error: { code: -32600 } });
    expect(json(await serveHttp(pool, '[]'))).toMatchObject({ id: null, error: { code: -32600 } });
    expect(await serveHttp(pool, '[{"jsonrpc":"2.0","method":"eth_chainId"},{"jsonrpc":"2.0","method":"eth_chainId"}]')).toMatchObject({ status: 204, body: '' });
    expect(json(await serveHttp(pool, '[1,2]'))).toEqual([
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid request: expected an object' } },
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid request: expected an object' } },
    ]);
  });

  it('one bad item of a batch with its error only; the others are served', async () => {
    const { pool } = cluster();
    const answer = await serveHttp(pool, text([rpc(1, 'eth_chainId'), { jsonrpc: '2.0', id: 2, method: 7 }, 'junk', rpc(3, 'eth_blockNumber')]));
    expect(json(answer)).toEqual([
      { jsonrpc: '2.0', id: 1, result: '0x1' },
      { jsonrpc: '2.0', id: 2, error: { code: -32600, message: 'Invalid request: method must be a non-empty string' } },
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid request: expected an object' } },
      { jsonrpc: '2.0', id: 3, result: '0x64' },
    ]);
    expect(answer.outcome).toBe('answered');
  });

  it('params nested too deep with -32600, and never sends them upstream', async () => {
    const { pool, http } = cluster();
    const deep = `{"jsonrpc":"2.0","id":4,"method":"eth_call","params":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const answer = await serveHttp(pool, deep);
    expect(answer.status).toBe(200);
    expect(json(answer)).toEqual({ jsonrpc: '2.0', id: 4, error: { code: -32600, message: 'Invalid request: params nest deeper than 64 levels' } });
    expect(answer.outcome).toBe('invalid');
    expect(http.requests).toHaveLength(0);
  });

  it('nothing to a notification: 204 with no body, and the node still gets it', async () => {
    const { pool, nodes } = cluster();
    await expect(serveHttp(pool, text({ jsonrpc: '2.0', method: 'eth_chainId' }))).resolves.toMatchObject({ status: 204, body: '', headers: {} });
    await expect(serveHttp(pool, text([{ jsonrpc: '2.0', method: 'eth_chainId' }, { jsonrpc: '2.0', method: 'eth_blockNumber' }]))).resolves.toMatchObject({ status: 204, body: '' });
    expect(nodes.a!.calls.get('eth_chainId')).toBe(2);
    const mixed = await serveHttp(pool, text([{ jsonrpc: '2.0', method: 'eth_chainId' }, rpc(9, 'eth_blockNumber')]));
    expect(json(mixed)).toEqual([{ jsonrpc: '2.0', id: 9, result: '0x64' }]);
  });

  it('an empty batch, an oversized batch and bad JSON as the socket path does', async () => {
    const { pool, http } = cluster();
    await expect(serveHttp(pool, '[]').then(json)).resolves.toEqual({ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid request: empty batch' } });
    const big = await serveHttp(pool, text(Array.from({ length: 11 }, (_, i) => rpc(i, 'eth_chainId'))), { maxBatchSize: 10 });
    expect(json(big)).toMatchObject({ id: null, error: { code: -32600, data: { maxBatchSize: 10 } } });
    expect(big.outcome).toBe('invalid');
    const bad = await serveHttp(pool, '{"jsonrpc":');
    expect(bad).toMatchObject({ status: 200, outcome: 'parse-error' });
    expect(json(bad)).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error: invalid JSON' } });
    expect(http.requests).toHaveLength(0);
  });

  it('a body over the limit: 413, FRAME_TOO_LARGE, connection: close', async () => {
    const { pool } = cluster();
    const answer = await serveHttp(pool, text(rpc(1, 'eth_call', ['x'.repeat(200)])), { maxBodyBytes: 100 });
    expect(answer).toMatchObject({ status: 413, outcome: 'too-large', headers: { connection: 'close' } });
    expect(json(answer)).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32054, message: 'Frame too large: the limit is 100 bytes', data: { maxFrameBytes: 100 } } });
  });
});

describe('serveHttp and the nodes', () => {
  it("passes a node's own error through, not -32050 (a 500 with a JSON-RPC body)", async () => {
    const { pool } = oneNode(async () => ({ status: 500, body: '{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"execution reverted","data":"0x08c379a0"}}' }));
    const answer = await serveHttp(pool, '{"jsonrpc":"2.0","id":9007199254740993,"method":"eth_call","params":[{}]}');
    expect(answer.body).toBe('{"jsonrpc":"2.0","id":9007199254740993,"error":{"code":-32000,"message":"execution reverted","data":"0x08c379a0"}}');
    expect(answer.outcome).toBe('answered');
  });

  it('never sends a write to a second node: NOT_RESENT under the exact id', async () => {
    const { pool, nodes, http } = cluster();
    http.fail('http://a.test/', 'reset-after-send');
    const answer = await serveHttp(pool, '{"jsonrpc":"2.0","id":9007199254740993,"method":"eth_sendTransaction","params":[{}]}');
    expect(answer.body.startsWith('{"jsonrpc":"2.0","id":9007199254740993,"error":{"code":-32053,"message":"Node \\"a\\" dropped the connection')).toBe(true);
    expect(answer.outcome).toBe('not-resent');
    expect(nodes.a!.calls.get('eth_sendTransaction')).toBe(1);
    expect(nodes.b!.calls.get('eth_sendTransaction')).toBeUndefined();
  });

  it('answers every request of a body with UPSTREAM_UNAVAILABLE when no node can take it, with no URL', async () => {
    const { pool, nodes, clock } = cluster();
    nodes.a!.setMode('down');
    nodes.b!.setMode('http-error');
    const serving = serveHttp(pool, text([rpc(1, 'eth_chainId'), rpc(2, 'eth_chainId'), { jsonrpc: '2.0', method: 'eth_chainId' }]));
    await clock.advance(250); // a and b, the pause (http.retryDelayMs), a again
    const answer = await serving;
    expect(answer.outcome).toBe('unavailable');
    expect(json(answer)).toEqual([1, 2].map((id) => ({ jsonrpc: '2.0', id, error: { code: RpcErrorCode.UPSTREAM_UNAVAILABLE, message: 'All 3 attempts failed' } })));
    expect(answer.body).not.toMatch(/\.test/);
  });

  it("passes on a node's one error for a whole batch (HTTP 200, JSON-RPC 2.0 §6) under each client id, not -32050", async () => {
    const { pool } = oneNode(async () => ({ status: 200, body: '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"batch size too large"}}' }));
    const answer = await serveHttp(pool, text([rpc(1, 'eth_chainId'), rpc('two', 'eth_blockNumber')]));
    expect(json(answer)).toEqual([
      { jsonrpc: '2.0', id: 1, error: { code: -32600, message: 'batch size too large' } },
      { jsonrpc: '2.0', id: 'two', error: { code: -32600, message: 'batch size too large' } },
    ]);
    expect(answer.outcome).toBe('answered');
  });

  it('answers each request once and in order whatever the node sends back: fewer, extra, repeated, unknown-id and reordered items', async () => {
    const item = (id: number, result: string) => ({ jsonrpc: '2.0', id, result });
    const { pool } = oneNode(async () => ({ status: 200, body: text([item(2, 'first-2'), item(2, 'again-2'), item(99, 'stray'), item(0, 'r0')]) }));
    const answer = await serveHttp(pool, text([rpc('p', 'eth_chainId'), rpc('q', 'eth_chainId'), rpc('r', 'eth_chainId')]));
    expect(json(answer)).toEqual([
      { jsonrpc: '2.0', id: 'p', result: 'r0' },
      { jsonrpc: '2.0', id: 'q', error: { code: -32603, message: "The node's answer to the batch left this request out" } },
      { jsonrpc: '2.0', id: 'r', result: 'first-2' },
    ]);
  });

  it('answers a request a node left out of its batch answer, and keeps only result or error of the others', async () => {
    const { pool } = oneNode(async () => ({ status: 200, body: '[{"jsonrpc":"2.0","id":1,"result":"0x1","extra":"x"},{"jsonrpc":"2.0","id":7,"result":"0x9"},{"id":0}]' }));
    const answer = await serveHttp(pool, text([rpc('a', 'eth_chainId'), rpc('b', 'eth_chainId'), rpc('c', 'eth_chainId')]));
    expect(json(answer)).toEqual([
      { jsonrpc: '2.0', id: 'a', error: { code: -32603, message: "The node's answer to this request is not a JSON-RPC answer" } },
      { jsonrpc: '2.0', id: 'b', result: '0x1' },
      { jsonrpc: '2.0', id: 'c', error: { code: -32603, message: "The node's answer to the batch left this request out" } },
    ]);
  });

  it('answers a result too deep to serialise with an error, and does not throw', async () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const { pool } = oneNode(async () => ({ status: 200, body: `{"jsonrpc":"2.0","id":0,"result":${deep}}` }));
    const answer = await serveHttp(pool, text(rpc(1, 'eth_call')));
    expect(json(answer)).toMatchObject({ id: 1, error: { code: -32603 } });
  });

  it('stops when the signal aborts (the client went away)', async () => {
    const { pool, nodes } = cluster();
    nodes.a!.setMode('stall');
    const controller = new AbortController();
    const pending = serveHttp(pool, text(rpc(1, 'eth_chainId')), { signal: controller.signal });
    controller.abort();
    await expect(pending).resolves.toMatchObject({ status: 200, outcome: 'aborted' });
  });

  it('rejects invalid options precisely', async () => {
    const { pool } = cluster();
    await expect(serveHttp(pool, '{}', { maxBodyBytes: 0 })).rejects.toThrow('Expected maxBodyBytes to be an integer >= 1, got 0');
    await expect(serveHttp(pool, '{}', { maxBatchSize: 1.5 })).rejects.toThrow('Expected maxBatchSize to be an integer >= 1, got 1.5');
  });

  // Found in review: an option given as `undefined` (as a host forwarding its own optional settings
  // writes it) threw ERR_CONFIG, where serveSocket takes it as left out.
  it('takes an option set to undefined as left out: its default holds', async () => {
    const { pool } = cluster();
    const big = await serveHttp(pool, text(Array.from({ length: 1_001 }, (_, i) => rpc(i, 'eth_chainId'))), { maxBatchSize: undefined, maxBodyBytes: undefined });
    expect(json(big)).toMatchObject({ id: null, error: { code: -32600, data: { maxBatchSize: 1_000 } } });
  });
});
