import { createPublicClient, custom, fallback, InternalRpcError, MethodNotFoundRpcError, ProviderDisconnectedError, RpcRequestError } from 'viem';
import { watchBlockNumber } from 'viem/actions';
import { describe, expect, it, vi } from 'vitest';
import { FakeSocketTransport } from '../../src/testing/index.js';
import { resilientTransport } from '../../src/viem.js';
import { adapterWorld, sentTo, settled, type AdapterWorld } from './world.js';
import { ADDRESS, viemClient } from './viemClient.js';

/** Runs `action` while letting the fakes answer. */
async function run<T>(world: AdapterWorld, action: Promise<T>): Promise<T> {
  await world.settle();
  return action;
}

describe('requests', () => {
  it('is a webSocket-type transport that resolves with the result', async () => {
    const { world, client } = await viemClient();
    expect(client.transport.type).toBe('webSocket');
    expect(client.transport.retryCount).toBe(0);
    expect(await run(world, client.getBalance({ address: ADDRESS }))).toBe(1n);
    expect(await run(world, client.getBlockNumber({ cacheTime: 0 }))).toBe(100n);
    client.transport.close();
  });

  it('retryCount opts back in to viem retries, and wins over what a parent (viem fallback: 0) passes; without one, the parent decides', async () => {
    const { client } = await viemClient({ retryCount: 3 });
    expect(client.transport.retryCount).toBe(3);
    client.transport.close();
    const world = adapterWorld();
    const member = resilientTransport({ ...world.nodesOptions(), retryCount: 3 });
    expect(member({ retryCount: 0 }).config.retryCount).toBe(3);
    const plain = resilientTransport(world.nodesOptions())({ retryCount: 2 });
    expect(plain.config.retryCount).toBe(2);
    member({}).value!.close();
    plain.value!.close();
    expect(world.clock.pendingTimers).toBe(0);
  });

  it('maps a JSON-RPC error to the viem error for its code', async () => {
    const { world, client } = await viemClient();
    const missing = client.request({ method: 'eth_doesNotExist' as never }).catch((e: unknown) => e);
    const error = await run(world, missing);
    expect(error).toBeInstanceOf(MethodNotFoundRpcError);
    expect((error as MethodNotFoundRpcError).code).toBe(-32601);
    client.transport.close();
  });

  it('does not retry on top of steadyrpc: an internal error is asked once', async () => {
    const { world, client } = await viemClient();
    world.nodes.a.setMode('rpc-error');
    const before = world.nodes.a.calls.get('eth_blockNumber') ?? 0;
    const error = await run(world, client.getBlockNumber({ cacheTime: 0 }).catch((e: unknown) => e));
    expect(error).toBeInstanceOf(InternalRpcError);
    expect(world.nodes.a.calls.get('eth_blockNumber')! - before).toBe(1);
    client.transport.close();
  });

  it('keeps a steadyrpc code (here QUEUE_FULL, -32051) on an RpcRequestError', async () => {
    // No server behind these sockets: they never open, calls queue, and the second overflows.
    const { world, client } = await viemClient({ session: { transport: new FakeSocketTransport(), queue: { maxCount: 1 } } });
    const first = client.getChainId().catch((e: unknown) => e);
    const second = client.request({ method: 'eth_blockNumber' }).catch((e: unknown) => e);
    await world.settle();
    const error = await second;
    expect(error).toBeInstanceOf(RpcRequestError);
    expect((error as RpcRequestError).code).toBe(-32051);
    client.transport.close();
    expect(await first).toBeInstanceOf(ProviderDisconnectedError);
  });
});

describe('batch', () => {
  it('hands calls made together to the session as one JSON-RPC batch frame', async () => {
    const { world, client } = await viemClient({ batch: true });
    const send = vi.spyOn(client.transport.session, 'send');
    const results = Promise.all([client.getBalance({ address: ADDRESS }), client.getBlockNumber({ cacheTime: 0 }), client.getChainId()]);
    await world.settle();
    expect(send).not.toHaveBeenCalled(); // waiting for the batch timer (wait: 0 → the next timer turn)
    await world.clock.advance(0);
    await world.settle();
    expect(await results).toEqual([1n, 100n, 1]);
    expect(send).toHaveBeenCalledTimes(1);
    const frame = JSON.parse(send.mock.calls[0]![0]) as Array<{ method: string }>;
    expect(frame.map((call) => call.method)).toEqual(['eth_getBalance', 'eth_blockNumber', 'eth_chainId']);
    client.transport.close();
  });

  it('validates the batch settings when a client first uses the transport', () => {
    const transport = resilientTransport({ ...adapterWorld().nodesOptions(), batch: { batchSize: 0 } });
    expect(() => createPublicClient({ transport })).toThrow(/Expected batch.batchSize to be an integer >= 1, got 0/);
  });

  it('sends a full batch at once and answers each call with its own result or error', async () => {
    const { world, client } = await viemClient({ batch: { batchSize: 2, wait: 50 } });
    const ok = client.getBalance({ address: ADDRESS });
    const bad = client.request({ method: 'eth_nope' as never }).catch((e: unknown) => e);
    await world.settle();
    expect(await ok).toBe(1n);
    expect(await bad).toBeInstanceOf(MethodNotFoundRpcError);
    client.transport.close();
  });
});

