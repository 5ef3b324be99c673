/**
 * HTTP/1.1 pipelining: a client that sends several requests on one connection without waiting and
 * goes away before they are answered. On Node 20 the queued responses of such requests never emit
 * 'close', so whatever waits for it (the count of requests in progress a drain waits on, the abort
 * of the upstream call) has to hear of the connection's end another way.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ACCOUNT } from '../integration/helpers/anvil.js';
import { poll } from '../integration/helpers/wsClient.js';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(1);
}, 60_000);
afterAll(() => stack?.stop(), 30_000);

const balance = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, method: 'eth_getBalance', params: [DEV_ACCOUNT, 'latest'] });
const post = (body: string) => `POST / HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describe('a pipelining client that goes away before its answers', { timeout: 30_000 }, () => {
  it('has every request counted aborted, and leaves nothing in progress for a drain to wait on', async () => {
    const relay = stack.node('a').relay;
    relay.misbehave('eth_getBalance', { kind: 'slow', ms: 1_000 });
    const proxy = await stack.proxy();
    try {
      const { hostname, port } = new URL(proxy.url);
      const client = net.connect(Number(port), hostname);
      client.on('error', () => {});
      await new Promise((resolve) => client.once('connect', resolve));
      client.write(post(balance(1)) + post(balance(2)) + post(balance(3)));
      await poll('the requests reached the proxy', async () => relay.count('eth_getBalance') >= 1, 5_000);
      client.destroy();
      const outcomes = () => proxy.metrics.render().split('\n').filter((line) => line.startsWith('steadyrpc_proxy_http_requests_total{'));
      const counted = () => outcomes().reduce((sum, line) => sum + Number(line.split(' ')[1]), 0);
      await poll('all three requests counted', async () => counted() === 3, 10_000);
      // The client is gone: none of its requests is answered (nor counted so).
      expect(outcomes()).toEqual(['steadyrpc_proxy_http_requests_total{outcome="aborted"} 3']);
      // Nothing is left in progress: the drain ends after its quiet second, not at its deadline.
      const started = Date.now();
      await proxy.close({ drainMs: 6_000 });
      expect(Date.now() - started).toBeLessThan(4_000);
    } finally {
      relay.misbehave('eth_getBalance', undefined);
      await proxy.close();
    }
  });
});
