/**
 * The reference proxy with node URLs and endpoint headers that carry planted credentials (userinfo,
 * a long and a short path key, a query value under an innocent name, a percent-encoded key, a
 * fragment, Bearer and API-key headers), in front of a real anvil, plus a dead node whose URLs carry
 * them too so errors are made. Nothing the proxy shows may carry one: /status, /metrics, the startup
 * lines, the pool's and health checker's events, and the answers clients get. Real time, bounded.
 */
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyServer } from '../../examples/proxy-server.js';
import { describeStartup, parseCommandLine, startProxyServer } from '../../examples/proxy-server.js';
import type { NodeConfig } from '../../src/index.js';
import { ENCODED_TAIL, PLANTED, SECRET_HEADERS, SECRET_TAIL, USERINFO, leaksIn, recordEvents, render } from '../helpers/secrets.js';
import { startAnvil, type AnvilNode } from './helpers/anvil.js';
import { startPathRelay, type PathRelay } from './helpers/pathRelay.js';
import { WsClient, poll } from './helpers/wsClient.js';

let anvil: AnvilNode;
let relay: PathRelay;
let deadPort: number;
const proxies: ProxyServer[] = [];
const clients: WsClient[] = [];

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `dead` first (its errors must be shown safely), then `live` (a relay to anvil), then `fn` (endpoint functions with headers). */
function upstreams(): NodeConfig[] {
  const live = `127.0.0.1:${relay.port}`;
  const dead = `127.0.0.1:${deadPort}`;
  return [
    { name: 'dead', http: `http://${USERINFO}${dead}${SECRET_TAIL}`, ws: `ws://${USERINFO}${dead}/v2/${PLANTED.pathKey}/${PLANTED.shortPathKey}?id=${PLANTED.queryValue}` },
    { name: 'live', http: `http://${USERINFO}${live}/v2/${PLANTED.pathKey}/${PLANTED.shortPathKey}?id=${PLANTED.queryValue}`, ws: `ws://${USERINFO}${live}${ENCODED_TAIL}?id=${PLANTED.queryValue}` },
    {
      name: 'fn',
      tier: 'backup',
      http: () => ({ url: `http://${live}/fn/${PLANTED.pathKey}`, headers: { ...SECRET_HEADERS } }),
      ws: () => ({ url: `ws://${live}/fn/${PLANTED.shortPathKey}`, headers: { ...SECRET_HEADERS } }),
    },
  ];
}

async function start(extra: { statusShowsUrls?: boolean; nodes?: NodeConfig[] } = {}): Promise<{ proxy: ProxyServer; events: string[] }> {
  const proxy = await startProxyServer({
    listen: { port: 0 },
    upstreams: extra.nodes ?? upstreams(),
    health: { intervalMs: 200, timeoutMs: 1_000, failuresToDown: 1, successesToUp: 1 },
    session: { connectTimeoutMs: 1_000, requestTimeoutMs: 3_000, queue: { maxWaitMs: 2_000 } },
    ...(extra.statusShowsUrls ? { statusShowsUrls: true } : {}),
  });
  proxies.push(proxy);
  const events: string[] = [];
  recordEvents(proxy.pool, 'pool', events);
  recordEvents(proxy.health, 'health', events);
  return { proxy, events };
}

async function get(url: string): Promise<string> {
  return (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
}

async function post(url: string, body: unknown): Promise<string> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  return response.text();
}

beforeAll(async () => {
  anvil = await startAnvil();
  relay = await startPathRelay(anvil);
  deadPort = await closedPort();
}, 30_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(proxies.map((p) => p.close()));
  await relay?.close();
  await anvil?.stop();
});