describe('subscriptions', () => {
  it('watchBlockNumber({ poll: false }) subscribes and keeps delivering across failover and failback', async () => {
    const { world, client } = await viemClient();
    const blocks: bigint[] = [];
    const errors: unknown[] = [];
    const unwatch = watchBlockNumber(client, { poll: false, onBlockNumber: (n) => blocks.push(n), onError: (e) => errors.push(e) });
    await world.settle();
    expect(world.nodes.a.calls.get('eth_subscribe')).toBe(1);
    world.nodes.a.advance(1);
    world.nodes.a.cut();
    await world.settle();
    expect(client.transport.session.node).toBe('b');
    world.nodes.b.advance(2);
    world.nodes.a.restore();
    await world.clock.advance(3_000); // health rounds: a is down, then up again → failback
    await world.settle();
    expect(client.transport.session.node).toBe('a');
    world.nodes.a.advance(2); // a's 102 is the block b already gave (one chain): not repeated
    expect(blocks).toEqual([101n, 102n, 103n]);
    expect(errors).toEqual([]);
    unwatch();
    await world.settle();
    expect(world.nodes.a.subscriptionCount).toBe(0);
    client.transport.close();
  });

  it('value.subscribe hands notifications with a stable id to onData', async () => {
    const { world, client } = await viemClient();
    const data: unknown[] = [];
    const subscribed = client.transport.subscribe({ params: ['newHeads'], onData: (d) => data.push(d) });
    const { subscriptionId, unsubscribe } = await run(world, subscribed);
    world.nodes.a.advance(1);
    expect(data).toEqual([{ subscription: subscriptionId, result: expect.objectContaining({ number: '0x65' }) }]);
    expect(await run(world, unsubscribe())).toEqual({ jsonrpc: '2.0', id: 0, result: true });
    client.transport.close();
    // After close, unsubscribe resolves (viem never handles its promise) with a 4900 error.
    expect(await unsubscribe()).toMatchObject({ error: { code: 4900 } });
  });

  it('watch actions subscribe by default (no poll option): the transport type is webSocket', async () => {
    const { world, client } = await viemClient();
    const blocks: Array<bigint | null> = [];
    client.watchBlocks({ onBlock: (block) => blocks.push(block.number) });
    await world.settle();
    expect(world.nodes.a.calls.get('eth_subscribe')).toBe(1);
    expect(world.nodes.a.calls.get('eth_blockNumber') ?? 0).toBe(0);
    world.nodes.a.advance(1);
    await world.settle();
    expect(blocks).toEqual([101n]);
    client.transport.close();
  });

  it('watchEvent({ poll: false }) subscribes to logs and keeps its subscription across a failover', async () => {
    const { world, client } = await viemClient();
    const logs: unknown[] = [];
    const errors: unknown[] = [];
    client.watchEvent({ poll: false, address: ADDRESS, onLogs: (batch) => logs.push(...batch), onError: (e) => errors.push(e) });
    await world.settle();
    expect(world.nodes.a.calls.get('eth_subscribe')).toBe(1);
    world.nodes.a.notify('logs', fakeLog(1));
    world.nodes.a.cut();
    await world.settle();
    world.nodes.b.notify('logs', fakeLog(2));
    expect(logs).toMatchObject([{ blockNumber: 1n, address: ADDRESS }, { blockNumber: 2n, address: ADDRESS }]);
    expect(errors).toEqual([]);
    client.transport.close();
  });

  it('a refused eth_subscribe rejects with the node\'s code', async () => {
    const { world, client } = await viemClient();
    const refused = await run(world, client.transport.subscribe({ params: ['bogus'], onData: () => {} }).catch((e: unknown) => e));
    expect(refused).toBeInstanceOf(RpcRequestError);
    expect((refused as RpcRequestError).code).toBe(-32602);
    client.transport.close();
  });
});

