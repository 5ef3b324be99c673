import { describe, expect, it } from 'vitest';
import type { SessionSwitchEvent } from '../../src/index.js';
import { FakeEnvironment } from '../../src/testing/index.js';
import { rpc, sessionHarness } from '../helpers/session.js';

type Harness = Awaited<ReturnType<typeof sessionHarness>>;

/** Keepalive calls (`eth_chainId`) the session sent on every socket so far. */
const keepalives = (h: Harness) => h.sockets.sockets.flatMap((s) => s.sentJson() as Array<{ method: string }>).filter((f) => f.method === 'eth_chainId').length;

function watch(h: Harness) {
  const rounds: Array<{ attempt: number; delayMs: number }> = [];
  const switches: SessionSwitchEvent[] = [];
  const network: boolean[] = [];
  h.session.on('reconnecting', (event) => rounds.push(event));
  h.session.on('switch', (event) => switches.push(event));
  h.session.on('network', ({ online }) => network.push(online));
  return { rounds, switches, network };
}

describe('offline: the session stops burning reconnect attempts', () => {
  it('a backoff in progress stops, no attempt is made and the backoff does not grow while offline', async () => {
    const env = new FakeEnvironment();
    const h = await sessionHarness({ environment: env, backoff: { initialDelayMs: 1_000, jitter: 0 } });
    const { rounds, network } = watch(h);
    h.nodes.a!.cut();
    h.nodes.b!.cut();
    await h.clock.advance(1_000 + 2_000);
    expect(rounds.map((r) => r.attempt)).toEqual([1, 2, 3]);
    const opened = h.sockets.sockets.length;
    env.goOffline();
    expect(network).toEqual([false]);
    expect(h.clock.pendingTimers).toBe(0); // no backoff timer left running
    await h.clock.advance(60 * 60_000);
    expect(h.sockets.sockets).toHaveLength(opened);
    expect(rounds).toHaveLength(3);
    expect(h.session.state).toBe('reconnecting');
  });

  it('a socket that dies while offline is not replaced until the network is back', async () => {
    const env = new FakeEnvironment();
    const h = await sessionHarness({ environment: env });
    const { rounds } = watch(h);
    env.goOffline();
    expect(h.session.node).toBe('a'); // the device may be wrong: a working socket is kept
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle();
    expect(h.answers(1)).toHaveLength(1);
    h.nodes.a!.cut();
    await h.clock.advance(60_000);
    expect(h.session.state).toBe('reconnecting');
    expect(h.sockets.sockets).toHaveLength(1); // b was not tried either
    expect(rounds).toEqual([]);
  });

  it('the pool marking the node in use down while offline (every probe fails offline) opens no socket; online moves at once', async () => {
    const env = new FakeEnvironment();
    const h = await sessionHarness({ environment: env });
    const { switches } = watch(h);
    env.goOffline();
    h.mark('a', 'unhealthy'); // the pool now prefers b, as it does when the probes of a fail
    await h.clock.advance(10_000);
    expect(h.sockets.sockets).toHaveLength(1); // b could not be reached either: no attempt
    expect(h.session.node).toBe('a');
    env.goOnline();
    await h.settle();
    expect(h.session.node).toBe('b');
    expect(switches.at(-1)?.to).toBe('b');
  });

  it('on a backup while offline, no failback attempt is made; online moves to the preferred node at once', async () => {
    const env = new FakeEnvironment();
    const h = await sessionHarness({ environment: env, failbackRetryMs: 1_000 });
    const { switches } = watch(h);
    h.nodes.a!.cut();
    await h.settle();
    expect(h.session.node).toBe('b');
    env.goOffline();
    h.nodes.a!.restore();
    await h.clock.advance(60_000); // the pool prefers a all along; the keepalive ticks leave it be
    expect(h.sockets.sockets.filter((s) => s.endpoint.url === 'ws://a.test/')).toHaveLength(1);
    env.goOnline();
    await h.settle();
    expect(h.session.node).toBe('a');
    expect(switches.map((s) => s.reason)).toEqual(['failover', 'online']);
  });

  it('a session that starts offline waits to connect; what the client sends meanwhile is queued and answered once online', async () => {
    const env = new FakeEnvironment({ online: false });
    const h = await sessionHarness({ environment: env });
    h.send(rpc(1, 'eth_blockNumber'));
    await h.clock.advance(5_000);
    expect(h.sockets.sockets).toHaveLength(0);
    expect(h.session.state).toBe('connecting');
    env.goOnline();
    await h.settle();
    expect(h.session.node).toBe('a');
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x64' }]);
  });

  it('a probe that reaches a node connects even while the device says offline (a node on localhost)', async () => {
    const env = new FakeEnvironment({ online: false });
    const h = await sessionHarness({ environment: env, healthy: false });
    expect(h.sockets.sockets).toHaveLength(0);
    h.pool.update('a', { status: 'healthy', head: 100 });
    await h.settle();
    expect(h.session.node).toBe('a');
  });
});

