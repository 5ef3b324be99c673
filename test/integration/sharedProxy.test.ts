/**
 * The reference proxy with `shareUpstreams` (SharedSocketTransport) in front of two real anvil
 * nodes: many clients, one upstream socket per node, one upstream subscription per distinct params,
 * and everything keeps working through a cut of the primary and its return. Real time, bounded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxyServer, type ProxyServer } from '../../examples/proxy-server.js';
import { DEV_ACCOUNT, startCluster, type Cluster } from './helpers/cluster.js';
import { WsClient, poll } from './helpers/wsClient.js';

let cluster: Cluster;
let proxy: ProxyServer;
const clients: WsClient[] = [];

/** A metric's value (one sample, no labels) from the proxy's /metrics. */
async function gauge(name: string): Promise<number> {
  const text = await (await fetch(`${proxy.url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`steadyrpc_${name} `));
  if (line === undefined) throw new Error(`no metric ${name} in /metrics`);
  return Number(line.split(' ')[1]);
}

beforeAll(async () => {
  cluster = await startCluster();
  proxy = await startProxyServer({
    listen: { port: 0 },
    upstreams: [
      { name: 'a', http: cluster.a.proxy.httpUrl, ws: cluster.a.proxy.wsUrl },
      { name: 'b', http: cluster.b.proxy.httpUrl, ws: cluster.b.proxy.wsUrl },
    ],
    shareUpstreams: true,
  });
  await poll('pool prefers a', async () => proxy.pool.preferred() === 'a', 15_000);
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await proxy?.close();
  await cluster?.stop();
}, 30_000);

describe('the reference proxy sharing its upstream sockets', { timeout: 60_000 }, () => {
  it('serves many clients over one socket and one subscription per params, through a cut and back', async () => {
    for (let i = 0; i < 6; i++) clients.push(await WsClient.connect(proxy.wsUrl));
    const heads: string[] = [];
    const logs: string[] = [];
    for (const client of clients) {
      heads.push((await client.call('eth_subscribe', ['newHeads'])).result as string);
      logs.push((await client.call('eth_subscribe', ['logs', {}])).result as string);
    }
    expect(new Set(heads).size).toBe(clients.length);
    expect(await gauge('shared_upstream_sockets')).toBe(1);
    expect(await gauge('shared_upstream_subscriptions')).toBe(2);
    // No answer too large for the shared socket: nothing sent on a socket of its own.
    expect(await gauge('shared_upstream_isolated_calls_total')).toBe(0);
    expect(await gauge('shared_upstream_isolated_too_large_total')).toBe(0);

    const everyoneGetsAHead = (phase: string) =>
      Promise.all(
        clients.map((client, i) => {
          const from = client.frames.length;
          return client.waitFor(`${phase}: client ${i} gets a head`, () => client.frames.slice(from).some((f) => f.frame.params?.subscription === heads[i]), 10_000);
        }),
      );
    await everyoneGetsAHead('on a');

    await cluster.a.proxy.cut();
    await everyoneGetsAHead('after the cut');
    // Calls are answered, by b now (its dev account holds 20,000 ETH).
    const balances = await Promise.all(clients.map((c) => c.call('eth_getBalance', [DEV_ACCOUNT, 'latest'])));
    for (const b of balances) expect(BigInt(b.result as string) / 10n ** 18n > 15_000n).toBe(true);
    expect(await gauge('shared_upstream_subscriptions')).toBe(2);

    await cluster.a.proxy.restore();
    await poll('pool prefers a again', async () => proxy.pool.preferred() === 'a', 15_000);
    await poll('every client back on a', async () => {
      const again = await Promise.all(clients.map((c) => c.call('eth_getBalance', [DEV_ACCOUNT, 'latest'])));
      return again.every((b) => BigInt(b.result as string) / 10n ** 18n < 15_000n);
    }, 15_000, 200);
    await everyoneGetsAHead('back on a');
    await poll('the socket to b is let go', async () => (await gauge('shared_upstream_sockets')) === 1, 10_000, 100);

    // Only what each client asked for, under the ids it was given: no replayed subscribe answer.
    for (const [i, client] of clients.entries()) {
      const unasked = client.frames.filter((f) => f.frame.method === undefined && typeof f.frame.id === 'number' && f.frame.id < 1_000_000);
      expect(unasked).toEqual([]);
      const subs = new Set(client.notifications().map((f) => f.frame.params!.subscription));
      expect(subs.has(heads[i]!)).toBe(true);
      for (const sub of subs) expect([heads[i], logs[i]]).toContain(sub);
    }
  });
});