function fakeLog(block: number) {
  const hash = `0x${block.toString(16).padStart(64, '0')}`;
  return {
    address: ADDRESS,
    topics: [],
    data: '0x',
    blockNumber: `0x${block.toString(16)}`,
    blockHash: hash,
    transactionHash: hash,
    transactionIndex: '0x0',
    logIndex: '0x0',
    removed: false,
  };
}

describe('lifecycle', () => {
  it('creates one session for every client of the transport, on first use', async () => {
    const world = adapterWorld();
    const transport = resilientTransport(world.nodesOptions());
    await world.settle();
    expect(world.sockets.sockets).toHaveLength(0);
    const one = createPublicClient({ transport });
    const two = createPublicClient({ transport });
    await world.settle();
    expect(world.sockets.sockets).toHaveLength(1);
    expect(one.transport.session).toBe(two.transport.session);
    one.transport.close();
    // A client made after close() opens nothing again; its calls reject with 4900.
    const three = createPublicClient({ transport });
    const call = three.getBlockNumber({ cacheTime: 0 }).catch((e: unknown) => e);
    expect(await settled(call, world)).toBe(true);
    expect(await call).toBeInstanceOf(ProviderDisconnectedError);
    expect(world.sockets.sockets).toHaveLength(1);
  });

  it('close() rejects calls in flight with ProviderDisconnectedError and leaves no timer or socket', async () => {
    const { world, client } = await viemClient();
    world.nodes.a.blackhole();
    const pending = client.getBlockNumber({ cacheTime: 0 }).catch((e: unknown) => e);
    expect(await settled(pending, world)).toBe(false);
    client.transport.close();
    const error = await pending;
    expect(error).toBeInstanceOf(ProviderDisconnectedError);
    expect(world.clock.pendingTimers).toBe(0);
    expect(world.sockets.openSockets).toEqual([]);
    expect(client.transport.pool.closed).toBe(true);
    client.transport.close(); // idempotent
  });

  it('close() with a batch waiting on its timer leaves no timer and rejects the call', async () => {
    const { world, client } = await viemClient({ batch: { wait: 50 } });
    const pending = client.getBlockNumber({ cacheTime: 0 }).catch((e: unknown) => e);
    await world.settle();
    client.transport.close();
    expect(await settled(pending, world)).toBe(true);
    expect(world.clock.pendingTimers).toBe(0);
    expect(world.sockets.openSockets).toEqual([]);
  });

  it('batch: a call through an already-created client after close() rejects at once with ProviderDisconnectedError, setting no timer', async () => {
    const { world, client } = await viemClient({ batch: { wait: 50 } });
    client.transport.close();
    const pending = client.getBlockNumber({ cacheTime: 0 }).catch((e: unknown) => e);
    expect(world.clock.pendingTimers).toBe(0);
    await world.settle();
    expect(world.clock.pendingTimers).toBe(0);
    expect(await settled(pending, world)).toBe(true);
    expect(await pending).toBeInstanceOf(ProviderDisconnectedError);
  });

  it("after close(), the transport made again (viem's fallback makes it per request, and to rank) does not throw; its calls reject with ProviderDisconnectedError", async () => {
    const world = adapterWorld();
    const transport = resilientTransport(world.nodesOptions());
    const client = createPublicClient({ transport });
    await world.settle();
    client.transport.close();
    let made: ReturnType<typeof transport> | undefined;
    expect(() => (made = transport({}))).not.toThrow();
    const call = made!.request({ method: 'eth_blockNumber' }).catch((e: unknown) => e);
    expect(await settled(call, world)).toBe(true);
    expect(await call).toBeInstanceOf(ProviderDisconnectedError);
  });

  it("inside viem's fallback, once closed, the next transport answers", async () => {
    const world = adapterWorld();
    let asked = 0;
    const other = custom({ request: async ({ method }) => (asked++, method === 'eth_blockNumber' ? '0x7' : null) });
    const client = createPublicClient({ transport: fallback([resilientTransport(world.nodesOptions()), other], { retryCount: 0 }) });
    await world.settle();
    expect(await run(world, client.getBlockNumber({ cacheTime: 0 }))).toBe(100n);
    expect(asked).toBe(0);
    (client.transport.transports[0]!.value as { close(): void }).close();
    expect(await run(world, client.getBlockNumber({ cacheTime: 0 }))).toBe(7n);
    expect(asked).toBe(1);
  });
});
