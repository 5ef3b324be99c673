/**
 * Issue 12, invariant 1, against a load-balanced endpoint on real parts: a real anvil behind a small
 * misbehaving node (helpers/misbehavingNode.ts) whose `eth_getBlockByNumber` answers `null` for the
 * newest blocks while its heads and `eth_blockNumber` already show them, as a provider's gateway
 * does when the backend serving a read lags the one that sent the heads. A client that was given
 * block N and asks for it never gets `null`: the read waits until a block comes back, through an
 * UpstreamSession (real `ws`) and through the reference proxy's `POST /` (`pool.request()`).
 * Real time, every wait bounded.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startProxyServer } from '../../examples/proxy-server.js';
import { NodePool, UpstreamSession } from '../../src/index.js';
import { DEV_ACCOUNT, startAnvil, type AnvilNode } from './helpers/anvil.js';
import { Recorder, recordedSession, until } from './helpers/consistency.js';
import { MisbehavingNode } from './helpers/misbehavingNode.js';

let anvil: AnvilNode;
let node: MisbehavingNode;
const closers: Array<() => unknown> = [];

beforeAll(async () => {
  anvil = await startAnvil({ blockTimeSec: 3_600 });
  node = await MisbehavingNode.start(anvil.httpUrl);
}, 60_000);

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  node.reset();
});

afterAll(async () => {
  await node?.close();
  await anvil?.stop();
});

async function rpc(method: string, params: unknown[] = []): Promise<any> {
  const response = await fetch(anvil.httpUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
  return ((await response.json()) as { result: unknown }).result;
}

const nullBlockAnswers = () => node.received.filter((r) => r.answer === 'null-block').length;
const nullAnswersTo = (method: string) => node.received.filter((r) => r.answer === 'null-block' && r.method === method).length;

/** CALLDATASIZE PUSH0 PUSH0 CALLDATACOPY PUSH1 0x2a CALLDATASIZE PUSH0 LOG1 STOP: one log of the call data. */
const LOGGER = '0x00000000000000000000000000000000000000aa';
const LOGGER_CODE = '0x365f5f37602a365fa100';

