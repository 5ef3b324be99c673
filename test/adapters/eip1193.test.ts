import { describe, expect, it } from 'vitest';
import { createEip1193Provider, ProviderRpcError, type Eip1193SubscriptionMessage } from '../../src/index.js';
import { adapterWorld, extend, sentTo } from './world.js';

const ADDRESS = '0x0000000000000000000000000000000000000001';

async function provider(kind: 'nodes' | 'pool' = 'nodes') {
  const world = adapterWorld();
  const options = kind === 'nodes' ? world.nodesOptions() : world.poolOptions();
  const p = createEip1193Provider(options);
  const events: Array<[string, unknown]> = [];
  for (const name of ['connect', 'disconnect', 'chainChanged'] as const) p.on(name, (payload: unknown) => events.push([name, payload]));
  const messages: Eip1193SubscriptionMessage[] = [];
  p.on('message', (message) => messages.push(message));
  await world.settle();
  return { world, p, events, messages, options };
}

describe('request', () => {
  it('resolves with the result, not the envelope', async () => {
    const { world, p } = await provider();
    const balance = p.request({ method: 'eth_getBalance', params: [ADDRESS, 'latest'] });
    await world.settle();
    expect(await balance).toBe('0x1');
  });

  it('rejects a JSON-RPC error with a ProviderRpcError that carries its numeric code', async () => {
    const { world, p } = await provider();
    const missing = p.request({ method: 'eth_doesNotExist' }).catch((e: unknown) => e);
    await world.settle();
    world.nodes.a.setMode('rpc-error');
    const internal = p.request({ method: 'eth_blockNumber' }).catch((e: unknown) => e);
    await world.settle();
    expect(await missing).toBeInstanceOf(ProviderRpcError);
    expect(await missing).toMatchObject({ code: -32601 });
    expect(await internal).toMatchObject({ name: 'ProviderRpcError', code: -32603, message: 'a: internal error' });
  });

  it('rejects malformed arguments with -32600 without sending anything', async () => {
    const { world, p } = await provider();
    await expect(p.request({} as never)).rejects.toMatchObject({ code: -32600 });
    expect(sentTo(world, 'a').filter((f) => f.method !== 'eth_chainId')).toEqual([]);
  });

  it('answers a call made during a failover from the backup', async () => {
    const { world, p } = await provider();
    world.nodes.a.cut();
    const balance = p.request({ method: 'eth_getBalance', params: [ADDRESS, 'latest'] });
    await world.settle();
    expect(await balance).toBe('0x2');
  });
});

describe('events', () => {
  it('emits connect with the hex chain id once connected, and nothing on failover or failback', async () => {
    const { world, p, events } = await provider('pool');
    expect(events).toEqual([['connect', { chainId: '0x1' }]]);
    world.nodes.a.cut();
    await world.settle();
    expect(p.session.node).toBe('b');
    world.nodes.a.restore();
    p.pool.update('b', { status: 'unhealthy' });
    p.pool.update('b', { status: 'healthy' });
    await world.settle();
    expect(events).toEqual([['connect', { chainId: '0x1' }]]);
  });

  it('emits chainChanged when the node it moved to is on another chain', async () => {
    const { world, p, events } = await provider('pool');
    world.nodes.b.chainId = 5;
    world.nodes.a.cut();
    await world.settle();
    expect(p.session.node).toBe('b');
    expect(events).toEqual([
      ['connect', { chainId: '0x1' }],
      ['chainChanged', '0x5'],
    ]);
  });

  it('emits disconnect (4900) when every node is down, and connect when one is back', async () => {
    const { world, p, events } = await provider('pool');
    world.nodes.a.cut();
    world.nodes.b.cut();
    await world.settle();
    expect(p.session.state).toBe('reconnecting');
    expect(events.map(([name]) => name)).toEqual(['connect', 'disconnect']);
    const error = events[1]![1] as ProviderRpcError;
    expect(error).toBeInstanceOf(ProviderRpcError);
    expect(error.code).toBe(4900);
    world.nodes.b.restore();
    await world.clock.advance(1_000);
    await world.settle();
    expect(events.map(([name]) => name)).toEqual(['connect', 'disconnect', 'connect']);
    expect(events[2]![1]).toEqual({ chainId: '0x1' });
  });

  it('delivers notifications as EIP-758 messages under one subscription id across a failover', async () => {
    const { world, p, messages } = await provider('pool');
    const subscribed = p.request<string>({ method: 'eth_subscribe', params: ['newHeads'] });
    await world.settle();
    const subscription = await subscribed;
    world.nodes.a.advance(1);
    world.nodes.a.cut();
    await world.settle();
    world.nodes.b.advance(2); // b's 101 is the block a already gave (one chain): not repeated
    expect(messages).toEqual([
      { type: 'eth_subscription', data: { subscription, result: expect.objectContaining({ number: '0x65' }) } },
      { type: 'eth_subscription', data: { subscription, result: expect.objectContaining({ number: '0x66' }) } },
    ]);
    expect(world.nodes.b.subscriptionCount).toBe(1);
  });

  it('stops calling a listener once it is removed', async () => {
    const { world, p } = await provider('pool');
    const seen: unknown[] = [];
    const listener = (message: Eip1193SubscriptionMessage) => seen.push(message);
    p.on('message', listener);
    const subscribed = p.request({ method: 'eth_subscribe', params: ['newHeads'] });
    await world.settle();
    await subscribed;
    world.nodes.a.advance(1);
    p.removeListener('message', listener);
    world.nodes.a.advance(1);
    expect(seen).toHaveLength(1);
  });
});

