import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import type { JsonRpcRequest, ServeSocketOptions, UpstreamSessionOptions } from '../../src/index.js';
import { CloseCode, Metrics, NodePool, RpcErrorCode, UpstreamSession, isSteadyRpcError, serveSocket } from '../../src/index.js';
import type { FakeSocket } from '../../src/testing/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';
import { FakeServerSocket } from './FakeServerSocket.js';

const rpc = (id: unknown, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0', id, method, params });

/**
 * A session over fake node `a`, served on a fake server socket. Calls to the `hold` methods are
 * kept by the upstream until `release()`; everything else is answered by the node at once.
 */
async function served(options: { serve?: ServeSocketOptions; hold?: string[]; session?: Partial<UpstreamSessionOptions> } = {}) {
  const clock = new FakeClock();
  const transport = new FakeSocketTransport();
  const node = new FakeNode({ name: 'a', head: 100 });
  const held: Array<{ upstream: FakeSocket; request: JsonRpcRequest }> = [];
  const hold = options.hold;
  transport.route(
    'ws://a.test/',
    hold === undefined
      ? node.socket
      : (upstream) => {
          upstream.onSend((text) => {
            const request = JSON.parse(text) as JsonRpcRequest;
            if (hold.includes(request.method)) held.push({ upstream, request });
            else upstream.receiveJson(node.answer(request));
          });
          upstream.accept();
        },
  );
  const pool = new NodePool({ nodes: [{ name: 'a', ws: 'ws://a.test/' }], clock, httpTransport: new FakeHttpTransport() });
  pool.update('a', { status: 'healthy', head: 100 });
  const session = new UpstreamSession({ pool, transport, clock, random: () => 0.5, ...options.session });
  const socket = new FakeServerSocket();
  const server = serveSocket(socket.asWebSocket(), session, { clock, ...options.serve });
  await clock.flush();
  const release = () => {
    for (const { upstream, request } of held.splice(0)) upstream.receiveJson(node.answer(request));
  };
  /** Nothing left behind: no timer, no listener on the socket, the session closed. */
  const expectReleased = () => {
    expect(clock.pendingTimers).toBe(0);
    expect(socket.eventNames()).toEqual([]);
    expect(session.state).toBe('closed');
  };
  return { clock, node, pool, session, socket, server, held, release, expectReleased };
}

describe('serveSocket: frames both ways', () => {
  it('passes text and binary client frames to the session and its answers back', async () => {
    const h = await served();
    h.socket.clientSend(rpc(1, 'eth_blockNumber'));
    h.socket.clientSend(rpc(2, 'eth_chainId'), true);
    await h.clock.flush();
    expect(h.socket.frames()).toEqual([
      { jsonrpc: '2.0', id: 1, result: '0x64' },
      { jsonrpc: '2.0', id: 2, result: '0x1' },
    ]);
  });

  it('ignores a client frame that arrives after the session closed', async () => {
    const h = await served();
    h.socket.reading = false; // the close is never echoed: the socket stays in closing
    h.session.close();
    expect(() => h.socket.clientSend(rpc(1, 'eth_blockNumber'))).not.toThrow();
    await h.clock.flush();
    expect(h.socket.sent).toEqual([]);
  });

  it('a session.send that throws never reaches the event loop: onError, then close 1011', async () => {
    const onError = vi.fn();
    const h = await served({ serve: { onError } });
    const boom = new Error('boom');
    h.session.send = () => {
      throw boom;
    };
    expect(() => h.socket.clientSend(rpc(1, 'eth_blockNumber'))).not.toThrow();
    expect(onError).toHaveBeenCalledWith(boom);
    expect(h.socket.closedWith).toEqual({ code: CloseCode.INTERNAL_ERROR, reason: 'steadyrpc: internal error' });
    await expect(h.server.closed).resolves.toMatchObject({ cause: 'internal-error', code: CloseCode.INTERNAL_ERROR, terminated: false });
    h.expectReleased();
  });
});

describe('serveSocket: a slow reader', () => {
  it('is closed with 1013 once its buffer would pass maxBufferedBytes, and nothing more is queued for it', async () => {
    const max = 20_000;
    const h = await served({ serve: { maxBufferedBytes: max } });
    h.socket.clientSend(rpc(1, 'eth_subscribe', ['newHeads']));
    await h.clock.flush();
    h.socket.reading = false;
    let largest = 0;
    for (let i = 0; i < 200 && !h.socket.closedWith; i++) {
      h.node.advance(1);
      await h.clock.flush();
      largest = Math.max(largest, ...h.socket.sent.map((t) => Buffer.byteLength(t)));
    }
    expect(h.socket.closedWith).toEqual({ code: CloseCode.TRY_AGAIN_LATER, reason: 'steadyrpc: slow reader' });
    expect(h.socket.maxBuffered).toBeLessThanOrEqual(max);
    const sentAtClose = h.socket.sent.length;
    // However long it stalls, nothing more is queued for it.
    for (let i = 0; i < 50; i++) h.node.advance(1);
    await h.clock.advance(4_999);
    expect(h.socket.sent.length).toBe(sentAtClose);
    expect(h.socket.terminated).toBe(false);
    expect(h.session.state).toBe('closed'); // upstream resources go at once
    // It never reads the close frame: terminated after the grace.
    await h.clock.advance(1);
    expect(h.socket.terminated).toBe(true);
    await h.clock.flush();
    await expect(h.server.closed).resolves.toMatchObject({ cause: 'slow-reader', code: 1006, terminated: true });
    expect(largest).toBeLessThan(max);
    h.expectReleased();
  });

  it('is not terminated when it completes the close within the grace', async () => {
    const h = await served({ serve: { maxBufferedBytes: 1_000, closeGraceMs: 2_000 } });
    h.socket.reading = false;
    const frame = JSON.stringify({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: '0x1', result: 'x'.repeat(300) } });
    for (let i = 0; i < 5; i++) h.session.emit('message', frame);
    expect(h.socket.closedWith?.code).toBe(CloseCode.TRY_AGAIN_LATER);
    expect(h.socket.sent.length).toBe(2);
    await h.clock.advance(1_000);
    h.socket.finishClose(CloseCode.TRY_AGAIN_LATER);
    await h.clock.flush();
    await expect(h.server.closed).resolves.toMatchObject({ cause: 'slow-reader', code: CloseCode.TRY_AGAIN_LATER, terminated: false });
    h.expectReleased();
  });

  it('gets one frame larger than the bound when nothing is queued (a big answer to a client that reads)', async () => {
    const h = await served({ serve: { maxBufferedBytes: 100 } });
    h.socket.reading = false;
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, result: 'x'.repeat(1_000) });
    h.session.emit('message', big);
    expect(h.socket.sent).toEqual([big]);
    expect(h.socket.closedWith).toBeUndefined();
    h.session.emit('message', big);
    expect(h.socket.sent).toEqual([big]);
    expect(h.socket.closedWith?.code).toBe(CloseCode.TRY_AGAIN_LATER);
  });

  it('a reader that keeps up is never closed', async () => {
    const h = await served({ serve: { maxBufferedBytes: 2_000 } });
    h.socket.clientSend(rpc(1, 'eth_subscribe', ['newHeads']));
    await h.clock.flush();
    for (let i = 0; i < 300; i++) {
      h.node.advance(1);
      await h.clock.flush();
      h.socket.drainBuffer();
    }
    expect(h.socket.closedWith).toBeUndefined();
    expect(h.socket.sent.length).toBe(301);
  });
});

