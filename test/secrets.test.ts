import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { NodeConfig, SocketListener } from '../src/index.js';
import { FetchHttpTransport, HealthChecker, Metrics, NodePool, UpstreamSession, WsSocketTransport } from '../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../src/testing/index.js';
import { ENCODED_TAIL, SECRET_HEADERS, SECRET_TAIL, USERINFO, leaksIn, recordEvents, render } from './helpers/secrets.js';

/** Every text a surface showed, by where it came from; checked all at once at the end of a test. */
class Surfaces {
  readonly texts: string[] = [];

  add(where: string, value: unknown): void {
    this.texts.push(`${where}: ${typeof value === 'string' ? value : render(value)}`);
  }

  expectNoLeak(): void {
    const leaks = this.texts.flatMap((text) => leaksIn(text).map((secret) => `${secret} in ${text.slice(0, 300)}`));
    expect(leaks).toEqual([]);
  }
}

/** The outcome of a promise, whichever way it settles, as a value to render. */
async function outcome(promise: Promise<unknown>, clock?: FakeClock): Promise<unknown> {
  let settled = false;
  const result = promise.then(
    (value) => ({ resolved: value }),
    (error: unknown) => ({ rejected: error }),
  );
  void result.then(() => (settled = true));
  for (let i = 0; i < 200 && !settled && clock !== undefined; i++) await clock.advance(100);
  return result;
}

