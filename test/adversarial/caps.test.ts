/**
 * Issue 13, point 4: per-client caps on calls in flight and subscriptions, set through the proxy,
 * answer the calls past them with LIMIT_EXCEEDED (-32005), per item in a batch; the socket stays
 * open and the calls under the cap are answered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine, type ProxyServer } from '../../examples/proxy-server.js';
import { DEV_ACCOUNT } from '../integration/helpers/anvil.js';
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

  it('the flags reach the session options', () => {
    const options = parseCommandLine(['--upstream', 'a=http://127.0.0.1:1', '--max-in-flight', '8', '--max-subscriptions', '3', '--max-buffered-bytes', '1048576']);
    expect(options).toMatchObject({ session: { maxInFlight: 8, maxSubscriptions: 3 }, maxBufferedBytes: 1_048_576 });
  });
});