describe('serveSocket: pings', () => {
  it('pings every pingIntervalMs and keeps a client that answers', async () => {
    const h = await served();
    await h.clock.advance(20_000 * 5);
    expect(h.socket.pings).toBe(5);
    expect(h.socket.terminated).toBe(false);
  });

  it('terminates a client that answered neither the ping nor sent a frame within a whole interval', async () => {
    const h = await served({ serve: { pingIntervalMs: 10_000 } });
    h.socket.autoPong = false;
    await h.clock.advance(10_000);
    expect(h.socket.pings).toBe(1);
    await h.clock.advance(9_999);
    expect(h.socket.terminated).toBe(false);
    await h.clock.advance(1);
    expect(h.socket.terminated).toBe(true);
    await h.clock.flush();
    await expect(h.server.closed).resolves.toMatchObject({ cause: 'ping-timeout', code: 1006, terminated: true });
    h.expectReleased();
  });

  it('with the defaults, a dead (half-open) connection goes well within a minute (at 40 s exactly: test/defaults/server.test.ts)', async () => {
    const h = await served();
    h.socket.autoPong = false;
    await h.clock.advance(59_999);
    expect(h.socket.terminated).toBe(true);
  });

  it('counts any client frame as an answer', async () => {
    const h = await served();
    h.socket.autoPong = false;
    for (let i = 0; i < 10; i++) {
      await h.clock.advance(15_000);
      h.socket.clientSend(rpc(i, 'eth_chainId'));
    }
    expect(h.socket.terminated).toBe(false);
    expect(h.socket.pings).toBeGreaterThanOrEqual(7);
  });
});