function listener(surfaces: Surfaces, where: string): SocketListener {
  return {
    onOpen: () => surfaces.add(`${where}.open`, 'open'),
    onMessage: (text) => surfaces.add(`${where}.message`, text),
    onClose: (info) => surfaces.add(`${where}.close`, info),
    onError: (error) => surfaces.add(`${where}.error`, error),
  };
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('planted credentials never show (fakes, fake clock)', () => {
  it('HTTP nodes that refuse: probe events, health events, lastError, snapshots, request() errors, metrics', async () => {
    const clock = new FakeClock();
    const http = new FakeHttpTransport();
    const sockets = new FakeSocketTransport();
    const urls = {
      a: `http://${USERINFO}a.test${SECRET_TAIL}`,
      b: `http://b.test${ENCODED_TAIL}`,
      c: `http://c.test${SECRET_TAIL}`,
      d: `ws://${USERINFO}d.test${SECRET_TAIL}`,
    };
    const nodes: NodeConfig[] = [
      { name: 'a', http: urls.a, ws: `ws://${USERINFO}a.test${SECRET_TAIL}` },
      { name: 'b', http: urls.b },
      { name: 'c', http: () => ({ url: urls.c, headers: { ...SECRET_HEADERS } }), tier: 'backup' },
      { name: 'd', ws: urls.d, tier: 'backup' },
    ];
    const pool = new NodePool({ nodes, clock, httpTransport: http });
    // A custom transport whose errors quote the URL: the library still shows none of it.
    sockets.route(urls.d, (socket) => socket.fail(new Error(`getaddrinfo ENOTFOUND while opening ${urls.d}`)));
    const checker = new HealthChecker(pool, { failuresToDown: 1, intervalMs: 1_000, timeoutMs: 500, socketTransport: sockets });
    const metrics = new Metrics();
    metrics.trackPool(pool);
    metrics.trackHealth(checker);
    const surfaces = new Surfaces();
    recordEvents(pool, 'pool', surfaces.texts);
    recordEvents(checker, 'health', surfaces.texts);
    cleanups.push(() => checker.close(), () => pool.close());

    checker.start();
    await clock.advance(3_000);
    expect(surfaces.texts.filter((t) => t.startsWith('health.probe')).length).toBeGreaterThanOrEqual(8);
    surfaces.add('snapshot', pool.snapshot());
    for (const node of pool.nodes) surfaces.add(`display ${node.name}`, [node.httpDisplay, node.wsDisplay]);
    expect(pool.snapshot().nodes.map((n) => [n.http, n.ws])).toEqual([
      ['http://a.test/***', 'ws://a.test/***'],
      ['http://b.test/***', undefined],
      [undefined, undefined],
      [undefined, 'ws://d.test/***'],
    ]);
    expect(pool.health('a').lastError).toContain('http://a.test/***');
    expect(pool.health('d').lastError).toContain('ws://d.test/***');

    surfaces.add('request', await outcome(pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' }), clock));
    surfaces.add('batch', await outcome(pool.request([{ jsonrpc: '2.0', id: 2, method: 'eth_chainId' }]), clock));
    surfaces.add('metrics', metrics.render());
    surfaces.expectNoLeak();
  });

  it('a write whose connection broke after sending: the NOT_RESENT answer shows no credential', async () => {
    const clock = new FakeClock();
    const http = new FakeHttpTransport();
    const url = `http://${USERINFO}a.test${SECRET_TAIL}`;
    http.route(url, new FakeNode({ name: 'a' }).http).fail(url, 'reset-after-send');
    const pool = new NodePool({
      nodes: [{ name: 'a', http: () => ({ url, headers: { ...SECRET_HEADERS } }) }, { name: 'b', http: `http://b.test${ENCODED_TAIL}` }],
      clock,
      httpTransport: http,
    });
    cleanups.push(() => pool.close());
    const surfaces = new Surfaces();
    recordEvents(pool, 'pool', surfaces.texts);
    const write = { jsonrpc: '2.0' as const, id: 7, method: 'eth_sendTransaction', params: [{ to: '0x0000000000000000000000000000000000000001' }] };
    surfaces.add('write', await outcome(pool.request(write), clock));
    surfaces.add('snapshot', pool.snapshot());
    surfaces.expectNoLeak();
  });

  it('sessions over sockets that fail, refuse or close: session and pool events, metrics, send errors', async () => {
    const clock = new FakeClock();
    const sockets = new FakeSocketTransport();
    const urls = { a: `ws://${USERINFO}a.test${SECRET_TAIL}`, b: `ws://b.test${SECRET_TAIL}`, c: `ws://c.test${ENCODED_TAIL}` };
    const a = new FakeNode({ name: 'a', head: 100 });
    const c = new FakeNode({ name: 'c', head: 100 });
    sockets.route(urls.a, a.socket);
    sockets.route(urls.b, (socket) => socket.refuse(401));
    sockets.route(urls.c, c.socket);
    const pool = new NodePool({
      nodes: [
        { name: 'a', ws: urls.a },
        { name: 'b', ws: () => ({ url: urls.b, headers: { ...SECRET_HEADERS }, protocols: ['proto-s3cr3t'] }) },
        { name: 'c', ws: urls.c, tier: 'backup' },
      ],
      clock,
      httpTransport: new FakeHttpTransport(),
    });
    for (const name of ['a', 'b', 'c']) pool.update(name, { status: 'healthy', head: 100 });
    const session = new UpstreamSession({ pool, transport: sockets, clock, random: () => 0.5 });
    const metrics = new Metrics();
    metrics.trackPool(pool);
    metrics.trackSession(session);
    const surfaces = new Surfaces();
    recordEvents(pool, 'pool', surfaces.texts);
    recordEvents(session, 'session', surfaces.texts);
    cleanups.push(() => session.close(), () => pool.close());
    session.on('message', (text) => surfaces.add('client', text));

    await clock.advance(0);
    session.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' }));
    await clock.advance(10);
    // a breaks; b refuses (401: quarantined); c takes over; then c is cut too.
    // The transport's error quotes the whole URL, as ws and the platforms do in some messages.
    sockets.openSockets.find((s) => s.endpoint.url === urls.a)!.fail(new Error(`read ECONNRESET (${urls.a})`));
    a.cut();
    await clock.advance(5_000);
    session.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'eth_blockNumber' }));
    c.cut();
    await clock.advance(30_000);
    expect(surfaces.texts.some((t) => t.startsWith('session.upstreamClose'))).toBe(true);
    expect(pool.health('b').lastError ?? '').not.toBe('');

    // An error the library builds itself for a socket: display form, no secret.
    const socket = sockets.open({ url: urls.b, headers: { ...SECRET_HEADERS } }, listener(surfaces, 'direct'));
    socket.fail();
    let sendError: unknown;
    try {
      socket.send('{}');
    } catch (error) {
      sendError = error;
    }
    expect(String(sendError)).toContain('(ws://b.test/***)');
    surfaces.add('send error', sendError);
    surfaces.add('snapshot', pool.snapshot());
    surfaces.add('metrics', metrics.render());
    surfaces.expectNoLeak();
  });
});