describe('the proxy shows no planted credential', () => {
  it('in /status, /metrics, the startup lines, events and client answers, while using the credentials as configured', async () => {
    const { proxy, events } = await start();
    await poll('dead down and live up', async () => proxy.pool.health('dead').status === 'unhealthy' && proxy.pool.health('live').status === 'healthy', 10_000);
    const client = await WsClient.connect(proxy.wsUrl);
    clients.push(client);
    const texts: string[] = [];
    texts.push(render(await client.call('eth_blockNumber')));
    texts.push(render(await client.call('eth_subscribe', ['newHeads'])));
    texts.push(await post(proxy.url, { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' }));
    texts.push(await post(proxy.url, [{ jsonrpc: '2.0', id: 2, method: 'eth_chainId' }]));
    const status = await get(`${proxy.url}/status`);
    texts.push(status, await get(`${proxy.url}/metrics`), ...describeStartup(proxy), ...events);

    const parsed = JSON.parse(status) as { nodes: Array<Record<string, unknown>> };
    expect(parsed.nodes.map((n) => n.name)).toEqual(['dead', 'live', 'fn']);
    for (const node of parsed.nodes) expect(['http' in node, 'ws' in node]).toEqual([false, false]);
    expect(String(parsed.nodes[0]!.lastError)).toMatch(/ECONNREFUSED|failed|closed/);
    // No host either: the errors quote the address they failed to reach.
    expect(status).not.toContain('127.0.0.1');
    expect(status).not.toContain(String(deadPort));
    expect(describeStartup(proxy)).toContain(`  primary dead: http://127.0.0.1:${deadPort}/*** ws://127.0.0.1:${deadPort}/***`);
    expect(describeStartup(proxy)).toContain('  backup fn: (function) (function)');
    expect(events.some((e) => e.startsWith('health.probe') && e.includes('ECONNREFUSED'))).toBe(true);
    expect(texts.flatMap(leaksIn)).toEqual([]);

    // The credentials did reach the node side, as configured.
    const live = relay.requests.filter((r) => !r.url.startsWith('/fn/'));
    expect(live.some((r) => r.kind === 'http' && r.url === `/v2/${PLANTED.pathKey}/${PLANTED.shortPathKey}?id=${PLANTED.queryValue}`)).toBe(true);
    expect(live.some((r) => r.kind === 'http' && r.headers.authorization === `Basic ${Buffer.from(`${PLANTED.user}:${PLANTED.password}`).toString('base64')}`)).toBe(true);
    expect(live.some((r) => r.kind === 'ws' && r.url.startsWith(ENCODED_TAIL))).toBe(true);
    await poll('a probe of fn', async () => relay.requests.find((r) => r.url.startsWith('/fn/')), 5_000);
    expect(relay.requests.find((r) => r.url.startsWith('/fn/'))!.headers['x-api-key']).toBe(PLANTED.apiKey);
  });

  it('with statusShowsUrls, /status shows display forms only', async () => {
    const { proxy } = await start({ statusShowsUrls: true });
    await poll('dead probed', async () => proxy.pool.health('dead').lastError, 10_000);
    const status = await get(`${proxy.url}/status`);
    const nodes = (JSON.parse(status) as { nodes: Array<{ name: string; http?: string; ws?: string }> }).nodes;
    expect(nodes.map((n) => [n.name, n.http, n.ws])).toEqual([
      ['dead', `http://127.0.0.1:${deadPort}/***`, `ws://127.0.0.1:${deadPort}/***`],
      ['live', `http://127.0.0.1:${relay.port}/***`, `ws://127.0.0.1:${relay.port}/***`],
      ['fn', undefined, undefined],
    ]);
    expect(leaksIn(status)).toEqual([]);
    expect(parseCommandLine(['--upstream', 'a=http://127.0.0.1:1', '--status-urls'])).toMatchObject({ statusShowsUrls: true });
    expect(parseCommandLine(['--upstream', 'a=http://127.0.0.1:1'])).not.toHaveProperty('statusShowsUrls');
  });

  it('a proxy whose only node is dead: the errors its clients get show no credential', async () => {
    const { proxy, events } = await start({ nodes: [upstreams()[0]!] });
    await poll('dead probed', async () => proxy.pool.health('dead').lastError, 10_000);
    const texts = [
      await post(proxy.url, { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' }),
      await post(proxy.url, [{ jsonrpc: '2.0', id: 2, method: 'eth_chainId' }, { jsonrpc: '2.0', id: 3, method: 'eth_sendTransaction', params: [{}] }]),
      await get(`${proxy.url}/status`),
      await get(`${proxy.url}/metrics`),
    ];
    const client = await WsClient.connect(proxy.wsUrl);
    clients.push(client);
    texts.push(render(await client.call('eth_blockNumber', [], 9, 10_000)));
    texts.push(...events, ...describeStartup(proxy));
    expect(texts[0]).toMatch(/"error"/);
    expect(texts.flatMap(leaksIn)).toEqual([]);
  }, 30_000);
});