describe('serveSocket: cleanup both ways', () => {
  it('a client close closes the session and leaves no timer or listener', async () => {
    const h = await served();
    h.socket.clientSend(rpc(1, 'eth_subscribe', ['newHeads']));
    await h.clock.flush();
    h.socket.finishClose(1000);
    await expect(h.server.closed).resolves.toMatchObject({ cause: 'client', code: 1000, terminated: false });
    h.expectReleased();
    expect(h.server.bufferedAmount).toBe(0);
  });

  it('a session closed by the host closes the socket with 1001, after the answers it owed', async () => {
    const h = await served({ hold: ['eth_getBalance'] });
    h.socket.clientSend(rpc(5, 'eth_getBalance', ['0x0', 'latest']));
    await h.clock.flush();
    h.session.close();
    expect(h.socket.log.map(([kind]) => kind)).toEqual(['send', 'close']);
    expect(h.socket.frames()[0]).toMatchObject({ id: 5, error: { code: RpcErrorCode.UPSTREAM_UNAVAILABLE } });
    expect(h.socket.closedWith).toEqual({ code: CloseCode.GOING_AWAY, reason: 'steadyrpc: session closed' });
    await expect(h.server.closed).resolves.toMatchObject({ cause: 'session-closed', code: CloseCode.GOING_AWAY });
    h.expectReleased();
  });

  it('a socket error is survived; the socket goes within the grace even if the client never closes', async () => {
    const h = await served();
    h.socket.reading = false;
    expect(() => h.socket.emit('error', new Error('ECONNRESET'))).not.toThrow();
    expect(h.session.state).toBe('closed');
    await h.clock.advance(5_000);
    await expect(h.server.closed).resolves.toMatchObject({ cause: 'error', code: 1006, terminated: true });
    h.expectReleased();
  });

  it('close() sends the code given, is idempotent, and validates it', async () => {
    const h = await served();
    expect(() => h.server.close(1006)).toThrow(/close code/);
    expect(() => h.server.close(1000, 'x'.repeat(124))).toThrow(/123 bytes/);
    h.server.close();
    h.server.close(4000, 'again');
    expect(h.socket.closedWith).toEqual({ code: CloseCode.GOING_AWAY, reason: 'steadyrpc: going away' });
    await expect(h.server.closed).resolves.toMatchObject({ cause: 'host', code: CloseCode.GOING_AWAY, terminated: false });
    h.expectReleased();
  });

  it('a socket that is already closed releases the session at once', async () => {
    const clock = new FakeClock();
    const pool = new NodePool({ nodes: [{ name: 'a', ws: 'ws://a.test/' }], clock, httpTransport: new FakeHttpTransport() });
    const session = new UpstreamSession({ pool, transport: new FakeSocketTransport(), clock });
    const socket = new FakeServerSocket();
    socket.readyState = 3;
    const server = serveSocket(socket.asWebSocket(), session, { clock });
    await expect(server.closed).resolves.toMatchObject({ cause: 'client', code: CloseCode.ABNORMAL, terminated: false });
    expect(session.state).toBe('closed');
    expect(socket.eventNames()).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects invalid options with precise messages', async () => {
    const h = await served();
    const make = (options: ServeSocketOptions) => () => serveSocket(new FakeServerSocket().asWebSocket(), h.session, options);
    expect(make({ maxBufferedBytes: 0 })).toThrow('Expected maxBufferedBytes to be a finite number > 0, got 0');
    expect(make({ pingIntervalMs: Number.NaN })).toThrow('Expected pingIntervalMs to be a finite number > 0, got NaN');
    try {
      make({ closeGraceMs: -1 })();
    } catch (error) {
      expect(isSteadyRpcError(error, 'ERR_CONFIG')).toBe(true);
    }
  });
});