describe('planted credentials never show (real fetch and ws, closed loopback port)', () => {
  it('FetchHttpTransport: connection refused and an invalid header value', async () => {
    const port = await closedPort();
    const surfaces = new Surfaces();
    const fetcher = new FetchHttpTransport();
    const base = `http://${USERINFO}127.0.0.1:${port}`;
    const post = (url: string, headers: Record<string, string>) => outcome(fetcher.post({ url, headers }, '{}', new AbortController().signal));
    const refused = (await post(`${base}${SECRET_TAIL}`, { ...SECRET_HEADERS })) as { rejected: { cause: unknown } };
    surfaces.add('refused', refused);
    expect(render(refused.rejected)).toContain('ECONNREFUSED');
    surfaces.add('encoded', await post(`${base}${ENCODED_TAIL}`, {}));
    // fetch quotes an invalid header value in its message (a control character turned to a space).
    surfaces.add('bad header', await post(`http://127.0.0.1:${port}${SECRET_TAIL}`, { 'x-api-key': `${SECRET_HEADERS['x-api-key']}\u0000` }));
    surfaces.add('bad bearer', await post(`http://127.0.0.1:${port}/`, { authorization: `${SECRET_HEADERS.authorization}\u0001x` }));
    surfaces.expectNoLeak();
  });

  it('WsSocketTransport: connection refused, a URL ws rejects, an invalid header value', async () => {
    const port = await closedPort();
    const surfaces = new Surfaces();
    const transport = new WsSocketTransport();
    const closes: Promise<void>[] = [];
    const open = (where: string, endpoint: { url: string; headers?: Record<string, string>; protocols?: string[] }) => {
      const events = listener(surfaces, where);
      closes.push(new Promise((resolve) => transport.open(endpoint, { ...events, onClose: (info) => (events.onClose(info), resolve()) })));
    };
    open('refused', { url: `ws://${USERINFO}127.0.0.1:${port}/v2/SECRETKEY/k3y?id=tok3n`, headers: { ...SECRET_HEADERS } });
    open('fragment', { url: `ws://${USERINFO}127.0.0.1:${port}${SECRET_TAIL}` });
    open('encoded', { url: `ws://127.0.0.1:${port}${ENCODED_TAIL}` });
    open('bad header', { url: `ws://127.0.0.1:${port}/`, headers: { 'x-api-key': `${SECRET_HEADERS['x-api-key']}\n` } });
    open('bad protocol', { url: `ws://127.0.0.1:${port}/`, protocols: ['proto s3cr3t'] });
    // ws quotes a URL it cannot parse in full.
    open('invalid url', { url: `ws://${USERINFO}[::1${SECRET_TAIL}` });
    await Promise.all(closes);
    expect(surfaces.texts.filter((t) => t.startsWith('refused.error')).join('\n')).toContain('ECONNREFUSED');
    expect(surfaces.texts.filter((t) => t.startsWith('invalid url.error')).join('\n')).toContain('Invalid URL');
    surfaces.expectNoLeak();
  });

  it('a pool, its health checker and a session over the real transports, every node refusing', async () => {
    const port = await closedPort();
    const clock = new FakeClock();
    const nodes: NodeConfig[] = [
      { name: 'a', http: `http://${USERINFO}127.0.0.1:${port}${SECRET_TAIL}`, ws: `ws://${USERINFO}127.0.0.1:${port}/v2/SECRETKEY/k3y?id=tok3n` },
      { name: 'b', ws: () => ({ url: `ws://127.0.0.1:${port}${ENCODED_TAIL}?id=tok3n`, headers: { ...SECRET_HEADERS } }) },
      { name: 'c', http: () => ({ url: `http://127.0.0.1:${port}${SECRET_TAIL}`, headers: { ...SECRET_HEADERS } }), tier: 'backup' },
    ];
    // No pause before asking the nodes again (http.retryDelayMs): it runs on the fake clock, the refusals in real time.
    const pool = new NodePool({ nodes, clock, http: { retryDelayMs: 0 } });
    const checker = new HealthChecker(pool, { failuresToDown: 1, timeoutMs: 5_000 });
    const session = new UpstreamSession({ pool, clock, random: () => 0.5 });
    const metrics = new Metrics();
    metrics.trackPool(pool);
    metrics.trackHealth(checker);
    metrics.trackSession(session);
    const surfaces = new Surfaces();
    recordEvents(pool, 'pool', surfaces.texts);
    recordEvents(checker, 'health', surfaces.texts);
    recordEvents(session, 'session', surfaces.texts);
    cleanups.push(() => session.close(), () => checker.close(), () => pool.close());

    checker.start();
    await clock.advance(0);
    session.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' }));
    await vi.waitFor(
      () => {
        expect(surfaces.texts.filter((t) => t.startsWith('health.probe')).length).toBeGreaterThanOrEqual(3);
        expect(surfaces.texts.some((t) => t.startsWith('session.error'))).toBe(true);
      },
      { timeout: 5_000, interval: 20 },
    );
    surfaces.add('request', await outcome(pool.request({ jsonrpc: '2.0', id: 2, method: 'eth_blockNumber' })));
    surfaces.add('snapshot', pool.snapshot());
    surfaces.add('metrics', metrics.render());
    expect(surfaces.texts.join('\n')).toContain('ECONNREFUSED');
    surfaces.expectNoLeak();
  });
});