/** A transaction that logs, mined: its hash. */
async function mineALog(): Promise<string> {
  await rpc('anvil_setCode', [LOGGER, LOGGER_CODE]);
  const hash = (await rpc('eth_sendTransaction', [{ from: DEV_ACCOUNT, to: LOGGER, data: '0x1234' }])) as string;
  await rpc('anvil_mine', ['0x1']);
  return hash;
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A session on the misbehaving node (closed after the test), and its client. */
function sessionOnTheNode(): { session: UpstreamSession; client: Recorder } {
  const pool = new NodePool({ nodes: [{ name: 'a', http: node.url, ws: node.wsUrl }] });
  closers.push(() => pool.close());
  const opened = recordedSession(pool);
  closers.push(() => opened.session.close());
  return opened;
}

describe('an endpoint whose reads lag its heads (issue 12, invariant 1)', { timeout: 30_000 }, () => {
  it('UpstreamSession: a head the client was given, asked for by number, is held until the block comes back, never null', async () => {
    const { session, client } = sessionOnTheNode();
    const subscription = await client.subscribe(['newHeads']);
    await rpc('anvil_mine', ['0x3']);
    const head = await until('three heads', () => client.heads(subscription).length >= 3 && client.heads(subscription).at(-1));
    const n = Number(head.number);
    node.nullBlocksAbove(n - 2);
    const read = client.call('eth_getBlockByNumber', [`0x${n.toString(16)}`, false]);
    await until('the endpoint answered null twice (the read was sent again)', () => nullBlockAnswers() >= 2);
    expect(client.frames.filter((f) => f.frame.method === undefined && f.frame.result === null)).toEqual([]);
    node.nullBlocksAbove(undefined);
    const { frame } = await read;
    expect(frame.result).toMatchObject({ number: head.number, hash: head.hash });
    expect(session.stats().heldBehind).toBe(1);
  });

  it("UpstreamSession: the receipt, the transaction and the block of a log the client was given are held until the backend has them, never null", async () => {
    const { session, client } = sessionOnTheNode();
    const subscription = await client.subscribe(['logs', { address: LOGGER }]);
    const tx = await mineALog();
    const [log] = await until('the log', () => client.logs(subscription).length >= 1 && client.logs(subscription));
    expect(log!.transactionHash).toBe(tx);
    node.nullForHashes([tx, log!.blockHash]);
    const reads = [client.call('eth_getTransactionReceipt', [tx]), client.call('eth_getTransactionByHash', [tx]), client.call('eth_getBlockByHash', [log!.blockHash, false])];
    await until('the endpoint answered each null twice (each read was sent again)', () =>
      ['eth_getTransactionReceipt', 'eth_getTransactionByHash', 'eth_getBlockByHash'].every((method) => nullAnswersTo(method) >= 2),
    );
    expect(client.frames.filter((f) => f.frame.method === undefined && f.frame.result === null)).toEqual([]);
    node.nullForHashes(undefined);
    const [receipt, transaction, block] = (await Promise.all(reads)).map((r) => r.frame.result);
    expect(receipt).toMatchObject({ transactionHash: tx, blockHash: log!.blockHash, status: '0x1' });
    expect(transaction).toMatchObject({ hash: tx, blockHash: log!.blockHash });
    expect(block).toMatchObject({ hash: log!.blockHash, number: log!.blockNumber });
    expect(session.stats().heldBehind).toBe(3);
    // A hash it was never given: the endpoint's null is the answer, at once.
    const { frame } = await client.call('eth_getTransactionReceipt', [`0x${'ab'.repeat(32)}`]);
    expect(frame.result).toBeNull();
  });

  it("the proxy's POST /: the receipt of a transaction of an eth_getLogs answer waits for the endpoint's read backend", async () => {
    const proxy = await startProxyServer({ listen: { port: 0 }, upstreams: [{ name: 'a', http: node.url, ws: node.wsUrl }] });
    closers.push(() => proxy.close());
    const tx = await mineALog();
    const post = async (method: string, params: unknown[]) => {
      const response = await fetch(proxy.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }) });
      return (await response.json()) as { result?: any; error?: unknown };
    };
    const logs = (await post('eth_getLogs', [{ fromBlock: 'latest', toBlock: 'latest', address: LOGGER }])).result as Array<{ transactionHash: string }>;
    expect(logs.map((l) => l.transactionHash)).toEqual([tx]);
    node.nullForHashes([tx]);
    const pending = post('eth_getTransactionReceipt', [tx]);
    await until('the endpoint answered null twice', () => nullAnswersTo('eth_getTransactionReceipt') >= 2);
    node.nullForHashes(undefined);
    const answer = await pending;
    expect(answer.error).toBeUndefined();
    expect(answer.result).toMatchObject({ transactionHash: tx, status: '0x1' });
  });

  it("the proxy's POST /: a block its clients were shown waits for the endpoint's read backend", async () => {
    const proxy = await startProxyServer({ listen: { port: 0 }, upstreams: [{ name: 'a', http: node.url, ws: node.wsUrl }] });
    closers.push(() => proxy.close());
    await rpc('anvil_mine', ['0x2']);
    const post = async (method: string, params: unknown[]) => {
      const response = await fetch(proxy.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 7, method, params }) });
      return (await response.json()) as { result?: any; error?: unknown };
    };
    const n = Number((await post('eth_blockNumber', [])).result); // the pool's view is now n
    node.nullBlocksAbove(n - 1);
    const pending = post('eth_getBlockByNumber', [`0x${n.toString(16)}`, false]);
    await until('the endpoint answered null twice', () => nullBlockAnswers() >= 2);
    await sleep(100);
    node.nullBlocksAbove(undefined);
    const answer = await pending;
    expect(answer.error).toBeUndefined();
    expect(Number(answer.result.number)).toBe(n);
  });
});
