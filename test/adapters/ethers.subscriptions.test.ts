import { Network, SocketProvider } from 'ethers';
import { describe, expect, it, vi } from 'vitest';
import { ResilientProvider } from '../../src/ethers.js';
import { adapterWorld, drain, extend, sentTo, turns, unhandledRejections, until, type AdapterWorld } from './world.js';

function provider(world = adapterWorld(), session: Record<string, unknown> = {}) {
  const options = world.nodesOptions();
  return { world, p: new ResilientProvider({ ...options, session: { ...options.session, ...session } }, Network.from(1), { cacheTimeout: -1 }) };
}

const subscribes = (world: AdapterWorld, name: 'a' | 'b') => world.nodes[name].calls.get('eth_subscribe') ?? 0;

/** Moves the fake clock in 1 s steps, letting ethers' timer turns run. */
async function seconds(world: AdapterWorld, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await world.clock.advance(1_000);
    await turns(world, 1);
  }
}

/**
 * ethers' SocketSubscriber keeps `send('eth_subscribe')` as a promise nobody catches (start), chains
 * `.then` on it without a catch (stop), sends `eth_unsubscribe` without a catch, and never
 * subscribes again. Against ethers' own socket provider a request to a silent node is simply never
 * answered. So ResilientProvider never rejects these: it asks again what steadyrpc refused or timed
 * out, and leaves them unanswered at destroy(). In Node an unhandled rejection ends the process.
 */
