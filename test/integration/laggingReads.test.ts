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
import { startAnvil, type AnvilNode } from './helpers/anvil.js';
import { Recorder, until } from './helpers/consistency.js';
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
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('an endpoint whose reads lag its heads (issue 12, invariant 1)', { timeout: 30_000 }, () => {
  it('UpstreamSession: a head the client was given, asked for by number, is held until the block comes back, never null', async () => {
    const pool = new NodePool({ nodes: [{ name: 'a', http: node.url, ws: node.wsUrl }] });
    closers.push(() => pool.close());
    const session = new UpstreamSession({ pool });
    closers.push(() => session.close());
    const client = new Recorder((text) => session.send(text));
    session.on('message', (text) => client.receive(text));
    session.on('error', () => {});
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