describe('serveSocket: close()', () => {
  it('answers what the client is still owed (NOT_RESENT for a write that went out), then closes with 1001', async () => {
    const h = await served({ hold: ['eth_getBalance', 'eth_sendTransaction'] });
    h.socket.clientSend(rpc(7, 'eth_getBalance', ['0x0', 'latest']));
    h.socket.clientSend(rpc(8, 'eth_sendTransaction', [{ from: '0x01', to: '0x02' }]));
    await h.clock.flush();
    h.server.close();
    expect(h.socket.log.map(([kind]) => kind)).toEqual(['send', 'send', 'close']);
    const frames = h.socket.frames() as Array<{ id: number }>;
    expect(frames.find((f) => f.id === 7)).toMatchObject({ error: { code: RpcErrorCode.UPSTREAM_UNAVAILABLE } });
    expect(frames.find((f) => f.id === 8)).toMatchObject({ error: { code: RpcErrorCode.NOT_RESENT } });
    expect(h.socket.closedWith).toEqual({ code: CloseCode.GOING_AWAY, reason: 'steadyrpc: going away' });
    await expect(h.server.closed).resolves.toMatchObject({ cause: 'host', code: CloseCode.GOING_AWAY });
    h.expectReleased();
  });
});

describe('serveSocket: drain', () => {
  it('with nothing owed, closes with 1012 at once and resolves when closed', async () => {
    const h = await served();
    const drained = h.server.drain(5_000);
    expect(h.socket.closedWith).toEqual({ code: CloseCode.SERVICE_RESTART, reason: 'steadyrpc: service restart' });
    await drained;
    await expect(h.server.closed).resolves.toMatchObject({ cause: 'drained', code: CloseCode.SERVICE_RESTART, terminated: false });
    h.expectReleased();
  });

  it('stops reading, answers what it owes, then closes with 1012; pings are suspended meanwhile', async () => {
    const h = await served({ hold: ['eth_getBalance'], session: { requestTimeoutMs: 120_000 } });
    h.socket.autoPong = false;
    h.socket.clientSend(rpc(7, 'eth_getBalance', ['0x0', 'latest']));
    await h.clock.flush();
    let resolved = false;
    const drained = h.server.drain(60_000).then(() => (resolved = true));
    expect(h.socket.isPaused).toBe(true);
    const pings = h.socket.pings;
    await h.clock.advance(45_000);
    expect(h.socket.closedWith).toBeUndefined();
    expect(h.socket.terminated).toBe(false);
    expect(h.socket.pings).toBe(pings);
    expect(resolved).toBe(false);
    h.release();
    await h.clock.flush();
    expect(h.socket.frames()).toEqual([{ jsonrpc: '2.0', id: 7, result: '0x0' }]);
    expect(h.socket.log.map(([kind]) => kind)).toEqual(['send', 'close']);
    expect(h.socket.closedWith?.code).toBe(CloseCode.SERVICE_RESTART);
    expect(h.socket.isPaused).toBe(false); // reading again, for the client's close frame
    await drained;
    await expect(h.server.closed).resolves.toMatchObject({ cause: 'drained', code: CloseCode.SERVICE_RESTART, terminated: false });
    h.expectReleased();
  });

  it('at the deadline, answers what is still owed with an error (NOT_RESENT for a write that went out), then closes with 1012', async () => {
    const h = await served({ hold: ['eth_getBalance', 'eth_sendTransaction'] });
    h.socket.clientSend(rpc(7, 'eth_getBalance', ['0x0', 'latest']));
    h.socket.clientSend(rpc(8, 'eth_sendTransaction', [{ from: '0x01', to: '0x02' }]));
    await h.clock.flush();
    const drained = h.server.drain(1_000);
    await h.clock.advance(999);
    expect(h.socket.closedWith).toBeUndefined();
    await h.clock.advance(1);
    expect(h.socket.log.map(([kind]) => kind)).toEqual(['send', 'send', 'close']);
    const frames = h.socket.frames() as Array<{ id: number }>;
    expect(frames.find((f) => f.id === 7)).toMatchObject({ error: { code: RpcErrorCode.UPSTREAM_UNAVAILABLE } });
    expect(frames.find((f) => f.id === 8)).toMatchObject({ error: { code: RpcErrorCode.NOT_RESENT } });
    expect(h.socket.closedWith?.code).toBe(CloseCode.SERVICE_RESTART);
    await drained;
    await expect(h.server.closed).resolves.toMatchObject({ cause: 'drain-deadline', code: CloseCode.SERVICE_RESTART, terminated: false });
    h.expectReleased();
  });

  it('waits for a read held until a node has caught up with what the client has seen', async () => {
    const h = await served();
    h.socket.clientSend(rpc(1, 'eth_blockNumber'));
    await h.clock.flush();
    h.node.head = 98; // the node falls behind what the client saw (a load-balanced endpoint)
    h.socket.clientSend(rpc(2, 'eth_blockNumber'));
    await h.clock.flush();
    expect(h.session.stats()).toMatchObject({ inFlight: 0, queued: 0, owed: 1, heldBehind: 1 });
    const drained = h.server.drain(10_000);
    await h.clock.advance(1_000);
    expect(h.socket.closedWith).toBeUndefined();
    h.node.head = 101; // caught up
    await h.clock.advance(1_000);
    expect(h.socket.frames()[1]).toEqual({ jsonrpc: '2.0', id: 2, result: '0x65' });
    expect(h.socket.closedWith?.code).toBe(CloseCode.SERVICE_RESTART);
    await drained;
    await expect(h.server.closed).resolves.toMatchObject({ cause: 'drained', code: CloseCode.SERVICE_RESTART, terminated: false });
    h.expectReleased();
  });

  it('a client that does not echo the close is terminated after the grace; drain resolves then', async () => {
    const h = await served();
    h.socket.reading = false;
    let resolved = false;
    const drained = h.server.drain(0).then(() => (resolved = true));
    await h.clock.advance(4_999);
    expect(resolved).toBe(false);
    await h.clock.advance(1);
    await drained;
    await expect(h.server.closed).resolves.toMatchObject({ cause: 'drained', code: 1006, terminated: true });
    h.expectReleased();
  });

  it('a second drain joins the first; drain after close resolves', async () => {
    const h = await served({ hold: ['eth_getBalance'] });
    h.socket.clientSend(rpc(7, 'eth_getBalance', ['0x0', 'latest']));
    await h.clock.flush();
    const first = h.server.drain(1_000);
    const second = h.server.drain(50);
    await h.clock.advance(50);
    expect(h.socket.closedWith).toBeUndefined();
    await h.clock.advance(950);
    await Promise.all([first, second]);
    await h.server.drain(10);
    expect(() => h.server.drain(-1)).toThrow('Expected drainMs to be a finite number >= 0, got -1');
  });
});

