import { describe, expect, it } from 'vitest';
import type { SocketEndpoint } from '../../src/index.js';
import { NodePool, StandardWebSocketTransport, UpstreamSession } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';
import type { FakeWebSocketClass, FakeWebSocketOptions } from '../helpers/fakeWebSocket.js';
import { fakeWebSocketClass } from '../helpers/fakeWebSocket.js';
import { rpc, sessionHarness } from '../helpers/session.js';

/**
 * The session's hardening (zombie detection, fresh credentials per connect, jittered backoff,
 * close-code hygiene, stale events ignored, nothing left after close) on the standard WebSocket:
 * the same fake nodes serve a fake WHATWG WebSocket class, on the fake clock.
 */
async function standardHarness(options: Parameters<typeof sessionHarness>[0] = {}, socketOptions: FakeWebSocketOptions = {}) {
  let WebSocket!: FakeWebSocketClass;
  const h = await sessionHarness({
    ...options,
    transportOver: (server) => new StandardWebSocketTransport({ WebSocket: (WebSocket = fakeWebSocketClass({ ...socketOptions, server })) }),
  });
  return { ...h, WebSocket };
}

describe('a session over StandardWebSocketTransport', () => {
  it('connects, rewrites ids and serves subscriptions, binary frames included', async () => {
    const h = await standardHarness({}, { frames: 'binary' });
    expect(h.session.node).toBe('a');
    h.send(rpc('x', 'eth_blockNumber'));
    h.send(rpc(7, 'eth_subscribe', ['newHeads']));
    await h.settle();
    expect(h.answers('x')).toEqual([{ jsonrpc: '2.0', id: 'x', result: '0x64' }]);
    const subscription = h.answers(7)[0]!.result as string;
    h.nodes.a!.advance(1);
    await h.settle();
    expect(h.notifications(subscription)).toHaveLength(1);
  });

  it('notices a silent (zombie) upstream with keepalive calls alone, the standard API having no ping, and moves on', async () => {
    const h = await standardHarness({ keepaliveIntervalMs: 2_000, keepaliveTimeoutMs: 4_000 });
    h.send(rpc(1, 'eth_subscribe', ['newHeads']));
    await h.settle();
    const first = h.WebSocket.instances[0]!;
    h.nodes.a!.blackhole();
    h.send(rpc(2, 'eth_blockNumber'));
    await h.clock.advance(5_999);
    expect(h.session.node).toBe('a');
    await h.clock.advance(1);
    expect(h.session.node).toBe('b');
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: '0x64' }]);
    // Given up on without waiting for a close handshake the zombie would never finish.
    expect(first.closeCalls).toHaveLength(1);
    expect(first.listenerCount).toBe(0);
    expect(h.nodes.b!.subscriptionCount).toBe(1);
  });

  it('a close 4401, 1008 or 1003 after the upgrade quarantines the node instead of retrying it in a loop', async () => {
    for (const code of [4401, 1008, 1003]) {
      const h = await standardHarness();
      const closes: boolean[] = [];
      h.session.on('upstreamClose', ({ auth }) => closes.push(auth));
      h.sockets.last()!.serverClose(code, 'go away');
      await h.settle();
      expect(closes).toEqual([true]);
      expect(h.session.node).toBe('b');
      expect(h.pool.snapshot().nodes[0]).toMatchObject({ name: 'a', quarantined: true });
      h.nodes.b!.cut();
      await h.clock.advance(5_000);
      expect(h.WebSocket.instances.filter((ws) => ws.url === 'ws://a.test/')).toHaveLength(1);
    }
  });

  it('closes 1006, 1011, 1012 and 1013 are retried; a refused upgrade too, its status being hidden by the standard API', async () => {
    for (const code of [1006, 1011, 1012, 1013]) {
      const h = await standardHarness({ names: [['a', 'primary']] });
      h.sockets.last()!.serverClose(code);
      await h.settle();
      await h.clock.advance(1_000);
      expect(h.WebSocket.instances.length).toBeGreaterThan(1);
      expect(h.session.node).toBe('a');
    }
    const h = await standardHarness({ names: [['a', 'primary']] });
    const closes: Array<{ code: number; auth: boolean }> = [];
    h.session.on('upstreamClose', ({ code, auth }) => closes.push({ code, auth }));
    h.nodes.a!.refuseStatus = 401;
    h.sockets.last()!.serverClose(1006);
    await h.clock.advance(1_000);
    expect(closes.slice(0, 2)).toEqual([{ code: 1006, auth: false }, { code: 1006, auth: false }]);
    expect(h.pool.snapshot().nodes[0]).toMatchObject({ quarantined: false });
  });

  it('backs off with capped exponential delays and ±20 % jitter from the injected random', async () => {
    const draws = [0, 1 - Number.EPSILON, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5];
    let i = 0;
    const h = await standardHarness({ random: () => draws[i++] ?? 0.5, backoff: { initialDelayMs: 100, maxDelayMs: 1_000 } });
    const delays: number[] = [];
    h.session.on('reconnecting', ({ delayMs }) => delays.push(delayMs));
    h.nodes.a!.cut();
    h.nodes.b!.cut();
    await h.clock.advance(20_000);
    expect(delays.slice(0, 6)).toEqual([80, 240, 400, 800, 1_000, 1_000]);
  });

  it('ignores what a socket it has left still delivers', async () => {
    const h = await standardHarness();
    h.send(rpc(1, 'eth_subscribe', ['newHeads']));
    await h.settle();
    const old = h.WebSocket.instances[0]!;
    const subscription = h.answers(1)[0]!.result as string;
    const upstreamId = '0x1'; // FakeNode numbers subscriptions from 0x1 on each socket
    let heard = false;
    h.session.on('switch', () => {
      // Left make-before-break and closed; its close event is not in yet, and frames still come.
      heard = old.listenerCount > 0;
      old.emit('message', { data: JSON.stringify({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: upstreamId, result: { number: '0xdead' } } }) });
      old.emit('message', { data: JSON.stringify({ jsonrpc: '2.0', id: 1, result: '0xdead' }) });
    });
    h.mark('a', 'unhealthy');
    await h.settle();
    expect(h.session.node).toBe('b');
    expect(heard).toBe(true); // the transport passed them on: the session is what ignored them
    expect(h.notifications(subscription)).toEqual([]);
    expect(h.answers(1)).toHaveLength(1);
    expect(h.received.some((m) => JSON.stringify(m).includes('dead'))).toBe(false);
  });

  it('close() leaves no timer, no listener on any socket and no socket open', async () => {
    const h = await standardHarness();
    h.send(rpc(1, 'eth_subscribe', ['newHeads']));
    h.nodes.a!.cut();
    await h.settle();
    h.session.close();
    await h.settle();
    expect(h.clock.pendingTimers).toBe(0);
    expect(h.WebSocket.instances.map((ws) => ws.listenerCount)).toEqual(h.WebSocket.instances.map(() => 0));
    expect(h.WebSocket.instances.every((ws) => ws.readyState === 3)).toBe(true);
    expect(h.pool.listenerCount('switch') + h.pool.listenerCount('health')).toBe(0);
  });
});