describe('online: the backoff starts over and the session reconnects at once', () => {
  it('reconnects at once, and the next failure backs off from the first delay again', async () => {
    const env = new FakeEnvironment();
    const h = await sessionHarness({ environment: env, backoff: { initialDelayMs: 1_000, jitter: 0 } });
    const { rounds, network, switches } = watch(h);
    h.nodes.a!.cut();
    h.nodes.b!.cut();
    await h.clock.advance(1_000 + 2_000 + 4_000);
    expect(rounds.at(-1)).toEqual({ attempt: 4, delayMs: 8_000 });
    env.goOffline();
    h.nodes.a!.restore();
    h.nodes.b!.restore();
    env.goOnline();
    expect(network).toEqual([false, true]);
    await h.settle(); // no time passes
    expect(h.session.node).toBe('a');
    expect(switches.at(-1)).toMatchObject({ to: 'a', reason: 'failover' });
    h.nodes.a!.cut();
    h.nodes.b!.cut();
    await h.settle();
    expect(rounds.at(-1)).toEqual({ attempt: 1, delayMs: 1_000 });
  });

  it('with a socket in use, moves to a fresh one make-before-break: the call in flight is answered once', async () => {
    const env = new FakeEnvironment();
    const h = await sessionHarness({ environment: env });
    const { switches } = watch(h);
    h.send(rpc(1, 'eth_subscribe', ['newHeads']));
    await h.settle();
    const subscription = h.answers(1)[0]!.result as string;
    env.goOffline();
    h.send(rpc(2, 'eth_blockNumber'));
    env.goOnline();
    await h.settle();
    expect(switches.at(-1)).toEqual({ from: 'a', to: 'a', reason: 'online' });
    expect(h.sockets.sockets).toHaveLength(2);
    expect(h.sockets.sockets[0]!.state).toBe('closed');
    expect(h.answers(2)).toHaveLength(1);
    h.nodes.a!.advance(1);
    await h.settle();
    expect(h.notifications(subscription)).toHaveLength(1);
  });
});

describe('background tabs: visible again, the session checks its upstream at once', () => {
  it('sends a keepalive call when the page becomes visible, and a silent upstream is left within keepaliveTimeoutMs', async () => {
    const env = new FakeEnvironment();
    const h = await sessionHarness({ environment: env, keepaliveIntervalMs: 30_000, keepaliveTimeoutMs: 4_000 });
    env.hide();
    await h.clock.advance(1_000);
    h.nodes.a!.blackhole(); // the upstream died while the page was hidden
    expect(keepalives(h)).toBe(0);
    env.show();
    expect(keepalives(h)).toBe(1); // at once, not when the interval is up
    await h.clock.advance(3_999);
    expect(h.session.node).toBe('a');
    await h.clock.advance(1);
    expect(h.session.node).toBe('b');
  });

  it('a healthy upstream answers the check and stays; a check already on its way is not doubled', async () => {
    const env = new FakeEnvironment();
    const h = await sessionHarness({ environment: env, keepaliveIntervalMs: 2_000, keepaliveTimeoutMs: 4_000 });
    env.hide();
    env.show();
    await h.settle();
    expect(keepalives(h)).toBe(1);
    h.nodes.a!.blackhole();
    await h.clock.advance(2_000); // the timer's keepalive goes out, unanswered
    expect(keepalives(h)).toBe(2);
    env.hide();
    env.show();
    expect(keepalives(h)).toBe(2);
    h.nodes.a!.restore();
    expect(h.session.node).toBe('a');
  });

  it('while no upstream is in use, becoming visible sends nothing', async () => {
    const env = new FakeEnvironment();
    const h = await sessionHarness({ environment: env });
    h.nodes.a!.cut();
    h.nodes.b!.cut();
    await h.settle();
    env.hide();
    env.show();
    expect(keepalives(h)).toBe(0);
  });
});

describe('the environment option', () => {
  it('is checked once, with a precise message', async () => {
    await expect(sessionHarness({ environment: { online: () => true } as never })).rejects.toThrow(/Expected environment to be an Environment/);
  });

  it('close() lets go of every environment listener, also while waiting for the network', async () => {
    const env = new FakeEnvironment();
    const h = await sessionHarness({ environment: env });
    expect(env.listenerCount()).toBe(3);
    h.nodes.a!.cut();
    h.nodes.b!.cut();
    env.goOffline();
    await h.settle();
    expect(h.pool.listenerCount('health')).toBe(1);
    h.session.close();
    expect(env.listenerCount()).toBe(0);
    expect(h.pool.listenerCount('health')).toBe(0);
    expect(h.clock.pendingTimers).toBe(0);
    env.goOnline(); // nothing listens: nothing happens
    env.hide();
    env.show();
    expect(h.session.state).toBe('closed');
  });
});
