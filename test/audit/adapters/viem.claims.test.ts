/**
 * Audit of docs/guides/viem.md against src/adapters/viem.ts (and viem 2.57 itself): claims no
 * existing test pinned. Fake nodes and the fake clock; nothing sleeps.
 */
import { createPublicClient, fallback, LimitExceededRpcError, MethodNotSupportedRpcError, parseAbi, RpcRequestError } from 'viem';
import { describe, expect, it, vi } from 'vitest';
import type { FakeSocket } from '../../../src/testing/index.js';
import { resilientTransport } from '../../../src/viem.js';
import { adapterWorld, extend, sentTo, settled, type AdapterWorld } from '../../adapters/world.js';
import { ADDRESS, viemClient } from '../../adapters/viemClient.js';

/**
 * Node `a` answers `test_slow` only when `release()` is called (its socket stays alive: keepalives
 * and other calls are answered at once).
 */
function slowMethod(world: AdapterWorld): { release(): void; held(): number } {
  const held: Array<() => void> = [];
  extend(world.nodes.a, (r) => (r.method === 'test_slow' ? { result: 'slow' } : undefined));
  world.sockets.route('ws://a.test/', (socket: FakeSocket) => {
    const receiveJson = socket.receiveJson.bind(socket);
    socket.receiveJson = (value: unknown) => {
      if ((value as { result?: unknown })?.result === 'slow') held.push(() => receiveJson(value));
      else receiveJson(value);
    };
    world.nodes.a.socket(socket);
  });
  return { release: () => held.splice(0).forEach((answer) => answer()), held: () => held.length };
}

describe('viem guide: options table defaults', () => {
  it('retryDelay defaults to 150 ms, key and name to "steadyrpc"; each can be set', async () => {
    const { client } = await viemClient();
    expect(client.transport.retryDelay).toBe(150);
    expect(client.transport.key).toBe('steadyrpc');
    expect(client.transport.name).toBe('steadyrpc');
    client.transport.close();
    const { client: named } = await viemClient({ key: 'k', name: 'n', retryDelay: 7 });
    expect([named.transport.key, named.transport.name, named.transport.retryDelay]).toEqual(['k', 'n', 7]);
    named.transport.close();
  });

  it('methods: { exclude } / { include } refuse a method with MethodNotSupportedRpcError without sending it', async () => {
    const { world, client } = await viemClient({ methods: { exclude: ['eth_getBalance'] } });
    const send = vi.spyOn(client.transport.session, 'send');
    const refused = client.getBalance({ address: ADDRESS }).catch((e: unknown) => e);
    expect(await settled(refused, world)).toBe(true);
    expect(await refused).toBeInstanceOf(MethodNotSupportedRpcError);
    expect(send).not.toHaveBeenCalled();
    client.transport.close();
    const { world: w2, client: only } = await viemClient({ methods: { include: ['eth_blockNumber'] } });
    const block = only.getBlockNumber({ cacheTime: 0 });
    await w2.settle();
    expect(await block).toBe(100n);
    expect(await only.getChainId().catch((e: unknown) => e)).toBeInstanceOf(MethodNotSupportedRpcError);
    only.transport.close();
  });

  it('batch: true gathers up to batchSize = 1,000 calls: the 1,000th sends the frame at once, without waiting for the timer', async () => {
    const { world, client } = await viemClient({ batch: true });
    const send = vi.spyOn(client.transport.session, 'send');
    const calls = Promise.all(Array.from({ length: 1_000 }, () => client.request({ method: 'eth_blockNumber' })));
    await world.settle(); // the fake clock does not move: wait = 0 ms has not fired
    expect(send).toHaveBeenCalledTimes(1);
    expect(JSON.parse(send.mock.calls[0]![0])).toHaveLength(1_000);
    await world.settle();
    expect(new Set(await calls)).toEqual(new Set(['0x64']));
    client.transport.close();
  });
});

describe('viem guide: batch answers', () => {
  it('one slow call holds back the answers of its batch (the session answers a batch frame whole)', async () => {
    const world = adapterWorld();
    const slow = slowMethod(world);
    const { client } = await viemClient({ world, batch: true });
    const fast = client.request({ method: 'eth_blockNumber' });
    const held = client.request({ method: 'test_slow' } as never);
    await world.clock.advance(0); // the batch timer (wait: 0)
    await world.settle();
    expect(slow.held()).toBe(1);
    // One batch frame from viem; upstream, each call on its own.
    const upstream = sentTo(world, 'a');
    expect(upstream.some((frame) => Array.isArray(frame))).toBe(false);
    expect(upstream.filter((frame) => frame.method === 'test_slow')).toHaveLength(1);
    expect(await settled(fast, world)).toBe(false); // answered by the node, held with its batch
    slow.release();
    await world.settle();
    expect(await fast).toBe('0x64');
    expect(await held).toBe('slow');
    client.transport.close();
  });

  it('control: without batch, the fast call is not held back by the slow one', async () => {
    const world = adapterWorld();
    const slow = slowMethod(world);
    const { client } = await viemClient({ world });
    const fast = client.request({ method: 'eth_blockNumber' });
    void client.request({ method: 'test_slow' } as never).catch(() => {});
    await world.settle();
    expect(slow.held()).toBe(1);
    expect(await settled(fast, world)).toBe(true);
    client.transport.close();
  });
});