describe('close', () => {
  it('rejects pending calls with 4900, emits disconnect and leaves no timer when it built the pool', async () => {
    const { world, p, events, options } = await provider('nodes');
    world.nodes.a.blackhole();
    const pending = p.request({ method: 'eth_blockNumber' }).catch((e: unknown) => e);
    await world.settle();
    p.close();
    expect(await pending).toMatchObject({ code: 4900 });
    expect(events.at(-1)).toEqual(['disconnect', expect.objectContaining({ code: 4900 })]);
    expect(p.closed).toBe(true);
    expect(p.session.state).toBe('closed');
    expect(p.pool.closed).toBe(true);
    expect(world.clock.pendingTimers).toBe(0);
    expect(world.sockets.openSockets).toEqual([]);
    await expect(p.request({ method: 'eth_chainId' })).rejects.toMatchObject({ code: 4900 });
    p.close(); // idempotent
    expect('nodes' in options).toBe(true);
  });

  it('leaves a pool it was given open', async () => {
    const { p } = await provider('pool');
    p.destroy();
    expect(p.session.state).toBe('closed');
    expect(p.pool.closed).toBe(false);
    p.pool.close();
  });
});

/** A provider over a pool the test owns, connected, with its connect/disconnect/chainChanged events. */
async function poolProvider() {
  const world = adapterWorld();
  const p = createEip1193Provider(world.poolOptions());
  const events: Array<[string, unknown]> = [];
  for (const name of ['connect', 'disconnect', 'chainChanged'] as const) p.on(name, (payload: unknown) => events.push([name, payload]));
  await world.settle();
  return { world, p, events };
}