describe('Metrics.trackServedSocket', () => {
  it('counts slow-reader closes, ping timeouts and drains, and gauges the bytes queued', async () => {
    const metrics = new Metrics();
    const slow = await served({ serve: { maxBufferedBytes: 1_000 } });
    const silent = await served();
    const drained = await served();
    for (const h of [slow, silent, drained]) metrics.trackServedSocket(h.server);
    expect(metrics.render()).toContain('steadyrpc_client_slow_reader_closes_total 0');
    expect(metrics.render()).toContain('steadyrpc_client_ping_timeouts_total 0');

    slow.socket.reading = false;
    slow.session.emit('message', JSON.stringify({ jsonrpc: '2.0', id: 1, result: 'x'.repeat(600) }));
    expect(metrics.render()).toMatch(/steadyrpc_client_buffered_bytes 6\d\d\n/);
    slow.session.emit('message', JSON.stringify({ jsonrpc: '2.0', id: 2, result: 'x'.repeat(600) }));
    await slow.clock.advance(5_000);

    silent.socket.autoPong = false;
    await silent.clock.advance(40_000);

    await drained.server.drain(1_000);
    await Promise.all([slow.server.closed, silent.server.closed]);
    await slow.clock.flush();

    const text = metrics.render();
    expect(text).toContain('steadyrpc_client_slow_reader_closes_total 1');
    expect(text).toContain('steadyrpc_client_ping_timeouts_total 1');
    expect(text).toContain('steadyrpc_client_drains_total{outcome="answered"} 1');
    expect(text).toContain('steadyrpc_client_closes_total{cause="slow-reader"} 1');
    expect(text).toContain('steadyrpc_client_closes_total{cause="ping-timeout"} 1');
    expect(text).toContain('steadyrpc_client_buffered_bytes 0');
  });
});

