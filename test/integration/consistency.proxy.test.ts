/**
 * Invariants 10 and 11 on real nodes through the reference proxy (examples/proxy-server.ts): real
 * `ws` clients (one UpstreamSession each) and HTTP clients (`POST /`, through `pool.request()`), two
 * SharedChain nodes `a` (preferred) and `b`, fast health probes; `a` cut with its FaultProxy while
 * `b` is on another branch or behind. The proxy's `/metrics` counts the reorgs and held reads.
 *
 * Real time, every wait bounded. Key figures are printed (console.log) for quoting.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startProxyServer, type ProxyServer } from '../../examples/proxy-server.js';
import { RpcErrorCode } from '../../src/index.js';
import { DEV_ACCOUNT } from './helpers/anvil.js';
import { blockOf, chainNodes, FAST_HEALTH, headViolations, isForkLog, logKey, logsOf, logViolations, num, rpc, sleep, until, type Frame, type Head, type Log } from './helpers/consistency.js';
import { SharedChain } from './helpers/sharedChain.js';
import { WsClient } from './helpers/wsClient.js';

let chain: SharedChain | undefined;
let proxy: ProxyServer | undefined;
const clients: WsClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await proxy?.close();
  await chain?.stop();
  proxy = undefined;
  chain = undefined;
});

async function start(): Promise<{ chain: SharedChain; proxy: ProxyServer }> {
  chain = await SharedChain.start();
  proxy = await startProxyServer({ listen: { port: 0 }, upstreams: chainNodes(chain), health: FAST_HEALTH });
  const { pool } = proxy;
  await until('proxy probes both nodes and prefers a', () => pool.preferred() === 'a' && pool.health('b').status === 'healthy');
  return { chain, proxy };
}

async function connect(url: string): Promise<WsClient> {
  const client = await WsClient.connect(url);
  clients.push(client);
  return client;
}

let nextId = 1;

/** One JSON-RPC request over HTTP to the proxy: the answer and how long it took. */
async function post(url: string, method: string, params: unknown[] = []): Promise<{ frame: Frame; ms: number }> {
  const started = Date.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
    signal: AbortSignal.timeout(15_000),
  });
  return { frame: (await response.json()) as Frame, ms: Date.now() - started };
}

const heads = (client: WsClient, id: string) => client.notifications(id).map((n) => n.frame.params!.result as Head);
const logs = (client: WsClient, id: string) => client.notifications(id).map((n) => n.frame.params!.result as Log);

/** Reads the value of one sample of the proxy's Prometheus text (0 when absent). */
async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

