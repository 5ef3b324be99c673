import { AbstractProvider, Network, SocketProvider } from 'ethers';
import { describe, expect, it } from 'vitest';
import { ResilientProvider } from '../../src/ethers.js';
import { adapterWorld, sentTo, settlesSoon, type AdapterWorld } from './world.js';

const ADDRESS = '0x0000000000000000000000000000000000000001';

/**
 * ethers queues calls on a real zero-delay timer (its drain timer): let a few timer turns and the
 * fakes' callbacks run. The fake clock does not move.
 */
async function turns(world: AdapterWorld, count = 4): Promise<void> {
  for (let i = 0; i < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    await world.settle();
  }
}

async function until<T>(world: AdapterWorld, promise: Promise<T>): Promise<T> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 20 && !done; i++) await turns(world, 1);
  return promise;
}

function provider(world = adapterWorld()) {
  return { world, provider: new ResilientProvider(world.nodesOptions(), Network.from(1)) };
}

describe('ResilientProvider', () => {
  it('is an ethers SocketProvider', () => {
    const { provider: p } = provider();
    expect(p).toBeInstanceOf(SocketProvider);
    expect(p).toBeInstanceOf(AbstractProvider);
    p.destroy();
  });

  it('answers getBalance and send()', async () => {
    const { world, provider: p } = provider();
    expect(await until(world, p.getBalance(ADDRESS))).toBe(1n);
    expect(await until(world, p.send('eth_blockNumber', []))).toBe('0x64');
    p.destroy();
  });

  it('reads the network once with eth_chainId when none is given', async () => {
    const world = adapterWorld();
    world.nodes.a.chainId = 31337;
    const p = new ResilientProvider(world.nodesOptions());
    expect((await until(world, p.getNetwork())).chainId).toBe(31337n);
    await until(world, p.getBalance(ADDRESS));
    await until(world, p.getNetwork());
    // The health checker probes over HTTP; on the socket, only ethers asked, and only once.
    expect(world.sockets.sockets[0]!.sentJson().filter((f: any) => f.method === 'eth_chainId')).toHaveLength(1);
    p.destroy();
  });

  it('rejects a JSON-RPC error with ethers\' error for it, carrying the node\'s error', async () => {
    const { world, provider: p } = provider();
    const error = await until(world, p.send('eth_doesNotExist', []).catch((e: unknown) => e));
    expect(error).toMatchObject({ code: 'UNSUPPORTED_OPERATION', info: { error: { code: -32601 } } });
    p.destroy();
  });

  it('is started at once: a call made before any node answers waits in the session and is answered', async () => {
    const world = adapterWorld();
    world.nodes.a.blackhole(); // sockets to a never open
    const { provider: p } = provider(world);
    const call = p.send('eth_getBalance', [ADDRESS, 'latest']);
    await turns(world);
    expect(p.session.state).toBe('connecting');
    expect(p.session.stats().queued).toBe(1);
    await world.clock.advance(5_000); // a's connect timeout: on to b
    expect(await until(world, call)).toBe('0x2');
    p.destroy();
  });

  it('emits block events from a newHeads subscription that survives a failover', async () => {
    const { world, provider: p } = provider();
    const blocks: number[] = [];
    await p.on('block', (n: number) => blocks.push(n));
    await turns(world);
    expect(world.nodes.a.calls.get('eth_subscribe')).toBe(1);
    world.nodes.a.advance(1);
    await turns(world);
    world.nodes.a.cut();
    await turns(world);
    expect(p.session.node).toBe('b');
    world.nodes.b.advance(2);
    await turns(world);
    expect(blocks).toEqual([101, 102]); // b's 101 is the block a already gave (one chain): not repeated
    p.destroy();
  });

  it('destroy() rejects the calls still in flight, and leaves no steadyrpc timer or socket', async () => {
    const { world, provider: p } = provider();
    await until(world, p.getBalance(ADDRESS));
    world.nodes.a.blackhole();
    const pending = p.send('eth_blockNumber', []).catch((e: unknown) => e);
    await turns(world);
    expect(p.session.stats().inFlight).toBe(1);
    p.destroy();
    expect(await pending).toMatchObject({ code: 'UNSUPPORTED_OPERATION', shortMessage: 'provider destroyed; cancelled request' });
    expect(p.session.state).toBe('closed');
    expect(p.pool.closed).toBe(true);
    expect(world.clock.pendingTimers).toBe(0);
    expect(world.sockets.openSockets).toEqual([]);
    await expect(p.send('eth_chainId', [])).rejects.toMatchObject({ code: 'UNSUPPORTED_OPERATION' });
    p.destroy(); // idempotent
  });

  it('supports Symbol.asyncDispose (await using)', async () => {
    const { world, provider: p } = provider();
    await p[Symbol.asyncDispose]();
    expect(p.destroyed).toBe(true);
    expect(p.session.state).toBe('closed');
    expect(world.clock.pendingTimers).toBe(0);
  });
});