describe('requests and subscriptions, in detail', () => {
  it('request with params omitted sends no params and resolves with the result', async () => {
    const { world, p } = await poolProvider();
    const n = p.request({ method: 'eth_blockNumber' });
    await world.settle();
    expect(await n).toBe('0x64');
    const frame = sentTo(world, 'a').find((f) => f.method === 'eth_blockNumber');
    expect(frame).not.toHaveProperty('params');
    p.close();
    p.pool.close();
  });

  it('an error keeps its code, message and data exactly (data an object, and a hex string)', async () => {
    const { world, p } = await poolProvider();
    const data = { reason: 'x', data: '0x08c379a0' };
    extend(world.nodes.a, (r) =>
      r.method === 'eth_call' ? { error: { code: -32000, message: 'execution reverted', data } } : r.method === 'eth_estimateGas' ? { error: { code: 3, message: 'execution reverted', data: '0xdeadbeef' } } : undefined,
    );
    const call = p.request({ method: 'eth_call', params: [{ to: ADDRESS }, 'latest'] }).catch((e: unknown) => e);
    const gas = p.request({ method: 'eth_estimateGas', params: [{ to: ADDRESS }] }).catch((e: unknown) => e);
    await world.settle();
    expect(await call).toBeInstanceOf(ProviderRpcError);
    expect(await call).toMatchObject({ code: -32000, message: 'execution reverted', data });
    expect(await gas).toMatchObject({ code: 3, message: 'execution reverted', data: '0xdeadbeef' });
    p.close();
    p.pool.close();
  });

  it('eth_unsubscribe releases the upstream subscription and message events stop', async () => {
    const { world, p } = await poolProvider();
    const messages: unknown[] = [];
    p.on('message', (m) => messages.push(m));
    const sub = p.request<string>({ method: 'eth_subscribe', params: ['newHeads'] });
    await world.settle();
    const id = await sub;
    world.nodes.a.advance(1);
    expect(messages).toEqual([{ type: 'eth_subscription', data: { subscription: id, result: expect.objectContaining({ number: '0x65' }) } }]);
    const un = p.request({ method: 'eth_unsubscribe', params: [id] });
    await world.settle();
    expect(await un).toBe(true);
    expect(world.nodes.a.subscriptionCount).toBe(0);
    world.nodes.a.advance(1);
    expect(messages).toHaveLength(1);
    p.close();
    p.pool.close();
  });

  it('close() while subscribed leaves no subscription, socket or timer', async () => {
    const world = adapterWorld();
    const p = createEip1193Provider(world.nodesOptions());
    await world.settle();
    const sub = p.request({ method: 'eth_subscribe', params: ['logs', {}] });
    await world.settle();
    await sub;
    p.close();
    await world.settle();
    expect(world.sockets.openSockets).toEqual([]);
    expect(world.clock.pendingTimers).toBe(0);
  });

  it('a failover to a node on the same chain emits neither disconnect nor a second connect', async () => {
    const { world, p, events } = await poolProvider();
    world.nodes.a.cut();
    await world.settle();
    expect(p.session.node).toBe('b');
    expect(events).toEqual([['connect', { chainId: '0x1' }]]);
    p.close();
    p.pool.close();
  });
});

describe('connect when the first eth_chainId fails', () => {
  /** A provider whose node `a` answers eth_chainId with an error while `fail()` says so. */
  async function warmingUp(fail: () => boolean) {
    const world = adapterWorld();
    extend(world.nodes.a, (r) => (r.method === 'eth_chainId' && fail() ? { error: { code: -32603, message: 'warming up' } } : undefined));
    // No keepalive in the window, so every eth_chainId on the socket is the provider's.
    const { pool, session } = world.poolOptions();
    const p = createEip1193Provider({ pool, session: { ...session, keepaliveIntervalMs: 600_000, keepaliveTimeoutMs: 600_000 } });
    const events: Array<[string, unknown]> = [];
    p.on('connect', (info) => events.push(['connect', info]));
    await world.settle();
    const asked = () => sentTo(world, 'a').filter((f) => f.method === 'eth_chainId').length;
    return { world, p, events, asked };
  }

  it('asks again, 500 ms doubling to 30 s on the session\'s clock, and emits connect once the node answers', async () => {
    let failing = true;
    const { world, p, events, asked } = await warmingUp(() => failing);
    expect(asked()).toBe(1);
    expect(events).toEqual([]);
    // The provider serves requests all the while ...
    const n = p.request({ method: 'eth_blockNumber' });
    await world.settle();
    expect(await n).toBe('0x64');
    const at: number[] = [];
    for (let ms = 0; ms < 64_000; ms += 250) {
      const before = asked();
      await world.clock.advance(250);
      await world.settle();
      if (asked() > before) at.push(world.clock.now());
    }
    const start = at[0]! - 500;
    expect(at.map((t) => t - start)).toEqual([500, 1_500, 3_500, 7_500, 15_500, 31_500, 61_500]);
    failing = false;
    for (let i = 0; i < 30; i++) {
      await world.clock.advance(1_000);
      await world.settle();
    }
    // ... and EIP-1193 consumers waiting for `connect` get it, once.
    expect(events).toEqual([['connect', { chainId: '0x1' }]]);
    const asks = asked();
    await world.clock.advance(120_000);
    await world.settle();
    expect(asked()).toBe(asks); // no more asking once it has the chain id
    expect(events).toHaveLength(1);
    p.close();
    p.pool.close();
  });

  it('close() while waiting to ask again leaves no timer', async () => {
    const { world, p } = await warmingUp(() => true);
    await world.clock.advance(100);
    p.close();
    p.pool.close();
    expect(world.clock.pendingTimers).toBe(0);
  });
});