describe('consistency through the reference proxy on real nodes', { timeout: 30_000 }, () => {
  it('WebSocket client: a switch onto a fork of depth 2 reads as a reorg (retractions, new branch, linked heads); /metrics counts it', async () => {
    const { chain, proxy } = await start();
    const client = await connect(proxy.wsUrl);
    const h = (await client.call('eth_subscribe', ['newHeads'])).result as string;
    const l = (await client.call('eth_subscribe', ['logs', { address: chain.logger }])).result as string;
    for (let i = 0; i < 5; i++) await chain.mine({ logs: 2 }); // 2..6
    await client.waitFor('heads 2..6 and 10 logs', () => heads(client, h).length === 5 && logs(client, l).length === 10, 5_000);

    await chain.fork('b', 2, { blocks: 2, logs: 2 }); // b: 5', 6'
    const orphaned = await logsOf(chain, 'a', 5, 6);
    const branch = await logsOf(chain, 'b', 5, 6);
    const bSix = await blockOf(chain, 'b', 6);
    const cutAt = Date.now();
    await chain.nodes.a!.proxy.cut();
    await client.waitFor("b's branch delivered", () => logs(client, l).filter(isForkLog).length === 4 && heads(client, h).some((x) => x.hash === bSix.hash), 10_000);
    const retractedAt = client.notifications(l).find((n) => n.frame.params!.result.removed === true)!.at;
    await chain.fork('b', 0, { blocks: 1, logs: 1 }); // 7 on b's branch
    const seven = await blockOf(chain, 'b', 7);
    await client.waitFor('block 7', () => heads(client, h).some((x) => x.hash === seven.hash) && logs(client, l).some((x) => x.blockHash === seven.hash), 5_000);
    await sleep(200);

    const got = heads(client, h);
    expect(got.map((x) => num(x.number))).toEqual([2, 3, 4, 5, 6, 5, 6, 7]);
    expect(got[5]!.parentHash).toBe(chain.canonical(4).hash);
    expect(headViolations(got)).toEqual([]);
    const delivered = logs(client, l);
    expect(logViolations(delivered)).toEqual([]);
    expect(delivered.slice(10, 14).map((x) => [logKey(x), x.removed])).toEqual(orphaned.map((x) => [logKey(x), true]));
    expect(delivered.slice(14).map(logKey)).toEqual([...branch.map(logKey), `${seven.hash}:0`]);
    // Every frame the client got is an answer to its own calls or a notification of its own subscriptions.
    expect(client.frames.every((f) => f.frame.method === 'eth_subscription' ? [h, l].includes(f.frame.params!.subscription) : typeof f.frame.id === 'number')).toBe(true);
    expect(await metric(proxy.url, 'steadyrpc_session_reorgs_total', { from: 'a', to: 'b', deep: 'false' })).toBe(1);
    console.log(`proxy WS, fork depth 2 at the switch: first retraction ${retractedAt - cutAt} ms after the cut; steadyrpc_session_reorgs_total{from="a",to="b",deep="false"} 1`);
  });

  it('WebSocket client and a lagging backup (3 behind): reads of what it has seen wait for b to catch up, never older or null', async () => {
    const { chain, proxy } = await start();
    const client = await connect(proxy.wsUrl);
    const h = (await client.call('eth_subscribe', ['newHeads'])).result as string;
    for (let i = 0; i < 4; i++) await chain.mine({ logs: 1 }); // 2..5
    chain.lag('b');
    for (let i = 0; i < 3; i++) await chain.mine({ logs: 2 }); // 6..8 on a only
    await client.waitFor('head 8', () => heads(client, h).some((x) => num(x.number) === 8), 5_000);
    await until('proxy pool sees b 3 behind and healthy', () => proxy.pool.health('b').head === 5 && proxy.pool.health('b').status === 'healthy');
    expect((await client.call('eth_blockNumber')).result).toBe('0x8');
    const block8 = (await client.call('eth_getBlockByNumber', ['0x8', false])).result as { hash: string; transactions: string[] };
    const tx = block8.transactions[0]!;
    const wantLogs = await logsOf(chain, 'a', 2, 8);

    const cutAt = Date.now();
    await chain.nodes.a!.proxy.cut();
    const timed = async (method: string, params: unknown[]) => {
      const started = Date.now();
      const frame = await client.call(method, params);
      return { frame, ms: Date.now() - started };
    };
    const reads = Promise.all([
      timed('eth_blockNumber', []),
      timed('eth_getBlockByNumber', ['0x8', false]),
      timed('eth_getBlockByHash', [block8.hash, false]),
      timed('eth_getTransactionReceipt', [tx]),
      timed('eth_getLogs', [{ address: chain.logger, fromBlock: '0x2', toBlock: '0x8' }]),
      timed('eth_getLogs', [{ address: chain.logger, fromBlock: '0x2', toBlock: 'latest' }]),
    ]);
    await sleep(1_200);
    const caughtUpAt = Date.now();
    await chain.catchUp('b');
    const [blockNumber, byNumber, byHash, receipt, logsTo8, logsToLatest] = await reads;
    for (const r of [blockNumber, byNumber, byHash, receipt, logsTo8, logsToLatest]) expect(r.frame.error).toBeUndefined();
    expect(num(blockNumber.frame.result)).toBeGreaterThanOrEqual(8);
    expect(byNumber.frame.result?.hash).toBe(block8.hash);
    expect(byHash.frame.result?.hash).toBe(block8.hash);
    expect(receipt.frame.result).toMatchObject({ transactionHash: tx, blockNumber: '0x8' });
    expect(logsTo8.frame.result).toEqual(wantLogs);
    expect(logsToLatest.frame.result).toEqual(wantLogs);
    for (const r of [blockNumber, byNumber, byHash, receipt, logsTo8]) expect(r.ms).toBeGreaterThanOrEqual(caughtUpAt - cutAt - 50);
    const nine = await chain.mine();
    await client.waitFor('head 9', () => heads(client, h).some((x) => x.hash === nine.hash), 5_000);
    expect(heads(client, h).map((x) => num(x.number))).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(await metric(proxy.url, 'steadyrpc_session_behind_reads_total', { node: 'b', outcome: 'held' })).toBe(6); // one per read
    expect(await metric(proxy.url, 'steadyrpc_session_behind_reads_total', { outcome: 'failed' })).toBe(0);
    console.log(`proxy WS, b 3 behind: 6 reads held ${Math.min(blockNumber.ms, logsTo8.ms)}-${Math.max(blockNumber.ms, byNumber.ms, byHash.ms, receipt.ms, logsTo8.ms, logsToLatest.ms)} ms (b caught up ${caughtUpAt - cutAt} ms after the cut)`);
  });

  it('HTTP clients (POST /) and a lagging backup: never an older number, a null or partial logs — right after the cut and once the proxy has left a', async () => {
    const { chain, proxy } = await start();
    for (let i = 0; i < 4; i++) await chain.mine({ logs: 1 }); // 2..5
    chain.lag('b');
    for (let i = 0; i < 3; i++) await chain.mine({ logs: 2 }); // 6..8 on a only
    await until('proxy pool sees a at 8, b at 5 (healthy)', () => proxy.pool.health('a').head === 8 && proxy.pool.health('b').head === 5 && proxy.pool.health('b').status === 'healthy');
    expect((await post(proxy.url, 'eth_blockNumber')).frame.result).toBe('0x8');
    const block8 = (await post(proxy.url, 'eth_getBlockByNumber', ['0x8', false])).frame.result as { hash: string; transactions: string[] };
    const tx = block8.transactions[1]!;
    const wantLogs = await logsOf(chain, 'a', 2, 8);
    const wantBalance = await rpc<string>(chain.nodes.a!.anvil.httpUrl, 'eth_getBalance', [DEV_ACCOUNT, '0x8']);
    const readAll = () =>
      Promise.all([
        post(proxy.url, 'eth_blockNumber'),
        post(proxy.url, 'eth_getBlockByNumber', ['0x8', false]),
        post(proxy.url, 'eth_getBlockByHash', [block8.hash, false]),
        post(proxy.url, 'eth_getTransactionReceipt', [tx]),
        post(proxy.url, 'eth_getLogs', [{ address: chain.logger, fromBlock: '0x2', toBlock: '0x8' }]),
        post(proxy.url, 'eth_getBalance', [DEV_ACCOUNT, 'latest']),
      ]);
    const check = (label: string, answers: Array<{ frame: Frame; ms: number }>) => {
      const [blockNumber, byNumber, byHash, receipt, logsTo8, balance] = answers;
      expect(answers.map((r) => r.frame.error ?? null), label).toEqual(answers.map(() => null));
      expect(num(blockNumber!.frame.result)).toBeGreaterThanOrEqual(8);
      expect(byNumber!.frame.result?.hash).toBe(block8.hash);
      expect(byHash!.frame.result?.hash).toBe(block8.hash);
      expect(receipt!.frame.result).toMatchObject({ transactionHash: tx, blockNumber: '0x8' });
      expect(logsTo8!.frame.result).toEqual(wantLogs);
      expect(balance!.frame.result).toBe(wantBalance);
    };

    const cutAt = Date.now();
    await chain.nodes.a!.proxy.cut();
    const rightAfterCut = readAll();
    await until('proxy pool on b', () => proxy.pool.preferred() === 'b');
    const onB = readAll();
    await sleep(1_000);
    const caughtUpAt = Date.now();
    await chain.catchUp('b');
    const [first, second] = await Promise.all([rightAfterCut, onB]);
    const summary = (answers: Array<{ frame: Frame; ms: number }>) => answers.map((r) => `${r.ms} ms ${r.frame.error ? `error ${r.frame.error.code} "${r.frame.error.message}"` : 'ok'}`).join('; ');
    console.log(`proxy HTTP, b 3 behind (caught up ${caughtUpAt - cutAt} ms after the cut): right after the cut: ${summary(first)}; once on b: ${summary(second)}`);

    check('sent once the proxy was on b', second);
    for (const r of second) expect(r.ms).toBeGreaterThanOrEqual(900);
    // The same reads sent right after the cut, while a was still marked healthy.
    check('sent right after the cut', first);
    expect(first.some((r) => r.frame.error?.code === RpcErrorCode.UPSTREAM_UNAVAILABLE)).toBe(false);
  });
});