describe('fresh credentials on every connect over the standard WebSocket', () => {
  it('an endpoint function is called before each connect and its URL (with the credential) is the one opened', async () => {
    const clock = new FakeClock();
    const server = new FakeSocketTransport();
    const node = new FakeNode({ name: 'a', head: 100 });
    server.onConnect(node.socket);
    const WebSocket = fakeWebSocketClass({ server });
    let issued = 0;
    const endpoint = async (): Promise<SocketEndpoint> => ({ url: `wss://a.test/?token=t${++issued}`, protocols: ['jsonrpc'] });
    const pool = new NodePool({ nodes: [{ name: 'a', ws: endpoint }], clock, httpTransport: new FakeHttpTransport() });
    const session = new UpstreamSession({ pool, clock, transport: new StandardWebSocketTransport({ WebSocket }), random: () => 0.5 });
    await clock.flush();
    node.cut(1012);
    node.restore();
    await clock.advance(1_000);
    node.cut(1006);
    node.restore();
    await clock.advance(1_000);
    expect(WebSocket.instances.map((ws) => ws.url)).toEqual(['wss://a.test/?token=t1', 'wss://a.test/?token=t2', 'wss://a.test/?token=t3']);
    expect(WebSocket.instances.every((ws) => ws.protocols.join() === 'jsonrpc')).toBe(true);
    expect(session.state).toBe('ready');
    session.close();
    pool.close();
  });

  it('an endpoint with headers is refused with a clear error, and the session says why', async () => {
    const clock = new FakeClock();
    const WebSocket = fakeWebSocketClass();
    const pool = new NodePool({ nodes: [{ name: 'a', ws: { url: 'wss://a.test/', headers: { authorization: 'Bearer s3cret' } } }], clock, httpTransport: new FakeHttpTransport() });
    const session = new UpstreamSession({ pool, clock, transport: new StandardWebSocketTransport({ WebSocket }) });
    const errors: Error[] = [];
    session.on('error', (error) => errors.push(error));
    await clock.flush();
    expect(WebSocket.instances).toHaveLength(0);
    const text = errors.map((e) => `${e.message} ${String((e.cause as Error | undefined)?.message)}`).join('\n');
    expect(text).toMatch(/cannot send headers \(authorization\)/);
    expect(text).not.toContain('s3cret');
    session.close();
    pool.close();
  });
});
