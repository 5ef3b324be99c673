/**
 * The reference proxy against two real anvil nodes, each behind a fault-injecting TCP proxy, with
 * real `ws` clients and HTTP. The seeds' incident, replayed for real: cut, blackhole and slow the
 * primary while clients use it, restore it, and check nothing is lost, leaked or stuck.
 * Real time, every wait bounded.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyServer } from '../../examples/proxy-server.js';
import { CLUSTER_BALANCES_ETH, DEV_ACCOUNT, startCluster, startProxyOver, type Cluster } from './helpers/cluster.js';
import { WsClient, poll, sleep, type Frame } from './helpers/wsClient.js';

const WEI = 10n ** 18n;
/** Which node answered, from the dev account's balance (a: ~10,000 ETH, b: ~20,000 ETH, less gas spent). */
const nodeOfBalance = (wei: bigint): 'a' | 'b' => (wei / WEI > BigInt(CLUSTER_BALANCES_ETH.a + CLUSTER_BALANCES_ETH.b) / 2n ? 'b' : 'a');

/** Emits one LOG0 on any call: runtime 0x60006000a000, returned by the init code. */
const LOGGER_INIT_CODE = '0x6560006000a0006000526006601af3';

let cluster: Cluster;
let proxy: ProxyServer;
let logger: string;
const clients: WsClient[] = [];

async function rpcHttp(url: string, method: string, params: unknown[] = []): Promise<any> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(5_000),
  });
  const body = (await response.json()) as Frame;
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/** Deploys the logger with the dev account's first transaction, so it has the same address on both nodes. */
async function deployLogger(url: string): Promise<string> {
  const hash = await rpcHttp(url, 'eth_sendTransaction', [{ from: DEV_ACCOUNT, data: LOGGER_INIT_CODE }]);
  const receipt = await poll('deploy receipt', () => rpcHttp(url, 'eth_getTransactionReceipt', [hash]), 10_000, 100);
  return receipt.contractAddress as string;
}

const nodeVia = async (client: WsClient) => nodeOfBalance(BigInt((await client.call('eth_getBalance', [DEV_ACCOUNT, 'latest'])).result as string));

async function connect(): Promise<WsClient> {
  const client = await WsClient.connect(proxy.wsUrl);
  clients.push(client);
  return client;
}

/** Waits until the proxy prefers the primary again and a fresh client is served by it. */
async function backOnPrimary(): Promise<void> {
  await poll('pool prefers a', async () => proxy.pool.preferred() === 'a', 15_000);
}

beforeAll(async () => {
  cluster = await startCluster();
  logger = await deployLogger(cluster.a.anvil.httpUrl);
  expect(await deployLogger(cluster.b.anvil.httpUrl)).toBe(logger);
  proxy = await startProxyOver(cluster);
  await backOnPrimary();
}, 60_000);

afterEach(async () => {
  await cluster.a.proxy.restore();
  await cluster.b.proxy.restore();
  await backOnPrimary();
}, 30_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await proxy?.close();
  await cluster?.stop();
}, 30_000);