describe('client connection duration', () => {
  it('says how long the socket was served, and Metrics observes it in client_connection_duration_seconds', async () => {
    const metrics = new Metrics();
    const h = await served();
    metrics.trackServedSocket(h.server);
    await h.clock.advance(60_000); // a minute, answering every ping
    h.socket.finishClose(1000);
    const closed = await h.server.closed;
    expect(closed).toMatchObject({ cause: 'client', openMs: 60_000 });
    await h.clock.flush();
    const text = metrics.render();
    expect(text).toContain('# TYPE steadyrpc_client_connection_duration_seconds histogram');
    expect(text).toContain('steadyrpc_client_connection_duration_seconds_bucket{le="30"} 0\n');
    expect(text).toContain('steadyrpc_client_connection_duration_seconds_bucket{le="60"} 1\n');
    expect(text).toContain('steadyrpc_client_connection_duration_seconds_bucket{le="+Inf"} 1\n');
    expect(text).toContain('steadyrpc_client_connection_duration_seconds_sum 60\n');
    expect(text).toContain('steadyrpc_client_connection_duration_seconds_count 1\n');
  });
});

describe('serveSocket and ws', () => {
  it('imports only types from ws, so a bundle of it carries no ws', () => {
    for (const file of ['serveSocket.ts', 'ServedSocket.ts']) {
      const source = readFileSync(new URL(`../../src/server/${file}`, import.meta.url), 'utf8');
      const fromWs = [...source.matchAll(/^import\s+(type\s+)?[^;]*from\s+'ws';/gm)];
      expect(fromWs.every((m) => m[1] !== undefined), file).toBe(true);
      expect(source).not.toMatch(/import\(\s*'ws'\s*\)|require\(\s*'ws'\s*\)/);
    }
  });
});
