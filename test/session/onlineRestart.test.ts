import { describe, expect, it } from 'vitest';
import { NodePool, StandardWebSocketTransport, UpstreamSession } from '../../src/index.js';
import type { SessionSwitchEvent, UpstreamSessionOptions } from '../../src/index.js';
import { FakeClock, FakeEnvironment, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';
import type { FakeWebSocketClass } from '../helpers/fakeWebSocket.js';
import { fakeWebSocketClass } from '../helpers/fakeWebSocket.js';
import { sessionHarness } from '../helpers/session.js';

/**
 * Going `online` (or the host's `reconnect()`) starts over at once, in a page: over the standard
 * WebSocket (a fake WHATWG class serving fake nodes), on the fake clock, with a FakeEnvironment.
 * A socket still opening from before was started on the old network: it is given up for a fresh
 * one rather than waited on until its connect deadline.
 */
async function standard(options: Parameters<typeof sessionHarness>[0] = {}) {
  let WebSocket!: FakeWebSocketClass;
  const h = await sessionHarness({
    ...options,
    transportOver: (server) => new StandardWebSocketTransport({ WebSocket: (WebSocket = fakeWebSocketClass({ server })) }),
  });
  const switches: SessionSwitchEvent[] = [];
  const rounds: Array<{ attempt: number; delayMs: number }> = [];
  h.session.on('switch', (e) => switches.push(e));
  h.session.on('reconnecting', (e) => rounds.push(e));
  h.session.on('error', () => {});
  return { ...h, WebSocket, switches, rounds };
}

/** A session built by hand, for nodes whose state must be set before it connects. */
function handBuilt(nodes: FakeNode[], options: Partial<UpstreamSessionOptions> = {}) {
  const clock = new FakeClock();
  const server = new FakeSocketTransport();
  for (const node of nodes) server.route(`ws://${node.name}.test/`, node.socket);
  const WebSocket = fakeWebSocketClass({ server });
  const pool = new NodePool({ nodes: nodes.map((n, i) => ({ name: n.name, tier: i === 0 ? 'primary' : 'backup', ws: `ws://${n.name}.test/` })), clock, httpTransport: new FakeHttpTransport() });
  for (const node of nodes) pool.update(node.name, { status: 'healthy', head: 100 });
  const session = new UpstreamSession({ pool, clock, transport: new StandardWebSocketTransport({ WebSocket }), random: () => 0.5, ...options });
  session.on('error', () => {});
  return { clock, server, WebSocket, pool, session };
}

describe('online: a socket still opening from before is given up, and a fresh one opened at once', () => {
  it('online again while the make-before-break of the previous online still hangs: a fresh socket at once, the one in use kept until it is ready', async () => {
    const env = new FakeEnvironment();
    const h = await standard({ environment: env, names: [['a', 'primary']] });
    expect(h.session.node).toBe('a');
    // The network goes; when it comes back, the old socket and new handshakes are dead (a flapping Wi-Fi).
    env.goOffline();
    h.nodes.a!.blackhole(); // what is open stays silent, a new socket never completes its upgrade
    env.goOnline(); // make-before-break: socket #2 starts, and hangs
    await h.settle();
    expect(h.WebSocket.instances).toHaveLength(2);
    env.goOffline(); // the network flaps again before #2 could open
    h.nodes.a!.restore(); // the network is really back: new sockets work
    env.goOnline();
    await h.settle();
    // Not 5 s later (connectTimeoutMs), when #2 would have failed: now.
    expect(h.WebSocket.instances).toHaveLength(3);
    expect(h.WebSocket.instances[1]!.readyState).toBe(3); // #2 given up
    expect(h.switches.at(-1)).toEqual({ from: 'a', to: 'a', reason: 'online' });
    expect(h.session.state).toBe('ready');
    await h.clock.advance(10_000);
    expect(h.WebSocket.instances).toHaveLength(3);
  });

  it('online while a connect started before going offline still hangs (no upstream yet): a fresh attempt at once', async () => {
    const a = new FakeNode({ name: 'a', head: 100 });
    a.blackhole(); // the first handshake hangs: the network died under it
    const env = new FakeEnvironment();
    const { clock, WebSocket, session } = handBuilt([a], { environment: env, connectTimeoutMs: 5_000 });
    await clock.flush();
    expect(WebSocket.instances).toHaveLength(1);
    env.goOffline();
    a.restore();
    env.goOnline();
    await clock.flush();
    const opened = WebSocket.instances.length;
    await clock.advance(1_000);
    expect({ opened, state: session.state, node: session.node }).toEqual({ opened: 2, state: 'ready', node: 'a' });
  });

  it("the host's reconnect() while a connect hangs does the same: a fresh attempt at once", async () => {
    const a = new FakeNode({ name: 'a', head: 100 });
    a.blackhole();
    const { clock, WebSocket, session } = handBuilt([a], { connectTimeoutMs: 5_000 });
    await clock.flush();
    a.restore();
    session.reconnect();
    await clock.flush();
    expect({ opened: WebSocket.instances.length, state: session.state }).toEqual({ opened: 2, state: 'ready' });
  });

  it('several offline/online flips within one backoff wait: no backoff growth, each online tries at once and starts over', async () => {
    const env = new FakeEnvironment();
    const h = await standard({ environment: env, backoff: { initialDelayMs: 1_000, jitter: 0 } });
    h.nodes.a!.cut();
    h.nodes.b!.cut();
    await h.settle();
    expect(h.rounds).toEqual([{ attempt: 1, delayMs: 1_000 }]);
    for (let i = 0; i < 3; i++) {
      env.goOffline();
      expect(h.clock.pendingTimers).toBe(0);
      env.goOnline();
      await h.settle();
    }
    // Each online: a and b tried at once, then a fresh first delay.
    expect(h.rounds.map((r) => r.delayMs)).toEqual([1_000, 1_000, 1_000, 1_000]);
    expect(h.WebSocket.instances).toHaveLength(2 + 3 * 2);
    h.nodes.a!.restore();
    await h.clock.advance(1_000);
    expect(h.session.node).toBe('a');
  });

  it('offline, then the socket closes, then online: no attempt while offline, one at once after', async () => {
    const env = new FakeEnvironment();
    const h = await standard({ environment: env });
    env.goOffline();
    h.sockets.last()!.serverClose(1006);
    await h.clock.advance(30_000);
    expect(h.WebSocket.instances).toHaveLength(1);
    expect(h.rounds).toEqual([]);
    env.goOnline();
    await h.settle();
    expect(h.WebSocket.instances).toHaveLength(2);
    expect(h.session.node).toBe('a');
  });

  it('online after the pool was closed (the session left open) does not throw; the session keeps its listeners until its own close()', async () => {
    const env = new FakeEnvironment();
    const h = await standard({ environment: env });
    h.pool.close();
    env.goOffline();
    env.goOnline();
    await h.settle();
    // The pool does not own sessions.
    expect(env.listenerCount()).toBe(3);
    h.session.close();
    expect(env.listenerCount()).toBe(0);
  });
});
