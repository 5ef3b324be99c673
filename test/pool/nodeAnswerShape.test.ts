import { brotliCompressSync, deflateRawSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { NodePool, RpcErrorCode } from '../../src/index.js';
import type { HttpTransport } from '../../src/transport/HttpTransport.js';
import { FetchHttpTransport } from '../../src/transport/HttpTransport.js';
import { NodeHttpTransport } from '../../src/transport/NodeHttpTransport.js';
import { startHttpServer, type ServerAnswer } from '../helpers/localServers.js';

/**
 * What a node's 2xx reply must be for the pool to take it as the answer to a single request: a
 * JSON-RPC response to that request. Anything else is a bad answer: a write gets NOT_RESENT
 * `bad-answer` (docs/guides/http.md), a read goes to the next node. And a body whose
 * Content-Encoding NodeHttpTransport undoes as fetch does, or cannot undo (a bad answer too).
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A loopback HTTP node answering each request body with `respond`; `bodies` are the requests it got. */
async function startNode(respond: (body: string) => ServerAnswer): Promise<{ url: string; bodies: string[] }> {
  const server = await startHttpServer((request) => respond(request.body), cleanups);
  return {
    url: server.url,
    get bodies() {
      return server.received.map((r) => r.body);
    },
  };
}

/** A node answering every request with its own id and result `0x10`. */
const goodNode = () => startNode((body) => ({ status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: (JSON.parse(body) as { id: unknown }).id, result: '0x10' }) }));

async function twoNodes(respondA: (body: string) => ServerAnswer): Promise<{ pool: NodePool; a: { bodies: string[] }; b: { bodies: string[] } }> {
  const a = await startNode(respondA);
  const b = await goodNode();
  // No breaker: `a` fails on purpose in every test.
  const pool = new NodePool({ nodes: [{ name: 'a', http: a.url }, { name: 'b', http: b.url }], breaker: false });
  cleanups.push(() => pool.close());
  expect(pool.httpTransport).toBeInstanceOf(NodeHttpTransport);
  return { pool, a, b };
}

const write = (id: number) => ({ jsonrpc: '2.0' as const, id, method: 'eth_sendTransaction', params: [{ from: '0x0000000000000000000000000000000000000001', value: '0x1' }] });
const read = (id: number) => ({ jsonrpc: '2.0' as const, id, method: 'eth_call', params: [{ to: '0x0000000000000000000000000000000000000001' }, 'latest'] });
const badAnswerTo = (id: number) => ({
  jsonrpc: '2.0',
  id,
  error: {
    code: RpcErrorCode.NOT_RESENT,
    message: 'Node "a" answered with something that is not a JSON-RPC answer; eth_sendTransaction is not safe to send twice, so it was not sent to another node',
    data: { node: 'a', reason: 'bad-answer' },
  },
});

describe('a 2xx reply that is not a JSON-RPC answer to the request', () => {
  const notAnswers: readonly [string, string][] = [
    // No body is the answer to notifications only (test/pool/httpNotifications.test.ts), not to a call.
    ['an empty body', ''],
    ['an empty object', '{}'],
    ['an object of other keys', '{"foo":1}'],
    ['the answer to another request', '{"jsonrpc":"2.0","id":99,"result":"0x1"}'],
    ['a result and an error', '{"jsonrpc":"2.0","id":5,"result":"0x1","error":{"code":-32000,"message":"x"}}'],
    ['an error that is not an error object', '{"jsonrpc":"2.0","id":5,"error":"boom"}'],
    ['a notification', '{"jsonrpc":"2.0","id":5,"method":"eth_subscription","result":"0x1"}'],
  ];

  it.each(notAnswers)('%s: a write gets NOT_RESENT "bad-answer", and no other node is asked', async (_, text) => {
    const { pool, a, b } = await twoNodes(() => ({ status: 200, body: text }));
    expect(await pool.request(write(5))).toEqual(badAnswerTo(5));
    expect([a.bodies.length, b.bodies.length]).toEqual([1, 0]);
  });

  it.each(notAnswers)('%s: a read is asked of the next node', async (_, text) => {
    const { pool, a, b } = await twoNodes(() => ({ status: 200, body: text }));
    expect(await pool.request(read(5))).toEqual({ jsonrpc: '2.0', id: 5, result: '0x10' });
    expect([a.bodies.length, b.bodies.length]).toEqual([1, 1]);
  });

  it('an error under id null (as some nodes write it) is the answer, under the request id', async () => {
    const error = { code: 3, message: 'execution reverted', data: '0x08c379a0' };
    const { pool, b } = await twoNodes(() => ({ status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: null, error }) }));
    expect(await pool.request(read(5))).toEqual({ jsonrpc: '2.0', id: 5, error });
    expect(b.bodies).toEqual([]);
  });
});

describe('ids through pool.request()', () => {
  it('string, 0, negative, 2^64, fractional and null ids come back as sent', async () => {
    const { url } = await goodNode();
    const pool = new NodePool({ nodes: [{ name: 'g', http: url }], consistency: { monotonic: false } });
    cleanups.push(() => pool.close());
    for (const id of ['s', 0, -5, 18446744073709551616, 0.5, null]) {
      expect(await pool.request({ ...read(1), id })).toEqual({ jsonrpc: '2.0', id, result: '0x10' });
    }
  });
});

describe('NodeHttpTransport undoes Content-Encoding as fetch does', () => {
  const ANSWER = '{"jsonrpc":"2.0","id":1,"result":"0x10"}';
  const transports: readonly [string, () => HttpTransport][] = [
    ['NodeHttpTransport', () => new NodeHttpTransport()],
    ['FetchHttpTransport (the answers it must match)', () => new FetchHttpTransport()],
  ];
  const cases: readonly [string, string, Buffer][] = [
    ['deflate without the zlib wrapper (raw)', 'deflate', deflateRawSync(ANSWER)],
    ['two codings, undone last first', 'gzip, br', brotliCompressSync(gzipSync(ANSWER))],
  ];

  describe.each(transports)('%s', (_, make) => {
    it.each(cases)('%s (Content-Encoding: %s)', async (_what, coding, bytes) => {
      const node = await startNode(() => ({ status: 200, body: bytes, headers: { 'content-encoding': coding } }));
      const transport = make();
      cleanups.push(() => (transport as { close?: () => void }).close?.());
      expect(await transport.post({ url: node.url }, '{}', new AbortController().signal)).toEqual({ status: 200, body: ANSWER });
    });

    it('a coding it does not know leaves the body as it came', async () => {
      const node = await startNode(() => ({ status: 200, body: ANSWER, headers: { 'content-encoding': 'x-unknown' } }));
      const transport = make();
      cleanups.push(() => (transport as { close?: () => void }).close?.());
      expect(await transport.post({ url: node.url }, '{}', new AbortController().signal)).toEqual({ status: 200, body: ANSWER });
    });
  });

  it('a body that is not what its Content-Encoding says is a bad answer: a write gets NOT_RESENT "bad-answer", a read goes on', async () => {
    const { pool, a, b } = await twoNodes(() => ({ status: 200, body: 'not gzip at all', headers: { 'content-encoding': 'gzip' } }));
    expect(await pool.request(write(7))).toEqual(badAnswerTo(7));
    expect(b.bodies).toEqual([]);
    expect(await pool.request(read(8))).toEqual({ jsonrpc: '2.0', id: 8, result: '0x10' });
    expect([a.bodies.length, b.bodies.length]).toEqual([2, 1]);
  });
});
