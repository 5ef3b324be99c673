/**
 * Issue 13, points 6 and 8: HTTP (POST /) and WebSocket give the same answers to the same bad
 * inputs (parse errors, bad items, deep params, oversized batches and frames, node errors), and ids
 * come back exactly as the client wrote them, however big (both ways).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyServer } from '../../examples/proxy-server.js';
import { TextClient, postText } from './helpers/raw.js';
import { startStack, type Stack } from './helpers/stack.js';

const MAX_FRAME = 256 * 1024;
let stack: Stack;
let proxy: ProxyServer;
let client: TextClient;
beforeAll(async () => {
  stack = await startStack(2);
  // A smaller frame limit than the default (5 MiB), to test it quickly.
  proxy = await stack.proxy({ maxFrameBytes: MAX_FRAME });
  client = await TextClient.connect(proxy.wsUrl);
}, 60_000);
afterAll(async () => {
  client?.close();
  await stack?.stop();
}, 30_000);

const call = (id: unknown, method = 'eth_chainId', params: unknown[] = []) => ({ jsonrpc: '2.0', id, method, params });
const deep = (depth: number) => `{"jsonrpc":"2.0","id":1,"method":"eth_call","params":${'['.repeat(depth)}${']'.repeat(depth)}}`;

const BAD_INPUTS: Array<[string, string]> = [
  ['not JSON', '{"jsonrpc":"2.0",'],
  ['an empty object', '{}'],
  ['an empty batch', '[]'],
  ['a number', '42'],
  ['jsonrpc 1.0', JSON.stringify({ ...call(5), jsonrpc: '1.0' })],
  ['a method that is not a string', JSON.stringify({ ...call(6), method: 7 })],
  ['an object id', JSON.stringify({ ...call(7), id: {} })],
  ['params nested 100,000 deep', deep(100_000)],
  ['a batch of 1,001', JSON.stringify(Array.from({ length: 1_001 }, (_, i) => call(i)))],
  ['a batch with bad items among good ones', JSON.stringify([call(1), 42, { jsonrpc: '2.0', id: 3 }, call(4), null])],
  ['a frame over the limit', JSON.stringify(call(9, 'eth_chainId', ['x'.repeat(MAX_FRAME)]))],
];

/** Inputs a node refuses: anvil itself words these differently over HTTP and WebSocket. */
const NODE_ERRORS: Array<[string, string]> = [
  ['bad params', JSON.stringify(call(10, 'eth_getBalance', ['0xzz', 'latest']))],
  ['an unknown method', JSON.stringify(call(11, 'no_such_method'))],
];

describe('HTTP and WebSocket answer bad inputs alike', { timeout: 30_000 }, () => {
  for (const [what, input] of BAD_INPUTS) {
    it(what, async () => {
      const ws = await client.ask(input);
      const http = await postText(proxy.url, input);
      expect(http.status).toBe(input.length > MAX_FRAME ? 413 : 200);
      expect(JSON.parse(http.text)).toEqual(JSON.parse(ws));
      // An answer, never a crash: a JSON-RPC error or array of answers, as JSON.
      expect(http.text).not.toMatch(/Maximum call stack|internal error:/i);
    });
  }

  for (const [what, input] of NODE_ERRORS) {
    it(`a node's own error (${what}) is passed through as the node gives it on each way`, async () => {
      const { anvil } = stack.node('a');
      const direct = await TextClient.connect(anvil.wsUrl);
      try {
        expect(JSON.parse(await client.ask(input))).toEqual(JSON.parse(await direct.ask(input)));
      } finally {
        direct.close();
      }
      expect(JSON.parse((await postText(proxy.url, input)).text)).toEqual(JSON.parse((await postText(anvil.httpUrl, input)).text));
    });
  }

  it('the socket stays open and serves after all of them', async () => {
    expect(JSON.parse(await client.ask(JSON.stringify(call(99))))).toMatchObject({ id: 99, result: '0x7a69' });
  });
});

describe('ids come back exactly as written', { timeout: 30_000 }, () => {
  const IDS = ['9007199254740993', '9007199254740992', '-9007199254740993', '123456789012345678901234567890', '"9007199254740993"', '0', '1.5'];

  it('over WebSocket and HTTP, single and batched', async () => {
    for (const id of IDS) {
      const text = `{"jsonrpc":"2.0","id":${id},"method":"eth_chainId","params":[]}`;
      expect(await client.ask(text)).toBe(`{"jsonrpc":"2.0","id":${id},"result":"0x7a69"}`);
      expect((await postText(proxy.url, text)).text).toBe(`{"jsonrpc":"2.0","id":${id},"result":"0x7a69"}`);
    }
    const batch = `[${IDS.map((id) => `{"jsonrpc":"2.0","id":${id},"method":"eth_chainId","params":[]}`).join(',')}]`;
    const idsIn = (text: string) => [...text.matchAll(/"id":(-?[\d.]+|"[^"]*")/g)].map((m) => m[1]).sort();
    expect(idsIn(await client.ask(batch))).toEqual([...IDS].sort());
    expect(idsIn((await postText(proxy.url, batch)).text)).toEqual([...IDS].sort());
  });
});

describe('a WebSocket frame over twice the limit', { timeout: 30_000 }, () => {
  it('closes the socket with 1009 (ws stops reading it into memory there), as the proxy guide documents; up to twice the limit it is answered -32054', async () => {
    const own = await TextClient.connect(proxy.wsUrl);
    const frame = (bytes: number) => JSON.stringify(call(1, 'eth_call', [{ data: `0x${'0'.repeat(bytes)}` }, 'latest']));
    expect(JSON.parse(await own.ask(frame(MAX_FRAME * 2 - 1_000)))).toMatchObject({ error: { code: -32054 } });
    own.send(frame(MAX_FRAME * 2 + 1_000));
    expect((await own.closed).code).toBe(1009);
  });
});
