import { describe, expect, it } from 'vitest';
import { CloseCode, NodePool, RpcErrorCode, UpstreamSession, serveHttp, serveSocket } from '../../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../../src/testing/index.js';
import { fakeCluster } from '../../helpers/pool.js';
import { FakeServerSocket } from '../../server/FakeServerSocket.js';

// Defaults of docs/reference.md that test/defaults/server.test.ts does not pin: serveSocket's
// maxBufferedBytes (16 MiB) and serveHttp's maxBatchSize (1,000), each at its boundary.

const MiB = 1024 * 1024;

describe('serveSocket maxBufferedBytes defaults to 16 MiB', () => {
  /** A session over a healthy fake node, served with the default options on a client that stopped reading. */
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
    socket.reading = false;
    return { clock, session, socket, server };
  }

  it('a frame that brings what is queued to exactly 16 MiB is sent; one byte more closes the socket with 1013', async () => {
    const h = await served();
    h.socket.bufferedAmount = 16 * MiB - 10; // queued for a client that does not read
    h.session.emit('message', '0123456789'); // exactly at the bound
    expect(h.socket.sent).toEqual(['0123456789']);
    expect(h.socket.bufferedAmount).toBe(16 * MiB);
    expect(h.socket.closedWith).toBeUndefined();
    h.session.emit('message', 'x'); // one byte past it
    expect(h.socket.sent).toHaveLength(1);
    expect(h.socket.closedWith).toEqual({ code: CloseCode.TRY_AGAIN_LATER, reason: 'steadyrpc: slow reader' });
    await h.clock.advance(5_000);
    await expect(h.server.closed).resolves.toMatchObject({ cause: 'slow-reader' });
  });
});

describe('serveHttp maxBatchSize defaults to 1,000', () => {
  function healthyPool() {
    const c = fakeCluster([{ name: 'a' }]);
    c.pool.update('a', { status: 'healthy', head: 100 });
    return c;
  }
  const batch = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'eth_chainId', params: [] })));

  it('a batch of 1,000 requests is answered, one of 1,001 gets -32600 naming the limit and is never sent', async () => {
    const { pool, http } = healthyPool();
    const full = await serveHttp(pool, batch(1_000));
    expect(full.status).toBe(200);
    expect(full.outcome).toBe('answered');
    expect(JSON.parse(full.body)).toHaveLength(1_000);
    const sentBefore = http.requests.length;

    const over = await serveHttp(pool, batch(1_001));
    expect(over.outcome).toBe('invalid');
    expect(JSON.parse(over.body)).toMatchObject({ id: null, error: { code: RpcErrorCode.INVALID_REQUEST, data: { maxBatchSize: 1_000 } } });
    expect(http.requests.length).toBe(sentBefore);
  });
});
