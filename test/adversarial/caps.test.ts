/**
 * Issue 13, point 4: per-client caps on calls in flight and subscriptions, set through the proxy,
 * answer the calls past them with LIMIT_EXCEEDED (-32005), per item in a batch; the socket stays
 * open and the calls under the cap are answered.
 */
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine, type ProxyServer } from '../../examples/proxy-server.js';
import { DEV_ACCOUNT } from '../integration/helpers/anvil.js';
import { poll } from '../integration/helpers/wsClient.js';
import { TextClient } from './helpers/raw.js';
import { startStack, type Stack } from './helpers/stack.js';

const LIMIT_EXCEEDED = -32005;
let stack: Stack;
let proxy: ProxyServer;
beforeAll(async () => {
  stack = await startStack(1);
  proxy = await stack.proxy({ session: { maxInFlight: 4, maxSubscriptions: 2 } });
}, 60_000);
afterAll(() => stack?.stop(), 30_000);

const balance = (id: number) => ({ jsonrpc: '2.0', id, method: 'eth_getBalance', params: [DEV_ACCOUNT, 'latest'] });
type Answer = { id: unknown; result?: unknown; error?: { code: number; data?: unknown } };

describe('per-client caps', { timeout: 30_000 }, () => {
  it('calls past maxInFlight get LIMIT_EXCEEDED, the others their answers', async () => {
    const { relay } = stack.node('a');
    relay.misbehave('eth_getBalance', { kind: 'slow', ms: 500 });
    const client = await TextClient.connect(proxy.wsUrl);
    try {
      for (let id = 1; id <= 6; id++) client.send(JSON.stringify(balance(id)));
      await client.next(() => client.texts.length >= 6, 10_000);
      const answers = client.texts.map((t) => JSON.parse(t) as Answer);
      expect(answers.filter((a) => a.result !== undefined).map((a) => a.id).sort()).toEqual([1, 2, 3, 4]);
      for (const rejected of answers.filter((a) => a.error !== undefined)) {
        expect(rejected.error).toMatchObject({ code: LIMIT_EXCEEDED, data: { limit: 'maxInFlight', max: 4 } });
      }
      // Under the cap again once answered: the socket was never closed.
      expect(JSON.parse(await client.ask(JSON.stringify(balance(7))))).toMatchObject({ id: 7, result: expect.any(String) });
    } finally {
      relay.misbehave('eth_getBalance', undefined);
      client.close();
    }
  });

  it('a batch past maxInFlight is answered item by item', async () => {
    const { relay } = stack.node('a');
    relay.misbehave('eth_getBalance', { kind: 'slow', ms: 300 });
    const client = await TextClient.connect(proxy.wsUrl);
    try {
      const answers = JSON.parse(await client.ask(JSON.stringify([1, 2, 3, 4, 5, 6].map(balance)))) as Answer[];
      expect(answers.map((a) => a.id).sort()).toEqual([1, 2, 3, 4, 5, 6]);
      expect(answers.filter((a) => a.error?.code === LIMIT_EXCEEDED)).toHaveLength(2);
      expect(answers.filter((a) => a.result !== undefined)).toHaveLength(4);
    } finally {
      relay.misbehave('eth_getBalance', undefined);
      client.close();
    }
  });

  it('a subscription past maxSubscriptions gets LIMIT_EXCEEDED; the two under it deliver', async () => {
    const client = await TextClient.connect(proxy.wsUrl);
    try {
      const subscribe = async (id: number) =>
        JSON.parse(await client.ask(JSON.stringify({ jsonrpc: '2.0', id, method: 'eth_subscribe', params: ['newHeads'] }), 10_000, (t) => !t.includes('eth_subscription'))) as Answer;
      const [first, second, third] = [await subscribe(1), await subscribe(2), await subscribe(3)];
      expect(first!.result).toEqual(expect.any(String));
      expect(second!.result).toEqual(expect.any(String));
      expect(third!.error).toMatchObject({ code: LIMIT_EXCEEDED, data: { limit: 'maxSubscriptions', max: 2 } });
      await client.next((t) => t.includes(String(first!.result)) && t.includes('eth_subscription'), 5_000);
    } finally {
      client.close();
    }
  });

  // Found in review: POST / had no cap at all. Every request in progress holds its body and an
  // upstream request (the pool's HTTP agents open sockets without limit), and one connection may
  // pipeline thousands: a flood reached the nodes whole. Past maxHttpInFlight a POST gets 503.
  it('POSTs past maxHttpInFlight get HTTP 503 with Retry-After and LIMIT_EXCEEDED; the others their answers', async () => {
    const { relay } = stack.node('a');
    relay.misbehave('eth_getBalance', { kind: 'slow', ms: 500 });
    const capped = await stack.proxy({ maxHttpInFlight: 3 });
    try {
      const post = (id: number) => fetch(capped.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(balance(id)) });
      const responses = await Promise.all([1, 2, 3, 4, 5].map(post));
      const bodies = (await Promise.all(responses.map((r) => r.json()))) as Answer[];
      const refused = responses.flatMap((r, i) => (r.status === 503 ? [{ retryAfter: r.headers.get('retry-after'), body: bodies[i] }] : []));
      expect(responses.filter((r) => r.status === 200).length).toBe(3);
      expect(bodies.filter((b) => b.result !== undefined).length).toBe(3);
      expect(refused).toEqual([1, 2].map(() => ({ retryAfter: '1', body: { jsonrpc: '2.0', id: null, error: { code: LIMIT_EXCEEDED, message: 'Proxy busy: 3 HTTP requests in progress', data: { limit: 'maxHttpInFlight', max: 3 } } } })));
      expect(capped.metrics.render()).toContain('steadyrpc_proxy_http_requests_total{outcome="busy"} 2');
      // Under the cap again once answered.
      expect(await (await post(6)).json()).toMatchObject({ id: 6, result: expect.any(String) });
    } finally {
      relay.misbehave('eth_getBalance', undefined);
      await capped.close();
    }
  });

  it('pipelined on one connection: the POSTs past the cap get 503 in their turn, and every request is answered', async () => {
    const { relay } = stack.node('a');
    relay.misbehave('eth_getBalance', { kind: 'slow', ms: 500 });
    const capped = await stack.proxy({ maxHttpInFlight: 3 });
    const { hostname, port } = new URL(capped.url);
    const client = net.connect(Number(port), hostname);
    try {
      await once(client, 'connect');
      let received = '';
      client.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      const post = (id: number) => {
        const body = JSON.stringify(balance(id));
        return `POST / HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      };
      client.write([1, 2, 3, 4, 5].map(post).join(''));
      await poll('five responses', async () => (received.match(/HTTP\/1\.1 \d{3}/g) ?? []).length >= 5, 10_000);
      // In request order (HTTP/1.1): the three under the cap, then the two past it.
      expect(received.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 503', 'HTTP/1.1 503']);
    } finally {
      client.destroy();
      relay.misbehave('eth_getBalance', undefined);
      await capped.close();
    }
  });

  it('the flags reach the session options', () => {
    const options = parseCommandLine(['--upstream', 'a=http://127.0.0.1:1', '--max-in-flight', '8', '--max-subscriptions', '3', '--max-buffered-bytes', '1048576', '--max-http-in-flight', '64']);
    expect(options).toMatchObject({ session: { maxInFlight: 8, maxSubscriptions: 3 }, maxBufferedBytes: 1_048_576, maxHttpInFlight: 64 });
  });
});
