// Found in review: pool.request() passed a node's batch answer on as it came, so a node that
// answered one request twice (or a request nobody sent) gave the caller two answers under one id:
// exactly-once answers held for the proxy's HTTP clients (serveHttp keeps the first) but not for an
// app that calls pool.request() itself.
import { describe, expect, it } from 'vitest';
import { FakeClock, FakeHttpTransport, type FakeHttpHandler } from '../../src/testing/index.js';
import { NodePool } from '../../src/index.js';

const rpc = (id: number | string, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, id, method, params });

function poolOver(answer: (payload: Array<{ id: unknown }>) => unknown[]): NodePool {
  const handler: FakeHttpHandler = async (body) => ({ status: 200, body: JSON.stringify(answer(JSON.parse(body) as Array<{ id: unknown }>)) });
  return new NodePool({
    nodes: [{ name: 'a', http: 'http://a.test/' }],
    clock: new FakeClock(),
    httpTransport: new FakeHttpTransport().route('http://a.test/', handler),
  });
}

describe("pool.request() and a node's batch answer", () => {
  it('gives at most one answer per request: a second answer under one id, or one to no request, is left out', async () => {
    const pool = poolOver((payload) => [
      ...payload.map((r) => ({ jsonrpc: '2.0', id: r.id, result: `first ${String(r.id)}` })),
      { jsonrpc: '2.0', id: 1, result: 'again 1' },
      { jsonrpc: '2.0', id: 'x', result: 'to nobody' },
    ]);
    const answers = await pool.request([rpc(1, 'eth_chainId'), rpc('b', 'eth_chainId')]);
    expect(answers).toEqual([
      { jsonrpc: '2.0', id: 1, result: 'first 1' },
      { jsonrpc: '2.0', id: 'b', result: 'first b' },
    ]);
    pool.close();
  });

  it('keeps one answer per request where the batch repeats an id, and the error a node gives under id null', async () => {
    const pool = poolOver((payload) => [
      ...payload.map((r, i) => ({ jsonrpc: '2.0', id: r.id, result: `answer ${i}` })),
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request' } },
    ]);
    const answers = await pool.request([rpc(7, 'eth_chainId'), rpc(7, 'net_version')]);
    expect(answers).toEqual([
      { jsonrpc: '2.0', id: 7, result: 'answer 0' },
      { jsonrpc: '2.0', id: 7, result: 'answer 1' },
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'invalid request' } },
    ]);
    pool.close();
  });
});
