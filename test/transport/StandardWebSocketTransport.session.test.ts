import { describe, expect, it } from 'vitest';
import type { SocketEndpoint } from '../../src/index.js';
import { NodePool, StandardWebSocketTransport, UpstreamSession } from '../../src/index.js';
import { FakeClock, FakeEnvironment, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';
import type { FakeWebSocketClass, FakeWebSocketOptions } from '../helpers/fakeWebSocket.js';
import { fakeWebSocketClass } from '../helpers/fakeWebSocket.js';
import { FreezableClock } from '../helpers/freezableClock.js';
import { rpc, sessionHarness } from '../helpers/session.js';

/**
 * The session's hardening (zombie detection, fresh credentials per connect, jittered backoff,
 * close-code hygiene, stale events ignored, nothing left after close, a hidden page) on the standard WebSocket:
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

  it('closes 1000, 1001, 1006, 1011, 1012, 1013, 4000 and 4999 are retried; a refused upgrade too, its status being hidden by the standard API', async () => {
    for (const code of [1000, 1001, 1006, 1011, 1012, 1013, 4000, 4999]) {
      const h = await standardHarness({ names: [['a', 'primary']] });
      h.sockets.last()!.serverClose(code);
      await h.settle();
      await h.clock.advance(1_000);
      expect(h.WebSocket.instances.length).toBeGreaterThan(1);
      expect(h.session.node).toBe('a');
      expect(h.pool.snapshot().nodes[0]).toMatchObject({ quarantined: false });
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

describe('a refusal whose close comes after the session left the socket still counts', () => {
  it.each([
    ['a call sent in that window', true],
    ['nothing sent in that window (control)', false],
  ])('the node\'s 4401 close frame came (CLOSING), its close event not yet, %s: the node is quarantined, reported once', async (_name, sendInWindow) => {
    const h = await standardHarness();
    const log: string[] = [];
    h.session.on('error', (e) => log.push(`error ${(e as { code?: string }).code}`));
    h.session.on('upstreamClose', ({ code, auth }) => log.push(`upstreamClose ${code} ${auth}`));
    // The browser got the node's close frame: readyState is CLOSING until the TCP connection
    // ends and the close event is dispatched, a task later. A send then throws (as on ws).
    h.WebSocket.instances[0]!.readyState = 2;
    if (sendInWindow) h.send(rpc(1, 'eth_blockNumber')); // a client call (or a keepalive tick)
    await Promise.resolve(); // the microtasks of this task
    h.sockets.sockets[0]!.serverClose(4401, 'token expired'); // the close event's task
    await h.settle();
    expect(log).toEqual(['upstreamClose 4401 true', 'error ERR_UPSTREAM_AUTH']);
    expect(h.pool.snapshot().nodes[0]).toMatchObject({ name: 'a', quarantined: true });
    expect(h.session.node).toBe('b');
    if (sendInWindow) expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x64' }]);
  });

  it.each([
    ['Blob frames (binaryType not honoured)', false],
    ['ArrayBuffer frames (control)', true],
  ])('%s: a 4401 right after an answer the client chains a call on is still an auth close, as on ws', async (_name, honoursBinaryType) => {
    const h = await standardHarness({}, { frames: 'binary', honoursBinaryType });
    const log: string[] = [];
    h.session.on('error', (e) => log.push(`error ${(e as { code?: string }).code}`));
    h.session.on('upstreamClose', ({ code, auth }) => log.push(`upstreamClose ${code} ${auth}`));
    // The app sends its next call as soon as an answer comes (viem and ethers callers do). With
    // Blobs, the answer is read after the platform socket is CLOSED (its close held behind the
    // read), so that send throws before the close is delivered.
    let chained = false;
    h.session.on('message', () => {
      if (chained) return;
      chained = true;
      h.send(rpc(2, 'eth_chainId'));
    });
    // The node answers, then closes with 4401 (its token expired): one read from the network.
    h.sockets.sockets[0]!.onSend((text, socket) => {
      socket.receiveJson({ jsonrpc: '2.0', id: JSON.parse(text).id, result: '0x1' });
      socket.serverClose(4401, 'token expired');
    });
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle();
    expect(h.WebSocket.instances[0]!.binaryType).toBe(honoursBinaryType ? 'arraybuffer' : 'blob');
    expect(log).toEqual(['upstreamClose 4401 true', 'error ERR_UPSTREAM_AUTH']);
    expect(h.pool.snapshot().nodes[0]).toMatchObject({ name: 'a', quarantined: true });
    expect(h.answers(2)).toHaveLength(1);
  });

  it('a 4401 whose close frame came as the session was leaving the node (a switch) still quarantines it', async () => {
    const h = await standardHarness();
    const closes: Array<{ node: string; code: number; auth: boolean }> = [];
    h.session.on('error', () => {});
    h.session.on('upstreamClose', ({ node, code, auth }) => closes.push({ node, code, auth }));
    h.mark('b', 'healthy');
    h.WebSocket.instances[0]!.readyState = 2; // a's close frame is in, its close event not yet
    h.mark('a', 'unhealthy'); // the session moves to b and leaves a: close() does nothing more now
    await h.settle();
    expect(h.session.node).toBe('b');
    h.sockets.sockets[0]!.serverClose(4401, 'token expired');
    await h.settle();
    expect(closes).toEqual([{ node: 'a', code: 4401, auth: true }]);
    expect(h.pool.snapshot().nodes[0]).toMatchObject({ name: 'a', quarantined: true });
  });

  it('a close that is not a refusal, after a send failed in that window, is reported as the close it is (not as the failed send)', async () => {
    const h = await standardHarness();
    const log: string[] = [];
    h.session.on('error', (e) => log.push(`error ${(e as { code?: string }).code}`));
    h.session.on('upstreamClose', ({ code, auth }) => log.push(`upstreamClose ${code} ${auth}`));
    h.WebSocket.instances[0]!.readyState = 2;
    h.send(rpc(1, 'eth_blockNumber'));
    await Promise.resolve();
    h.sockets.sockets[0]!.serverClose(1012, 'restarting');
    await h.settle();
    expect(log).toEqual(['upstreamClose 1012 false']);
    expect(h.pool.snapshot().nodes[0]).toMatchObject({ name: 'a', quarantined: false });
    expect(h.answers(1)).toHaveLength(1);
  });

  it('closes of sockets the session left of its own accord, and after its close(), are not news', async () => {
    const h = await standardHarness();
    const log: string[] = [];
    h.session.on('error', (e) => log.push(`error ${(e as { code?: string }).code}`));
    h.session.on('upstreamClose', ({ code }) => log.push(`upstreamClose ${code}`));
    h.mark('a', 'unhealthy'); // to b: a is closed by the session (1000)
    await h.settle();
    expect(h.session.node).toBe('b');
    const b = h.WebSocket.instances.at(-1)!;
    b.readyState = 2;
    h.session.close();
    h.sockets.last()!.serverClose(4401, 'late');
    await h.settle();
    expect(log).toEqual([]);
    expect(h.pool.snapshot().nodes[1]).toMatchObject({ name: 'b', quarantined: false });
  });
});

describe('a hidden page over the standard WebSocket', () => {
  it('visible while connecting sends nothing; the socket, once open, is kept alive as usual', async () => {
    const a = new FakeNode({ name: 'a', head: 100 });
    a.blackhole();
    const clock = new FakeClock();
    const server = new FakeSocketTransport();
    server.route('ws://a.test/', a.socket);
    const env = new FakeEnvironment();
    const pool = new NodePool({ nodes: [{ name: 'a', ws: 'ws://a.test/' }], clock, httpTransport: new FakeHttpTransport() });
    pool.update('a', { status: 'healthy', head: 100 });
    const session = new UpstreamSession({ pool, clock, environment: env, transport: new StandardWebSocketTransport({ WebSocket: fakeWebSocketClass({ server }) }), random: () => 0.5 });
    await clock.flush();
    env.hide();
    env.show();
    expect(server.sockets[0]!.sent).toEqual([]);
    a.restore();
    server.sockets[0]!.onSend((text, s) => s.receiveJson({ jsonrpc: '2.0', id: JSON.parse(text).id, result: '0x1' }));
    server.sockets[0]!.accept();
    await clock.flush();
    expect(session.state).toBe('ready');
    session.close();
    pool.close();
  });

  it('throttled timers: the socket delivered frames meanwhile (keepalive answers included), the late keepalive timers do not tear it down', async () => {
    let clock!: FreezableClock;
    const h = await standardHarness({ wrapClock: (fake) => (clock = new FreezableClock(fake)), keepaliveIntervalMs: 2_000, keepaliveTimeoutMs: 4_000 });
    const switches: unknown[] = [];
    h.session.on('switch', (e) => switches.push(e));
    h.send(rpc('s', 'eth_subscribe', ['newHeads']));
    await h.settle();
    const socket = h.sockets.sockets[0]!;
    clock.freeze(); // timers held (hidden tab), socket events flow
    for (let i = 0; i < 30; i++) {
      await h.clock.advance(2_000);
      h.nodes.a!.advance(1);
      h.send(rpc(`c${i}`, 'eth_blockNumber'));
    }
    clock.thaw(); // every held timer runs now, a minute late
    await h.settle();
    await h.clock.advance(10_000);
    expect(switches).toEqual([]);
    expect(socket.state).toBe('open');
    expect(h.answers('c29')).toHaveLength(1);
  });

  it('a keepalive in flight whose answer arrives while timers are held, then the late deadline runs: socket kept', async () => {
    let clock!: FreezableClock;
    const h = await standardHarness({ wrapClock: (fake) => (clock = new FreezableClock(fake)), keepaliveIntervalMs: 2_000, keepaliveTimeoutMs: 4_000 });
    const switches: unknown[] = [];
    h.session.on('switch', (e) => switches.push(e));
    const socket = h.sockets.sockets[0]!;
    h.nodes.a!.blackhole();
    await h.clock.advance(2_000);
    const keepalive = (socket.sentJson() as Array<{ id: number; method: string }>).find((f) => f.method === 'eth_chainId')!;
    clock.freeze();
    await h.clock.advance(60_000);
    socket.receiveJson({ jsonrpc: '2.0', id: keepalive.id, result: '0x1' }); // delivered while hidden
    h.nodes.a!.restore();
    clock.thaw();
    await h.clock.advance(10_000);
    expect(socket.state).toBe('open');
    expect(switches).toEqual([]);
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
