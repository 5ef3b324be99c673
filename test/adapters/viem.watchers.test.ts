import { createPublicClient } from 'viem';
import { watchBlocks, watchEvent } from 'viem/actions';
import { describe, expect, it, vi } from 'vitest';
import { resilientTransport } from '../../src/viem.js';
import { adapterWorld, sentTo } from './world.js';
import { ADDRESS, viemClient } from './viemClient.js';

describe('viem: watchers', () => {
  it('watchBlocks({ includeTransactions: true }) asks for full blocks and delivers them', async () => {
    const { world, client } = await viemClient();
    const blocks: unknown[] = [];
    const errors: unknown[] = [];
    const unwatch = watchBlocks(client, { includeTransactions: true, onBlock: (b) => blocks.push(b.number), onError: (e) => errors.push(e) });
    await world.settle();
    world.nodes.a.advance(1);
    await world.settle();
    await world.settle();
    expect(blocks).toEqual([101n]);
    const gets = sentTo(world, 'a').filter((f) => f.method === 'eth_getBlockByNumber');
    expect(gets.at(-1)!.params).toEqual(['0x65', true]);
    expect(errors).toEqual([]);
    unwatch();
    await world.settle();
    expect(world.nodes.a.subscriptionCount).toBe(0);
    client.transport.close();
  });

  it('unwatch() before eth_subscribe is answered still releases the upstream subscription', async () => {
    const { world, client } = await viemClient();
    const unwatch = watchEvent(client, { poll: false, address: ADDRESS, onLogs: () => {} });
    unwatch(); // same turn
    await world.settle();
    await world.settle();
    expect(world.nodes.a.calls.get('eth_subscribe')).toBe(1);
    expect(world.nodes.a.subscriptionCount).toBe(0);
    expect(client.transport.session.stats().subscriptions).toBe(0);
    client.transport.close();
  });

  it('unwatch() during a failover releases the subscription on the node it was replayed to', async () => {
    const { world, client } = await viemClient();
    const unwatch = watchEvent(client, { poll: false, address: ADDRESS, onLogs: () => {} });
    await world.settle();
    world.nodes.a.cut();
    await world.settle();
    expect(client.transport.session.node).toBe('b');
    expect(world.nodes.b.subscriptionCount).toBe(1);
    unwatch();
    await world.settle();
    expect(world.nodes.b.subscriptionCount).toBe(0);
    expect(client.transport.session.stats().subscriptions).toBe(0);
    client.transport.close();
  });
});

describe('viem: notifications reach the right watcher after a failover reassigns upstream ids', () => {
  it('logs and heads stay apart when the backup numbers its subscriptions differently', async () => {
    const world = adapterWorld();
    const client = createPublicClient({ transport: resilientTransport(world.nodesOptions()) });
    await world.settle();
    const t = client.transport;
    const heads: unknown[] = [];
    const logs: unknown[] = [];
    const first = await (async () => {
      const s = t.subscribe({ params: ['logs', {}], onData: () => {} });
      await world.settle();
      return s;
    })();
    const h = t.subscribe({ params: ['newHeads'], onData: (d) => heads.push(d.result) });
    await world.settle();
    const hs = await h;
    await first.unsubscribe();
    await world.settle();
    const l = t.subscribe({ params: ['logs', {}], onData: (d) => logs.push(d.result) });
    await world.settle();
    const ls = await l;
    expect(new Set([hs.subscriptionId, ls.subscriptionId, first.subscriptionId]).size).toBe(3);
    world.nodes.a.cut();
    await world.settle();
    expect(t.session.node).toBe('b');
    world.nodes.b.advance(1);
    world.nodes.b.emitLog(ADDRESS);
    await world.settle();
    expect(heads).toEqual([expect.objectContaining({ number: '0x65' })]);
    expect(logs).toEqual([expect.objectContaining({ address: ADDRESS })]);
    t.close();
  });
});