describe('ethers: the eth_subscribe and eth_unsubscribe of ethers\' own subscribers', () => {
  const unhandled = unhandledRejections();

  it('control: ethers\' own SocketProvider, eth_subscribe written to a silent node, then destroy(): no unhandled rejection', async () => {
    class Silent extends SocketProvider {
      constructor() {
        super(Network.from(1));
        this._start();
      }
      override async _write(): Promise<void> {}
    }
    const world = adapterWorld();
    const p = new Silent();
    await p.on('block', () => {});
    await drain(world);
    p.destroy();
    await drain(world);
    expect(unhandled.reasons).toEqual([]);
  });

  it('on("block") written to a node that went silent, then destroy(): no unhandled rejection, nothing left', async () => {
    const { world, p } = provider();
    await turns(world); // connected to a
    world.nodes.a.blackhole(); // open, but silent from now on
    await p.on('block', () => {});
    await turns(world);
    expect(p.session.stats().inFlight).toBe(1);
    p.destroy();
    await drain(world);
    expect(unhandled.reasons).toEqual([]);
    expect(world.clock.pendingTimers).toBe(0);
    expect(world.sockets.openSockets).toEqual([]);
  });

  it('off("block") with its eth_unsubscribe in flight on a silent node, then destroy(): no unhandled rejection', async () => {
    const { world, p } = provider();
    const listener = () => {};
    await p.on('block', listener);
    await turns(world);
    expect(world.nodes.a.subscriptionCount).toBe(1);
    world.nodes.a.blackhole();
    await p.off('block', listener);
    await turns(world);
    expect(p.session.stats().inFlight).toBe(1); // the eth_unsubscribe
    p.destroy();
    await drain(world);
    expect(unhandled.reasons).toEqual([]);
  });

  it('on("block") while every node is down past queue.maxWaitMs: no unhandled rejection, and blocks flow once a node is back', async () => {
    const world = adapterWorld();
    world.nodes.a.cut();
    world.nodes.b.cut();
    const { p } = provider(world);
    const blocks: number[] = [];
    const errors: unknown[] = [];
    void p.on('error', (e: unknown) => errors.push(e));
    await p.on('block', (n: number) => blocks.push(n));
    await turns(world);
    await world.clock.advance(11_000); // past queue.maxWaitMs (10 s): REQUEST_TIMEOUT, asked again
    await drain(world);
    world.nodes.a.restore();
    world.nodes.b.restore();
    await seconds(world, 10);
    expect(p.session.node).toBe('a');
    world.nodes.a.advance(1);
    world.nodes.b.advance(1);
    await drain(world);
    expect(unhandled.reasons).toEqual([]);
    expect(blocks).toEqual([101]);
    expect(world.nodes.a.subscriptionCount).toBe(1);
    expect(errors).toEqual([]);
    p.destroy();
    expect(world.clock.pendingTimers).toBe(0);
  });

  it('on("block") refused QUEUE_FULL while every node is down is asked again, and subscribes once a node is back', async () => {
    const world = adapterWorld();
    world.nodes.a.cut();
    world.nodes.b.cut();
    const { p } = provider(world, { queue: { maxCount: 1, maxWaitMs: 60_000 } });
    const waiting = p.send('eth_blockNumber', []); // fills the queue
    await turns(world);
    const blocks: number[] = [];
    await p.on('block', (n: number) => blocks.push(n));
    await turns(world);
    expect(p.session.stats().queueOverflows).toBeGreaterThan(0);
    await seconds(world, 5); // asked again (500 ms, 1 s, 2 s, …): refused again each time
    world.nodes.a.restore();
    world.nodes.b.restore();
    await seconds(world, 5);
    expect(p.session.node).toBe('a');
    expect(await until(world, waiting)).toBe('0x64');
    await turns(world);
    expect(world.nodes.a.subscriptionCount).toBe(1);
    world.nodes.a.advance(1);
    await drain(world);
    expect(blocks).toEqual([101]);
    expect(unhandled.reasons).toEqual([]);
    p.destroy();
  });

  it('one waiting a long delay to be asked again is asked at once when a node is in use again', async () => {
    const world = adapterWorld();
    world.nodes.a.cut();
    world.nodes.b.cut();
    const { p } = provider(world, { queue: { maxCount: 1, maxWaitMs: 600_000 } });
    const waiting = p.send('eth_blockNumber', []); // fills the queue
    await turns(world);
    await p.on('block', () => {});
    await turns(world);
    await seconds(world, 40); // refused QUEUE_FULL at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s: next at 61.5 s
    world.nodes.a.restore();
    world.nodes.b.restore();
    p.session.reconnect();
    await turns(world);
    expect(p.session.node).toBe('a');
    expect(await until(world, waiting)).toBe('0x64');
    expect(world.nodes.a.subscriptionCount).toBe(1);
    expect(unhandled.reasons).toEqual([]);
    p.destroy();
  });

  it('a subscription refused LIMIT_EXCEEDED (maxSubscriptions) gets in once another is given back', async () => {
    const { world, p } = provider(undefined, { maxSubscriptions: 1 });
    const first = () => {};
    const pending: unknown[] = [];
    await p.on('block', first);
    await turns(world);
    await p.on('pending', (tx: unknown) => pending.push(tx));
    await turns(world);
    expect(world.nodes.a.subscriptionCount).toBe(1);
    expect(p.session.stats().limitRejections).toBe(1);
    await p.off('block', first);
    await turns(world);
    await seconds(world, 2);
    expect(world.nodes.a.subscriptionCount).toBe(1);
    expect(p.session.stats().subscriptions).toBe(1);
    expect(unhandled.reasons).toEqual([]);
    p.destroy();
  });

  it('off("block") while its eth_subscribe waits to be asked again ends the attempts', async () => {
    const world = adapterWorld();
    world.nodes.a.cut();
    world.nodes.b.cut();
    const { p } = provider(world, { queue: { maxCount: 1, maxWaitMs: 60_000 } });
    const waiting = p.send('eth_blockNumber', []).catch(() => {});
    await turns(world);
    const listener = () => {};
    await p.on('block', listener);
    await turns(world);
    await p.off('block', listener);
    await turns(world);
    world.nodes.a.restore();
    world.nodes.b.restore();
    await seconds(world, 10);
    expect(p.session.node).toBe('a');
    await until(world, waiting);
    await seconds(world, 35);
    expect(subscribes(world, 'a') + subscribes(world, 'b')).toBe(0);
    expect(unhandled.reasons).toEqual([]);
    p.destroy();
  });

  it('an eth_subscribe the node refuses is reported as an error event, not an unhandled rejection', async () => {
    const { world, p } = provider();
    await turns(world);
    world.nodes.a.setMode('rpc-error'); // the node answers every call with -32603
    const errors: any[] = [];
    void p.on('error', (e: unknown) => errors.push(e));
    await p.on('block', () => {});
    await drain(world);
    expect(unhandled.reasons).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'UNKNOWN_ERROR', error: { code: -32603, message: 'a: internal error' } });
    const sent = () => world.sockets.sockets.flatMap((s) => s.sentJson() as any[]).filter((f) => f.method === 'eth_subscribe').length;
    expect(sent()).toBe(1);
    await seconds(world, 35);
    expect(sent()).toBe(1); // not asked again
    p.destroy();
  });
});