/** Lets promise callbacks run, but no timer or I/O turn. */
async function microtasks(count = 20): Promise<void> {
  for (let i = 0; i < count; i++) await Promise.resolve();
}

describe('ResilientProvider.send()', () => {
  it('writes the call to the session at once, not on a timer turn as ethers\' queue would', async () => {
    const { world, provider: p } = provider();
    await until(world, p.getBalance(ADDRESS));
    const before = sentTo(world, 'a').length;
    const call = p.send('eth_blockNumber', []);
    await microtasks();
    const sent = sentTo(world, 'a').slice(before);
    expect(sent).toEqual([{ method: 'eth_blockNumber', params: [], id: expect.any(Number), jsonrpc: '2.0' }]);
    expect(await until(world, call)).toBe('0x64');
    p.destroy();
  });

  it('emits ethers\' debug events for the payload and its result', async () => {
    const { world, provider: p } = provider();
    await until(world, p.getBalance(ADDRESS));
    const debug: any[] = [];
    await p.on('debug', (event: unknown) => debug.push(event));
    await until(world, p.send('eth_blockNumber', []));
    await turns(world);
    const payload = { method: 'eth_blockNumber', params: [], id: expect.any(Number), jsonrpc: '2.0' };
    expect(debug).toEqual([
      { action: 'sendRpcPayload', payload },
      { action: 'receiveRpcResult', result: [{ jsonrpc: '2.0', id: expect.any(Number), result: '0x64' }] },
    ]);
    p.destroy();
  });

  it('a call made just before destroy() in the same turn is rejected as cancelled, and nothing is left pending', async () => {
    const { world, provider: p } = provider();
    await until(world, p.getBalance(ADDRESS));
    const call = p.send('eth_blockNumber', []).catch((e: unknown) => e);
    p.destroy();
    expect(await call).toMatchObject({ code: 'UNSUPPORTED_OPERATION', shortMessage: 'provider destroyed; cancelled request' });
    expect(p.session.stats().inFlight).toBe(0);
    expect(world.clock.pendingTimers).toBe(0);
  });

  it('a call the session cannot take (closed under the provider) is rejected with its error, not left pending', async () => {
    const { world, provider: p } = provider();
    await until(world, p.getBalance(ADDRESS));
    p.session.close();
    const error = await until(world, p.send('eth_blockNumber', []).catch((e: unknown) => e));
    expect(error).toMatchObject({ code: 'ERR_CLOSED' });
    p.destroy();
  });
});

describe('ResilientProvider: network', () => {
  it('without a network, eth_chainId is asked once even with many concurrent calls', async () => {
    const world = adapterWorld();
    world.nodes.a.chainId = 10;
    const p = new ResilientProvider(world.nodesOptions());
    const all = Promise.all([p.getBalance(ADDRESS), p.getBlockNumber(), p.getNetwork(), p.getBalance(ADDRESS)]);
    const [, , network] = await until(world, all);
    expect(network.chainId).toBe(10n);
    expect(sentTo(world, 'a').filter((f) => f.method === 'eth_chainId')).toHaveLength(1);
    p.destroy();
  });

  it('without a network and no node reachable, destroy() ends ethers\' detection loop: a pending call settles', async () => {
    const world = adapterWorld();
    world.nodes.a.cut();
    world.nodes.b.cut();
    const p = new ResilientProvider(world.nodesOptions());
    const errors: unknown[] = [];
    void p.on('error', (e: unknown) => errors.push(e));
    const call = p.getBalance(ADDRESS).catch((e: unknown) => e);
    await turns(world);
    p.destroy();
    expect(await settlesSoon(world, call)).toBe(true);
  });
});