describe('viem: a watcher started while no node is reachable', () => {
  // viem gives up on a watcher whose subscribe rejects (one onError, then nothing, for good): the
  // transport asks again, as ethers' adapter does its own subscriptions, until a node takes it.
  it('starts delivering once a node is back, even after the queue gave the first subscribe up', async () => {
    const world = adapterWorld();
    world.nodes.a.cut();
    world.nodes.b.cut();
    const client = createPublicClient({ transport: resilientTransport(world.nodesOptions()) });
    const blocks: bigint[] = [];
    const errors: unknown[] = [];
    const unwatch = watchBlocks(client, { onBlock: (b) => blocks.push(b.number!), onError: (e) => errors.push(e) });
    // Past the queue's 10 s: the first eth_subscribe was answered REQUEST_TIMEOUT, and asked again.
    await world.clock.advance(25_000);
    await world.settle();
    expect(client.transport.session.stats().subscriptions).toBe(0);
    world.nodes.b.restore();
    await world.clock.advance(35_000);
    await world.settle();
    expect(client.transport.session.node).toBe('b');
    expect(world.nodes.b.subscriptionCount).toBe(1);
    world.nodes.b.advance(1);
    await world.settle();
    await world.settle();
    expect(blocks).toEqual([101n]);
    expect(errors).toEqual([]);
    unwatch();
    await world.settle();
    expect(world.nodes.b.subscriptionCount).toBe(0);
    client.transport.close();
  });

  it('close() while it waits to ask again rejects it with the disconnected error, and asks nothing more', async () => {
    const world = adapterWorld();
    world.nodes.a.cut();
    world.nodes.b.cut();
    const client = createPublicClient({ transport: resilientTransport(world.nodesOptions()) });
    const subscribed = client.transport.subscribe({ params: ['newHeads'], onData: () => {} }).catch((e: unknown) => e);
    await world.clock.advance(11_000);
    await world.settle();
    client.transport.close();
    const error = (await subscribed) as { code?: number };
    expect(error.code).toBe(4900);
    expect(world.clock.pendingTimers).toBe(0);
  });

  it('a node that refuses the subscription rejects it at once (not asked again)', async () => {
    const world = adapterWorld();
    const client = createPublicClient({ transport: resilientTransport(world.nodesOptions()) });
    await world.settle();
    const subscribed = client.transport.subscribe({ params: ['nonsense'], onData: () => {} }).catch((e: unknown) => e);
    await world.settle();
    await world.settle();
    const error = (await subscribed) as { code?: number };
    expect(typeof error.code).toBe('number');
    expect(error.code).not.toBe(4900);
    expect(world.nodes.a.calls.get('eth_subscribe')).toBe(1);
    client.transport.close();
  });
});

describe('viem: unwatch() refused for now by the session', () => {
  // viem's watchers call unsubscribe() once and never look at its answer: one the session refuses
  // LIMIT_EXCEEDED (maxInFlight reached) would leave the subscription in the session and on the
  // node for good, with nobody to hear it, replayed on every switch.
  it('is asked again until the session takes it: the subscription leaves the session and the node', async () => {
    const world = adapterWorld();
    const options = world.nodesOptions();
    const client = createPublicClient({ transport: resilientTransport({ ...options, session: { ...options.session, maxInFlight: 2 } }) });
    await world.settle();
    const unwatch = watchBlocks(client, { onBlock: () => {} });
    await world.settle();
    expect(world.nodes.a.subscriptionCount).toBe(1);
    world.nodes.a.setMode('stall');
    const calls = [client.getBlockNumber({ cacheTime: 0 }), client.getChainId()];
    await world.settle();
    const send = vi.spyOn(client.transport.session, 'send');
    unwatch();
    await world.settle();
    expect(send.mock.calls.map(([text]) => JSON.parse(text).method)).toEqual(['eth_unsubscribe']);
    expect(client.transport.session.stats().subscriptions).toBe(1); // refused: two calls in flight
    // The node goes: the two calls are answered by the backup, and the unsubscribe asked again.
    world.nodes.a.cut();
    await world.settle();
    expect(client.transport.session.node).toBe('b');
    expect(await Promise.all(calls)).toEqual([100n, 1]);
    await world.clock.advance(1_000);
    await world.settle();
    expect(client.transport.session.stats().subscriptions).toBe(0);
    expect(world.nodes.b.subscriptionCount).toBe(0);
    client.transport.close();
    expect(world.clock.pendingTimers).toBe(0);
  });

  it('close() while it waits to ask again answers it 4900 (it never rejects) and leaves no timer', async () => {
    const world = adapterWorld();
    const options = world.nodesOptions();
    const client = createPublicClient({ transport: resilientTransport({ ...options, session: { ...options.session, maxInFlight: 1 } }) });
    await world.settle();
    const subscribed = client.transport.subscribe({ params: ['newHeads'], onData: () => {} });
    await world.settle();
    const { unsubscribe } = await subscribed;
    world.nodes.a.setMode('stall');
    const call = client.getBlockNumber({ cacheTime: 0 }).catch((e: unknown) => e);
    await world.settle();
    const unsubscribed = unsubscribe();
    await world.settle();
    client.transport.close();
    expect(await unsubscribed).toMatchObject({ error: { code: 4900 } });
    expect(await call).toMatchObject({ code: 4900 });
    expect(world.clock.pendingTimers).toBe(0);
  });
});