describe('ethers: block events and subscriptions across switches', () => {
  it('on("block"): every block number once, in order, across failover and a failback to a primary behind the backup', async () => {
    const { world, p } = provider();
    const blocks: number[] = [];
    const errors: unknown[] = [];
    void p.on('error', (e: unknown) => errors.push(e));
    await p.on('block', (n: number) => blocks.push(n));
    await turns(world);
    world.nodes.a.advance(1);
    world.nodes.b.advance(1);
    await turns(world);
    world.nodes.a.cut();
    await turns(world);
    expect(p.session.node).toBe('b');
    world.nodes.b.advance(2); // 102, 103
    await turns(world);
    world.nodes.a.restore(); // a is at 101
    for (let i = 0; i < 4; i++) {
      await world.clock.advance(1_000);
      await turns(world, 2);
    }
    world.nodes.a.advance(3); // 102, 103, 104
    world.nodes.b.advance(1);
    await turns(world);
    await world.clock.advance(1_000);
    await turns(world);
    world.nodes.a.advance(1); // 105
    world.nodes.b.advance(1);
    await turns(world);
    expect(blocks).toEqual([101, 102, 103, 104, 105]);
    expect(errors).toEqual([]);
    p.destroy();
  });

  it('on("block") after a failover to a node ahead: every number once, none missed', async () => {
    const { world, p } = provider();
    const blocks: number[] = [];
    await p.on('block', (n: number) => blocks.push(n));
    await turns(world);
    world.nodes.a.advance(1); // 101
    world.nodes.b.advance(4); // b: 101..104, while a is the upstream
    await turns(world);
    world.nodes.a.cut();
    await turns(world, 8);
    expect(p.session.node).toBe('b');
    world.nodes.b.advance(1); // 105
    await turns(world);
    expect(blocks).toEqual([101, 102, 103, 104, 105]);
    p.destroy();
  });

  it('removeAllListeners() releases every upstream subscription', async () => {
    const { world, p } = provider();
    await p.on('block', () => {});
    await p.on('pending', () => {});
    await p.on({ topics: [] }, () => {});
    await turns(world);
    expect(world.nodes.a.subscriptionCount).toBe(3);
    await p.removeAllListeners();
    await turns(world);
    expect(world.nodes.a.subscriptionCount).toBe(0);
    expect(p.session.stats().subscriptions).toBe(0);
    p.destroy();
  });

  it('off("block") after a failover releases the subscription on the new node', async () => {
    const { world, p } = provider();
    const listener = () => {};
    await p.on('block', listener);
    await turns(world);
    world.nodes.a.cut();
    await turns(world);
    expect(world.nodes.b.subscriptionCount).toBe(1);
    await p.off('block', listener);
    await turns(world);
    expect(world.nodes.b.subscriptionCount).toBe(0);
    p.destroy();
  });

  it('once("block") delivers one block and releases the subscription', async () => {
    const { world, p } = provider();
    const blocks: number[] = [];
    await p.once('block', (n: number) => blocks.push(n));
    await turns(world);
    world.nodes.a.advance(2);
    await turns(world);
    expect(blocks).toEqual([101]);
    expect(world.nodes.a.subscriptionCount).toBe(0);
    p.destroy();
  });

  it('destroy() with live subscriptions leaves no socket or timer, and sends nothing more', async () => {
    const { world, p } = provider();
    await p.on('block', () => {});
    await turns(world);
    const sent = sentTo(world, 'a').length;
    p.destroy();
    await turns(world);
    expect(world.sockets.openSockets).toEqual([]);
    expect(world.clock.pendingTimers).toBe(0);
    expect(sentTo(world, 'a')).toHaveLength(sent);
  });
});

describe('ethers: an event filter while ethers does not know the network yet', () => {
  const unhandled = unhandledRejections();

  // Without a network given, ethers reads it with eth_chainId at start and, if that fails, tries
  // again 1 s (real time) later. SocketEventSubscriber reads provider._network for every log, which
  // throws until then: inside its emit chain that is an unhandled rejection, and the chain stays
  // rejected, so the filter never emits again. A filter the provider subscribes during that second
  // (asked again at once when a node is back) got a log then.
  it('a log that comes before the network is known reaches the listener; later logs too; no unhandled rejection', async () => {
    const world = adapterWorld();
    let refuse = true;
    extend(world.nodes.a, (request) => (refuse && request.method === 'eth_chainId' ? { error: { code: -32603, message: 'not ready' } } : undefined));
    const quiet = vi.spyOn(console, 'log').mockImplementation(() => {}); // ethers logs its failed start
    const p = new ResilientProvider(world.nodesOptions());
    const errors: unknown[] = [];
    void p.on('error', (e: unknown) => errors.push(e));
    await turns(world); // ethers' first eth_chainId failed: it waits 1 s (real time) to ask again
    quiet.mockRestore();
    expect(() => p._network).toThrow(/network is not available yet/);
    refuse = false;
    const logs: Array<{ blockNumber: number; removed: boolean }> = [];
    await p.on({ topics: [] }, (log: { blockNumber: number; removed: boolean }) => logs.push(log));
    await turns(world);
    expect(world.nodes.a.subscriptionCount).toBe(1);
    world.nodes.a.emitLog();
    await turns(world);
    world.nodes.a.advance(1).emitLog();
    await turns(world);
    expect(logs.map((l) => [l.blockNumber, l.removed])).toEqual([
      [100, false],
      [101, false],
    ]);
    expect(unhandled.reasons).toEqual([]);
    p.destroy();
  });
});