describe('the reference proxy in front of real nodes', { timeout: 60_000 }, () => {
  it('regular requests work after failover, and no replayed subscribe answer ever arrives', async () => {
    const client = await connect();
    const subscribe = await client.call('eth_subscribe', ['newHeads'], 'sub');
    expect(await nodeVia(client)).toBe('a');
    await cluster.a.proxy.cut();
    expect(await nodeVia(client)).toBe('b');
    expect(await client.call('eth_chainId')).toMatchObject({ result: '0x7a69' });
    await client.waitFor('a head from b', () => client.notifications(subscribe.result).length > 0);
    await cluster.a.proxy.restore();
    await backOnPrimary();
    await poll('client back on a', async () => (await nodeVia(client)) === 'a', 10_000);
    // Exactly one answer to the subscribe; every other answer belongs to a call the client made.
    expect(client.answers('sub')).toHaveLength(1);
    const answered = client.frames.filter((f) => f.frame.id !== undefined).map((f) => f.frame);
    expect(answered.every((f) => f.id === 'sub' || (typeof f.id === 'number' && f.id >= 1_000_000))).toBe(true);
    expect(answered.filter((f) => typeof f.result === 'string' && f.result.length === 34 && f.id !== 'sub')).toEqual([]);
  });

  it('five subscriptions keep their ids and keep delivering after failover and after failback', async () => {
    const client = await connect();
    const specs: Array<[string, unknown[]]> = [
      ['heads', ['newHeads']],
      ['logs', ['logs', {}]],
      ['logs-of-logger', ['logs', { address: logger }]],
      ['pending', ['newPendingTransactions']],
      ['heads-2', ['newHeads']],
    ];
    const ids: Record<string, string> = {};
    for (const [name, params] of specs) ids[name] = (await client.call('eth_subscribe', params, name)).result as string;
    expect(new Set(Object.values(ids)).size).toBe(5);

    const everyDelivers = async (phase: string) => {
      const from = client.frames.length;
      await client.call('eth_sendTransaction', [{ from: DEV_ACCOUNT, to: logger }]);
      await client.waitFor(`${phase}: every subscription delivers`, () => {
        const seen = new Set(client.frames.slice(from).filter((f) => f.frame.method === 'eth_subscription').map((f) => f.frame.params!.subscription));
        return Object.values(ids).every((id) => seen.has(id));
      }, 10_000);
    };

    await everyDelivers('on a');
    await cluster.a.proxy.cut();
    await poll('client on b', async () => (await nodeVia(client)) === 'b', 10_000);
    await everyDelivers('on b');
    await cluster.a.proxy.restore();
    await backOnPrimary();
    await poll('client back on a', async () => (await nodeVia(client)) === 'a', 10_000);
    await everyDelivers('back on a');
    const seenIds = new Set(client.notifications().map((f) => f.frame.params!.subscription));
    expect([...seenIds].sort()).toEqual(Object.values(ids).sort());
  });

  it('a client reusing the id of its own subscribe right after the cut gets its own answer', async () => {
    const client = await connect();
    const sub = await client.call('eth_subscribe', ['newHeads'], 1);
    await cluster.a.proxy.cut();
    client.send({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] });
    await client.waitFor('second answer to id 1', () => client.answers(1).length === 2);
    const [first, second] = client.answers(1);
    expect(first!.result).toBe(sub.result);
    expect(second!.result).toMatch(/^0x[0-9a-f]{1,8}$/); // a block number, not a subscription id
    await sleep(1_500);
    expect(client.answers(1)).toHaveLength(2);
    await cluster.a.proxy.restore();
    await backOnPrimary();
  });

  it('100 requests sent inside the reconnect window all get exactly one answer', async () => {
    const client = await connect();
    await client.call('eth_subscribe', ['newHeads'], 'sub');
    await cluster.a.proxy.cut();
    for (let i = 0; i < 100; i++) client.send({ jsonrpc: '2.0', id: i, method: i % 2 ? 'eth_blockNumber' : 'eth_getBalance', params: i % 2 ? [] : [DEV_ACCOUNT, 'latest'] });
    await client.waitFor('100 answers', () => [...Array(100).keys()].every((i) => client.answers(i).length > 0), 15_000);
    await sleep(1_000);
    for (let i = 0; i < 100; i++) {
      expect(client.answers(i)).toHaveLength(1);
      expect(client.answers(i)[0]!.error).toBeUndefined();
    }
    await cluster.a.proxy.restore();
    await backOnPrimary();
  });

  it('fails back to the primary in under 2 s after it answers again', async () => {
    const client = await connect();
    await client.call('eth_subscribe', ['newHeads'], 'sub');
    await cluster.a.proxy.cut();
    await poll('client on b', async () => (await nodeVia(client)) === 'b', 10_000);
    await sleep(2_000); // long enough for the pool to mark a down
    const restoredAt = Date.now();
    await cluster.a.proxy.restore();
    await poll('client on a', async () => (await nodeVia(client)) === 'a', 10_000, 25);
    const failbackMs = Date.now() - restoredAt;
    console.log(`failback to the primary: ${failbackMs} ms after it answered again`);
    expect(failbackMs).toBeLessThan(2_000);
  });

  it('a blackholed primary (zombie) is detected and left', async () => {
    await backOnPrimary();
    const client = await connect();
    expect(await nodeVia(client)).toBe('a');
    const blackholedAt = Date.now();
    await cluster.a.proxy.blackhole({ discard: true });
    const answer = await client.call('eth_getBalance', [DEV_ACCOUNT, 'latest'], 'zombie', 15_000);
    const leftMs = Date.now() - blackholedAt;
    console.log(`blackholed primary left after ${leftMs} ms`);
    expect(nodeOfBalance(BigInt(answer.result))).toBe('b');
    expect(leftMs).toBeLessThan(10_000);
    await cluster.a.proxy.restore();
    await backOnPrimary();
  });

  it('a primary slower than the health timeout is left too', async () => {
    await backOnPrimary();
    const client = await connect();
    expect(await nodeVia(client)).toBe('a');
    await cluster.a.proxy.slow(2_500); // past the proxy's 2 s probe timeout
    await poll('pool leaves a', async () => proxy.pool.preferred() === 'b', 15_000);
    await poll('client on b', async () => (await nodeVia(client)) === 'b', 10_000);
    await cluster.a.proxy.restore();
    await backOnPrimary();
  });

  it('HTTP requests and batches fail over too', async () => {
    await backOnPrimary();
    const post = async (body: unknown) => (await (await fetch(proxy.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as any;
    const getBalance = (id: number) => ({ jsonrpc: '2.0', id, method: 'eth_getBalance', params: [DEV_ACCOUNT, 'latest'] });
    expect(nodeOfBalance(BigInt((await post(getBalance(1))).result))).toBe('a');
    await cluster.a.proxy.cut();
    expect(nodeOfBalance(BigInt((await post(getBalance(2))).result))).toBe('b');
    const batch = await post([getBalance(3), { jsonrpc: '2.0', id: 4, method: 'eth_chainId', params: [] }]);
    expect(batch).toHaveLength(2);
    expect(nodeOfBalance(BigInt(batch[0].result))).toBe('b');
    expect(batch[1]).toEqual({ jsonrpc: '2.0', id: 4, result: '0x7a69' });
    await cluster.a.proxy.restore();
    await backOnPrimary();
    expect(nodeOfBalance(BigInt((await post(getBalance(5))).result))).toBe('a');
  });

  it('eth_unsubscribe after a failover stops the notifications', async () => {
    const client = await connect();
    const sub = (await client.call('eth_subscribe', ['newHeads'])).result as string;
    await cluster.a.proxy.cut();
    await client.waitFor('a head from b', () => client.notifications(sub).some((f) => f.at > Date.now() - 1_500) && client.notifications(sub).length > 1, 10_000);
    const unsubscribed = await client.call('eth_unsubscribe', [sub]);
    expect(unsubscribed.result).toBe(true);
    const answeredAt = Date.now();
    await sleep(2_500);
    expect(client.notifications(sub).filter((f) => f.at > answeredAt)).toEqual([]);
    await cluster.a.proxy.restore();
    await backOnPrimary();
  });

  it('serves Prometheus metrics and a JSON status on the same port', async () => {
    const client = await WsClient.connect(proxy.wsUrl);
    await client.call('eth_blockNumber');
    client.close();
    const closedClient = /steadyrpc_client_connection_duration_seconds_bucket\{le="\+Inf"\} [1-9]/;
    const metrics = await poll('a client connection observed', async () => {
      const text = await (await fetch(`${proxy.url}/metrics`)).text();
      return closedClient.test(text) && text;
    }, 5_000);
    expect(metrics).toContain('steadyrpc_node_up{node="a",tier="primary"} 1');
    expect(metrics).toMatch(/steadyrpc_session_switches_total\{to="b",reason="failover"\} \d+/);
    expect(metrics).toMatch(/steadyrpc_client_connections \d+/);
    // The cuts of a in the tests above closed the sockets sessions had on it.
    expect(metrics).toMatch(/steadyrpc_upstream_connection_duration_seconds_count\{node="a"\} [1-9]/);
    const status = (await (await fetch(`${proxy.url}/status`)).json()) as any;
    expect(status.preferred).toBe('a');
    expect(status.nodes.map((n: any) => n.name)).toEqual(['a', 'b']);
  });
});
