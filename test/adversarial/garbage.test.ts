/**
 * Issue 13, point 7: a node that appends garbage to a valid answer
 * (`{"jsonrpc":"2.0","id":1,"result":"0x1"}{"leak":"x"}`) never gets it to a client, over
 * WebSocket or HTTP: the call gets one parseable answer (another node's, or an error).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyServer } from '../../examples/proxy-server.js';
import { TextClient, postText } from './helpers/raw.js';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let proxy: ProxyServer;
let client: TextClient;
beforeAll(async () => {
  stack = await startStack(2);
  // Short upstream deadlines, for a call whose only answer was garbage.
  proxy = await stack.proxy({ session: { requestTimeoutMs: 2_000 }, upstreamHttp: { attemptTimeoutMs: 2_000 } });
  client = await TextClient.connect(proxy.wsUrl);
}, 60_000);
afterAll(async () => {
  client?.close();
  await stack?.stop();
}, 30_000);

const call = (id: unknown, method: string) => JSON.stringify({ jsonrpc: '2.0', id, method, params: [] });

describe('trailing garbage from a node never reaches a client', { timeout: 30_000 }, () => {
  const relay = () => stack.node('a').relay;

  it('over WebSocket: one parseable answer to the call, nothing else', async () => {
    relay().misbehave('web3_clientVersion', { kind: 'garbage' });
    try {
      const from = client.texts.length;
      const answer = await client.ask(call('g1', 'web3_clientVersion'), 10_000);
      await new Promise((resolve) => setTimeout(resolve, 500)); // nothing else arrives for it
      const texts = client.texts.slice(from);
      for (const text of texts) {
        expect(text).not.toContain('leak');
        expect(() => JSON.parse(text)).not.toThrow();
      }
      expect(texts).toHaveLength(1);
      expect(JSON.parse(answer)).toMatchObject({ id: 'g1' });
      expect(relay().count('web3_clientVersion')).toBeGreaterThanOrEqual(1);
    } finally {
      relay().misbehave('web3_clientVersion', undefined);
    }
  });

  it('over HTTP: one parseable answer, no garbage', async () => {
    relay().misbehave('web3_clientVersion', { kind: 'garbage' });
    try {
      const { status, text } = await postText(proxy.url, call('g2', 'web3_clientVersion'));
      expect(status).toBe(200);
      expect(text).not.toContain('leak');
      expect(JSON.parse(text)).toMatchObject({ id: 'g2' });
    } finally {
      relay().misbehave('web3_clientVersion', undefined);
    }
  });
});
