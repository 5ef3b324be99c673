import { describe, expect, it } from 'vitest';
import { NodePool, RpcErrorCode, SteadyRpcError } from '../../src/index.js';
import { FakeClock, FakeHttpTransport } from '../../src/testing/index.js';
import { fakeCluster, outcome } from '../helpers/pool.js';

const rpc = (id: number, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, id, method, params });

/** Two healthy nodes that both refuse connections: a restart of both, or a rolling deploy caught at its worst. */
function bothDown(options: Parameters<typeof fakeCluster>[1] = {}) {
  const c = fakeCluster([{ name: 'a' }, { name: 'b' }], options);
  c.pool.update('a', { status: 'healthy', head: 100 });
  c.pool.update('b', { status: 'healthy', head: 100 });
  c.http.fail('http://a.test/', 'refuse').fail('http://b.test/', 'refuse');
  return c;
}

/**
 * Once every node worth asking has failed a request, and attempts are left (`http.maxAttempts`),
 * the pool waits `http.retryDelayMs` and asks again, best node first: nodes that refused or broke
 * the connection a moment ago may be back (found by the chaos suite's HTTP clients: the last
 * "All 2 attempts failed" answers came when both nodes were down for a few milliseconds).
 */
describe('pool.request() pauses, then asks again, when every node failed it (http.retryDelayMs)', () => {
  it('a read is answered by the first node back after the pause', async () => {
    const c = bothDown({ http: { maxAttempts: 4 } });
    const read = outcome(c.pool.request(rpc(1, 'eth_blockNumber')));
    await c.clock.advance(0);
    expect(c.http.requests.map((r) => r.url)).toEqual(['http://a.test/', 'http://b.test/']);
    expect(read.done).toBe(false);
    c.http.restore('http://b.test/');
    await c.clock.advance(249);
    expect(read.done).toBe(false);
    await c.clock.advance(1);
    expect(read.value).toEqual({ jsonrpc: '2.0', id: 1, result: '0x64' });
    // Best first (a, still refusing), then b.
    expect(c.http.requests.map((r) => r.url)).toEqual(['http://a.test/', 'http://b.test/', 'http://a.test/', 'http://b.test/']);
    expect(c.clock.pendingTimers).toBe(0);
  });

  it.each([
    ['a read', {}],
    ['a hedged read', { hedge: { delayMs: 50 } }],
  ])('with the defaults (3 attempts), two nodes down: %s asks a and b, pauses, then asks a (the best) once more', async (_, options) => {
    const c = bothDown(options);
    const read = outcome(c.pool.request(rpc(1, 'eth_blockNumber')));
    await c.clock.advance(0);
    c.http.restore('http://a.test/');
    await c.clock.advance(250);
    expect(read.value).toEqual({ jsonrpc: '2.0', id: 1, result: '0x64' });
    expect(c.http.requests.map((r) => r.url)).toEqual(['http://a.test/', 'http://b.test/', 'http://a.test/']);
    expect(c.clock.pendingTimers).toBe(0);
  });

  it('after a refusal, the last attempt is kept for the round after the pause, not spent on a broken node once more', async () => {
    // Found by the chaos suite: b (healthy) refused for a moment as a was cut under a request.
    const c = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    c.pool.update('a', { status: 'unhealthy', head: 100 });
    c.pool.update('b', { status: 'healthy', head: 100 });
    c.http.fail('http://b.test/', 'refuse').fail('http://a.test/', 'reset-after-send');
    const read = outcome(c.pool.request(rpc(1, 'eth_blockNumber')));
    await c.clock.advance(0);
    expect(c.http.requests.map((r) => r.url)).toEqual(['http://b.test/', 'http://a.test/']);
    c.http.restore('http://b.test/');
    await c.clock.advance(250);
    expect(read.value).toEqual({ jsonrpc: '2.0', id: 1, result: '0x64' });
    expect(c.http.requests.map((r) => r.url)).toEqual(['http://b.test/', 'http://a.test/', 'http://b.test/']);
  });

  it('within http.maxAttempts: one node refusing is asked three times, 250 ms apart, then the request fails', async () => {
    const c = fakeCluster([{ name: 'a' }]);
    c.pool.update('a', { status: 'healthy', head: 100 });
    c.http.fail('http://a.test/', 'refuse');
    const read = outcome(c.pool.request(rpc(1, 'eth_blockNumber')));
    await c.clock.advance(499);
    expect(read.done).toBe(false);
    await c.clock.advance(1);
    expect(read.value).toMatchObject({ code: 'ERR_UPSTREAM_UNAVAILABLE', message: expect.stringMatching(/^All 3 attempts failed/) });
    expect(c.http.requests).toHaveLength(3);
    expect(c.clock.pendingTimers).toBe(0);
  });

  it('retryDelayMs: 0 fails at once, as before', async () => {
    const c = bothDown({ http: { retryDelayMs: 0 } });
    await expect(c.pool.request(rpc(1, 'eth_blockNumber'))).rejects.toMatchObject({ code: 'ERR_UPSTREAM_UNAVAILABLE', message: expect.stringMatching(/^All 2 attempts failed/) });
    expect(c.clock.pendingTimers).toBe(0);
  });

  it('a write every node refused (it never left) is sent after the pause, to one node', async () => {
    const c = bothDown();
    const write = outcome(c.pool.request(rpc(1, 'eth_sendTransaction', [{}])));
    await c.clock.advance(0);
    c.http.restore('http://a.test/').restore('http://b.test/');
    await c.clock.advance(250);
    expect(write.value).toMatchObject({ jsonrpc: '2.0', id: 1 });
    expect(write.value).not.toHaveProperty('error.code', RpcErrorCode.NOT_RESENT);
    expect(c.nodes.a!.calls.get('eth_sendTransaction')).toBe(1);
    expect(c.nodes.b!.calls.get('eth_sendTransaction') ?? 0).toBe(0);
  });

  it('a write that may have reached a node is answered NOT_RESENT at once: no pause, no other node', async () => {
    const c = bothDown();
    c.http.fail('http://a.test/', 'reset-after-send');
    expect(await c.pool.request(rpc(1, 'eth_sendTransaction', [{}]))).toMatchObject({ error: { code: RpcErrorCode.NOT_RESENT, data: { node: 'a', reason: 'connection' } } });
    expect(c.http.requests.map((r) => r.url)).toEqual(['http://a.test/']);
    expect(c.clock.pendingTimers).toBe(0);
  });

  it('no pause when a node answered, even with "not this node": its answer is the answer', async () => {
    const c = bothDown();
    c.http.route('http://b.test/', async (body) => ({ status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: JSON.parse(body).id, error: { code: -32000, message: 'header not found' } }) }));
    c.http.restore('http://b.test/');
    expect(await c.pool.request(rpc(1, 'eth_getBlockByNumber', ['0x64', false]))).toMatchObject({ error: { message: 'header not found' } });
    expect(c.http.requests.map((r) => r.url)).toEqual(['http://a.test/', 'http://b.test/']);
  });

  it.each([
    ['HTTP 503', true, { status: 503, body: 'Service Unavailable' }],
    ['HTTP 502 from a proxy in front of it', true, { status: 502, body: '<html>Bad Gateway</html>' }],
    ['HTTP 408', true, { status: 408, body: 'Request Timeout' }],
    ['HTTP 404 with no JSON-RPC body', false, { status: 404, body: 'Not Found' }],
    ['HTTP 401 with no JSON-RPC body', false, { status: 401, body: 'Unauthorized' }],
    ['HTTP 200 with a body that is no JSON-RPC answer', false, { status: 200, body: '<html>maintenance</html>' }],
  ])('every node answering %s: pauses and asks again: %s', async (_, pauses, reply) => {
    const c = bothDown();
    c.http.restore('http://a.test/').restore('http://b.test/');
    const broken = async () => reply;
    c.http.route('http://a.test/', broken).route('http://b.test/', broken);
    const read = outcome(c.pool.request(rpc(1, 'eth_blockNumber')));
    await c.clock.advance(0);
    expect(read.done).toBe(!pauses);
    await c.clock.advance(250);
    expect(read.value).toMatchObject({ code: 'ERR_UPSTREAM_UNAVAILABLE' });
    expect(c.http.requests.map((r) => r.url)).toEqual(pauses ? ['http://a.test/', 'http://b.test/', 'http://a.test/'] : ['http://a.test/', 'http://b.test/']);
    expect(c.clock.pendingTimers).toBe(0);
  });

  it('nor when no node was asked (every one cooling down after a rate limit): that error says when the first is back', async () => {
    const c = bothDown();
    c.http.restore('http://a.test/').restore('http://b.test/');
    const limited = async () => ({ status: 429, body: 'slow down', retryAfter: '5' });
    c.http.route('http://a.test/', limited).route('http://b.test/', limited);
    await c.pool.request(rpc(1, 'eth_blockNumber')).catch(() => undefined);
    c.http.requests.length = 0;
    await expect(c.pool.request(rpc(2, 'eth_blockNumber'))).rejects.toMatchObject({ message: expect.stringMatching(/cooling down after a rate limit/) });
    expect(c.http.requests).toEqual([]);
  });

  it('close() during the pause ends the request at once (ERR_CLOSED), and leaves no timer', async () => {
    const c = bothDown();
    const read = outcome(c.pool.request(rpc(1, 'eth_blockNumber')));
    await c.clock.advance(100);
    c.pool.close();
    await c.clock.advance(0);
    expect(read.value).toBeInstanceOf(SteadyRpcError);
    expect(read.value).toMatchObject({ code: 'ERR_CLOSED' });
    expect(c.clock.pendingTimers).toBe(0);
    expect(c.http.requests).toHaveLength(2);
  });

  it("the caller's abort during the pause ends it with the abort's reason, and leaves no timer", async () => {
    const c = bothDown();
    const controller = new AbortController();
    const read = outcome(c.pool.request(rpc(1, 'eth_blockNumber'), { signal: controller.signal }));
    await c.clock.advance(100);
    controller.abort(new Error('caller gave up'));
    await c.clock.advance(0);
    expect(read.value).toMatchObject({ message: 'caller gave up' });
    expect(c.clock.pendingTimers).toBe(0);
    await c.clock.advance(1_000);
    expect(c.http.requests).toHaveLength(2);
  });

  it('a hedged read closed during the pause ends at once, with no timer left', async () => {
    const c = bothDown({ hedge: { delayMs: 50 } });
    const read = outcome(c.pool.request(rpc(1, 'eth_blockNumber')));
    await c.clock.advance(100);
    c.pool.close();
    await c.clock.advance(0);
    expect(read.value).toMatchObject({ code: 'ERR_CLOSED' });
    expect(c.clock.pendingTimers).toBe(0);
  });

  it('rejects a negative or non-finite retryDelayMs', () => {
    for (const retryDelayMs of [-1, Number.NaN, Infinity]) {
      expect(() => new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }], clock: new FakeClock(), httpTransport: new FakeHttpTransport(), http: { retryDelayMs } })).toThrow(
        /http\.retryDelayMs/,
      );
    }
  });
});
