/**
 * Issue 13, point 9: SIGTERM drains the proxy process. Readiness turns 503 first, no new connection
 * is accepted, every answer owed (WebSocket and HTTP) arrives, then clients see 1012 and the
 * process exits 0, within the drain deadline.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ACCOUNT } from '../integration/helpers/anvil.js';
import { poll } from '../integration/helpers/wsClient.js';
import { spawnProxy } from './helpers/childProxy.js';
import { TextClient, postText } from './helpers/raw.js';
import { COUNTS } from './helpers/settings.js';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(1);
}, 60_000);
afterAll(() => stack?.stop(), 30_000);

const balance = (id: number | string) => JSON.stringify({ jsonrpc: '2.0', id, method: 'eth_getBalance', params: [DEV_ACCOUNT, 'latest'] });
const CALLS_PER_CLIENT = 3;
const HTTP_CALLS = 3;

describe('SIGTERM', { timeout: 90_000 }, () => {
  it(`drains ${COUNTS.drainClients} WebSocket clients and ${HTTP_CALLS} HTTP requests with answers owed: none lost, then 1012, exit 0`, async () => {
    const { relay } = stack.node('a');
    const proxy = await spawnProxy(['--upstream', `a=${relay.httpUrl},${relay.wsUrl}`, '--drain-ms', '8000'], { admin: true });
    try {
      await poll('ready', async () => (await fetch(`${proxy.url}/readyz`)).ok, 15_000);
      const clients = await Promise.all(Array.from({ length: COUNTS.drainClients }, () => TextClient.connect(proxy.wsUrl)));
      for (const client of clients) await client.ask('{"jsonrpc":"2.0","id":"sub","method":"eth_subscribe","params":["newHeads"]}');

      relay.misbehave('eth_getBalance', { kind: 'slow', ms: 2_000 });
      const before = relay.count('eth_getBalance');
      clients.forEach((client, c) => {
        for (let i = 0; i < CALLS_PER_CLIENT; i++) client.send(balance(`${c}-${i}`));
      });
      const http = Array.from({ length: HTTP_CALLS }, (_, i) => postText(proxy.url, balance(i)));
      const owed = COUNTS.drainClients * CALLS_PER_CLIENT + HTTP_CALLS;
      await poll('every call reached the node', async () => relay.count('eth_getBalance') - before >= owed, 10_000, 20);

      const signalledAt = Date.now();
      proxy.kill('SIGTERM');
      await poll('/readyz turns 503', async () => (await fetch(`${proxy.adminUrl}/readyz`)).status === 503, 2_000, 20);
      await expect(TextClient.connect(proxy.wsUrl)).rejects.toThrow();

      const closes = await Promise.all(clients.map((client) => client.closed));
      for (const [c, client] of clients.entries()) {
        const answers = client.texts.map((t) => JSON.parse(t)).filter((f) => typeof f.id === 'string' && f.id.startsWith(`${c}-`));
        expect(answers.map((a) => a.id).sort()).toEqual(Array.from({ length: CALLS_PER_CLIENT }, (_, i) => `${c}-${i}`));
        for (const answer of answers) expect(answer.result).toMatch(/^0x/);
        expect(closes[c]!.code).toBe(1012);
      }
      for (const [i, answer] of (await Promise.all(http)).entries()) {
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.text)).toMatchObject({ id: i, result: expect.stringMatching(/^0x/) });
      }
      expect(await proxy.exited).toEqual({ code: 0, signal: null });
      const tookMs = Date.now() - signalledAt;
      console.log(`SIGTERM to exit with ${owed} answers owed (2 s each): ${tookMs} ms`);
      expect(tookMs).toBeLessThan(8_000);
      expect(proxy.output()).toContain('SIGTERM: draining (up to 8000 ms)');
    } finally {
      relay.misbehave('eth_getBalance', undefined);
      await proxy.stop();
    }
  });

  it('SIGINT drains as SIGTERM does; a second signal during the drain closes at once (1001), exit 0', async () => {
    const { relay } = stack.node('a');
    const proxy = await spawnProxy(['--upstream', `a=${relay.httpUrl},${relay.wsUrl}`, '--drain-ms', '20000'], { admin: true });
    try {
      await poll('ready', async () => (await fetch(`${proxy.url}/readyz`)).ok, 15_000);
      const client = await TextClient.connect(proxy.wsUrl);
      relay.misbehave('eth_getBalance', { kind: 'slow', ms: 15_000 });
      client.send(balance('held'));
      await poll('the call reached the node', async () => relay.count('eth_getBalance') > 0, 5_000, 20);
      proxy.kill('SIGINT');
      await poll('/readyz turns 503', async () => (await fetch(`${proxy.adminUrl}/readyz`)).status === 503, 2_000, 20);
      const secondAt = Date.now();
      proxy.kill('SIGTERM');
      expect((await client.closed).code).toBe(1001);
      expect(await proxy.exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - secondAt).toBeLessThan(3_000);
      expect(proxy.output()).toContain('SIGINT: draining (up to 20000 ms)');
      // The call still owed is answered before the close: the client may send it again elsewhere.
      expect(client.texts.map((t) => JSON.parse(t))).toEqual([expect.objectContaining({ id: 'held', error: expect.objectContaining({ code: -32050 }) })]);
    } finally {
      relay.misbehave('eth_getBalance', undefined);
      await proxy.stop();
    }
  });
});