describe('viem guide: deadlines, not viem\'s client-level timeout', () => {
  it('a sent call the node never answers rejects with REQUEST_TIMEOUT (-32052) at the session\'s requestTimeoutMs (30 s), not before', async () => {
    const world = adapterWorld();
    slowMethod(world);
    const { client } = await viemClient({ world });
    expect(client.transport.timeout).toBe(30_000);
    const call = client.request({ method: 'test_slow' } as never).catch((e: unknown) => e);
    await world.settle();
    await world.clock.advance(29_999);
    expect(await settled(call, world)).toBe(false);
    await world.clock.advance(1);
    expect(await settled(call, world)).toBe(true);
    const error = (await call) as RpcRequestError;
    expect(error).toBeInstanceOf(RpcRequestError);
    expect(error.code).toBe(-32052);
    client.transport.close();
  });

  it('a call made while no node is reachable waits in the queue and is answered once one is back (before queue.maxWaitMs)', async () => {
    const world = adapterWorld();
    world.nodes.a.cut();
    world.nodes.b.cut();
    const { client } = await viemClient({ world });
    const call = client.getBalance({ address: ADDRESS }).catch((e: unknown) => e);
    await world.clock.advance(3_000);
    expect(await settled(call, world)).toBe(false);
    world.nodes.a.restore();
    world.nodes.b.restore();
    await world.clock.advance(5_000); // reconnect backoff and health rounds, within the 10 s queue wait
    await world.settle();
    expect(await call).toBe(1n);
    client.transport.close();
  });
});

describe("viem guide: retries inside viem's fallback", () => {
  it("the fallback's own retryCount (viem's default 3) retries the whole fallback: an internal error is asked 4 times; with retryCount: 0, once", async () => {
    for (const [fallbackRetryCount, asked] of [[undefined, 4], [0, 1]] as const) {
      const world = adapterWorld();
      world.nodes.a.setMode('rpc-error');
      // retryDelay 0: viem's retries wait on real timers; none here.
      const client = createPublicClient({ transport: fallback([resilientTransport(world.nodesOptions())], { retryCount: fallbackRetryCount, retryDelay: 0 }) });
      await world.settle();
      expect(client.transport.transports[0]!.config.retryCount).toBe(0);
      const before = world.nodes.a.calls.get('eth_blockNumber') ?? 0;
      const call = client.getBlockNumber({ cacheTime: 0 }).catch((e: unknown) => e);
      for (let i = 0; i < 10; i++) await world.settle();
      await call;
      expect((world.nodes.a.calls.get('eth_blockNumber') ?? 0) - before).toBe(asked);
      (client.transport.transports[0]!.value as { close(): void }).close();
    }
  });
});

describe('viem guide: subscriptions', () => {
  it('watchContractEvent subscribes with eth_subscribe by default (no poll option)', async () => {
    const { world, client } = await viemClient();
    const unwatch = client.watchContractEvent({ address: ADDRESS, abi: parseAbi(['event Ping()']), onLogs: () => {} });
    await world.settle();
    expect(world.nodes.a.calls.get('eth_subscribe')).toBe(1);
    expect(world.nodes.a.calls.get('eth_newFilter') ?? 0).toBe(0);
    unwatch();
    client.transport.close();
  });

  it('the transport value has no getSocket() / getRpcClient() (viem\'s actions use only subscribe)', async () => {
    const { client } = await viemClient();
    expect((client.transport as unknown as Record<string, unknown>).getSocket).toBeUndefined();
    expect((client.transport as unknown as Record<string, unknown>).getRpcClient).toBeUndefined();
    expect(typeof client.transport.subscribe).toBe('function');
    client.transport.close();
  });
});

/**
 * viem's request layer turns every -32005 into its LimitExceededRpcError (the class of a provider's
 * rate limit, which viem retries once retryCount is set), the session's own LIMIT_EXCEEDED
 * (maxInFlight, maxSubscriptions) too: the guide says so (the audit found it said "steadyrpc's own
 * codes stay on the RpcRequestError" for all of them). The other codes (-32050…-32055) stay on the
 * RpcRequestError (viem.test.ts, QUEUE_FULL).
 */
describe("viem guide: the session's LIMIT_EXCEEDED becomes viem's LimitExceededRpcError", () => {
  it('LIMIT_EXCEEDED (-32005) from the session reaches the caller as a LimitExceededRpcError whose cause carries data { limit, max }', async () => {
    const world = adapterWorld();
    slowMethod(world);
    const { client } = await viemClient({ world, session: { ...world.nodesOptions().session, maxInFlight: 1 } });
    const first = client.request({ method: 'test_slow' } as never).catch((e: unknown) => e);
    await world.settle();
    const limited = (await client.request({ method: 'eth_blockNumber' }).catch((e: unknown) => e)) as RpcRequestError;
    expect(limited.code).toBe(-32005);
    expect(limited).toBeInstanceOf(LimitExceededRpcError);
    expect((limited as unknown as { cause?: { data?: unknown } }).cause).toBeInstanceOf(RpcRequestError);
    expect((limited as unknown as { cause?: { data?: unknown } }).cause?.data).toEqual({ limit: 'maxInFlight', max: 1 });
    client.transport.close();
    await first;
  });
});
