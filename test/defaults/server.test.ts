import { describe, expect, it } from 'vitest';
import { NodePool, RpcErrorCode, UpstreamSession, serveHttp, serveSocket } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';
import { fakeCluster } from '../helpers/pool.js';
import { FakeServerSocket } from '../server/FakeServerSocket.js';

// Server-side defaults the docs state (docs/reference.md, the JSDoc of ServeHttpOptions and
// ServeSocketOptions), each used without passing the option and checked at its boundary.

const MiB = 1024 * 1024;

/** A body calling eth_chainId, padded with trailing whitespace to exactly `bytes` bytes. */
function chainIdBody(bytes: number): string {
  const call = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] });
  return call + ' '.repeat(bytes - call.length);
}

describe('serveHttp maxBodyBytes defaults to 5 MiB (the sessions’ maxFrameBytes)', () => {
  function healthyPool() {
    const c = fakeCluster([{ name: 'a' }]);
    c.pool.update('a', { status: 'healthy', head: 100 });
    return c.pool;
  }

  it('a body of exactly 5 MiB is answered', async () => {
    const body = chainIdBody(5 * MiB);
    expect(Buffer.byteLength(body)).toBe(5 * MiB);
    const answer = await serveHttp(healthyPool(), body);
    expect(answer).toEqual({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"result":"0x1"}', outcome: 'answered' });
  });

  it('a body of 5 MiB + 1 byte gets HTTP 413 with FRAME_TOO_LARGE naming the limit', async () => {
    const answer = await serveHttp(healthyPool(), chainIdBody(5 * MiB + 1));
    expect(answer.status).toBe(413);
    expect(answer.outcome).toBe('too-large');
    expect(JSON.parse(answer.body)).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: RpcErrorCode.FRAME_TOO_LARGE, message: `Frame too large: the limit is ${5 * MiB} bytes`, data: { maxFrameBytes: 5 * MiB } },
    });
  });
});

describe('serveSocket pingIntervalMs defaults to 20 s: a dead client goes within 40 s', () => {
  /** A session over a healthy fake node, served on a fake server socket with the default ping settings. */
  async function served() {
    const clock = new FakeClock();
    const transport = new FakeSocketTransport();
    const node = new FakeNode({ name: 'a', head: 100 });
    transport.route('ws://a.test/', node.socket);
    const pool = new NodePool({ nodes: [{ name: 'a', ws: 'ws://a.test/' }], clock, httpTransport: new FakeHttpTransport() });
    pool.update('a', { status: 'healthy', head: 100 });
    const session = new UpstreamSession({ pool, transport, clock, random: () => 0.5 });
    const socket = new FakeServerSocket();
    const server = serveSocket(socket.asWebSocket(), session, { clock });
    await clock.flush();
    return { clock, socket, server };
  }

  it('pings first at 20 s, not 1 ms before, and then every 20 s', async () => {
    const h = await served();
    await h.clock.advance(20_000 - 1);
    expect(h.socket.pings).toBe(0);
    await h.clock.advance(1);
    expect(h.socket.pings).toBe(1);
    await h.clock.advance(20_000 - 1);
    expect(h.socket.pings).toBe(1);
    await h.clock.advance(1);
    expect(h.socket.pings).toBe(2);
    expect(h.socket.terminated).toBe(false);
    h.server.close();
  });

  it('a client silent from the start is terminated at exactly 40 s, not 1 ms before', async () => {
    const h = await served();
    h.socket.autoPong = false;
    await h.clock.advance(40_000 - 1);
    expect(h.socket.terminated).toBe(false);
    await h.clock.advance(1);
    expect(h.socket.terminated).toBe(true);
    await h.clock.flush();
    await expect(h.server.closed).resolves.toMatchObject({ cause: 'ping-timeout', code: 1006, terminated: true });
  });

  it('a client that dies just after answering a ping is terminated exactly 40 s after that pong, the longest a dead client lives', async () => {
    const h = await served();
    await h.clock.advance(20_000); // the first ping, answered at once
    expect(h.socket.pings).toBe(1);
    h.socket.autoPong = false; // the client dies right after its pong
    await h.clock.advance(40_000 - 1);
    expect(h.socket.pings).toBe(2);
    expect(h.socket.terminated).toBe(false);
    await h.clock.advance(1);
    expect(h.socket.terminated).toBe(true);
    await h.clock.flush();
    await expect(h.server.closed).resolves.toMatchObject({ cause: 'ping-timeout', code: 1006, terminated: true });
  });
});
