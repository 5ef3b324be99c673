import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { brotliCompressSync, deflateSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { isSteadyRpcError } from '../../src/errors.js';
import { NodePool, RpcErrorCode } from '../../src/index.js';
import type { HttpTransport } from '../../src/transport/HttpTransport.js';
import { FetchHttpTransport, isNotDelivered } from '../../src/transport/HttpTransport.js';
import { NodeHttpTransport } from '../../src/transport/NodeHttpTransport.js';
import { closedPort, startHttpServer, type ServerAnswer } from '../helpers/localServers.js';

/**
 * The claims docs/guides/http.md makes about NodeHttpTransport and the HTTP pool path that
 * test/transport/NodeHttpTransport.test.ts and test/pool/httpDelivery.test.ts do not cover, each
 * against real loopback sockets:
 * - "gzip, deflate and br decoded" (deflate and br here; gzip is tested there);
 * - "It follows no redirect (a 3xx is an HTTP error status to the pool)";
 * - "`keepAliveMs` (4 s, shortened to a second under the node's `Keep-Alive: timeout`)";
 * - "idle connections never keep the process alive";
 * - "A TLS failure counts as possibly delivered too (... such a write gets `NOT_RESENT` instead of
 *   failing over)", and `NOT_RESENT`'s reason `bad-answer` for "an answer that is not JSON-RPC".
 * Real time only where a socket needs it (the idle timeouts); every wait is bounded.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Node {
  url: string;
  /** Bodies of the HTTP requests the server parsed. */
  bodies: string[];
  /** Every connection it accepted, in order. */
  connections: Socket[];
}

interface NodeOptions {
  /** The server's own idle timeout (Node's `server.keepAliveTimeout`); 0: never closes an idle connection, sends no `Keep-Alive`. */
  keepAliveTimeout?: number;
  /** Answers each request body; default a 200 with a JSON-RPC result. */
  respond?: (body: string) => ServerAnswer;
}

const ANSWER = '{"jsonrpc":"2.0","id":1,"result":"0x10"}';

/** `ANSWER` under the id of `body` when it is a single JSON-RPC request, as a node answers. */
function answerTo(body: string): string {
  try {
    const { id } = JSON.parse(body) as { id?: unknown };
    return JSON.stringify({ jsonrpc: '2.0', id: id ?? 1, result: '0x10' });
  } catch {
    return ANSWER;
  }
}

/** A plain HTTP server on a free loopback port, closed after the test. */
async function startNode(options: NodeOptions = {}): Promise<Node> {
  const { keepAliveTimeout = 5_000, respond = (body) => ({ status: 200, body: answerTo(body) }) } = options;
  const server = await startHttpServer((request) => respond(request.body), cleanups, { keepAliveTimeout });
  return {
    url: server.url,
    get bodies() {
      return server.received.map((r) => r.body);
    },
    connections: server.connections,
  };
}

function nodeTransport(options: ConstructorParameters<typeof NodeHttpTransport>[0] = {}): NodeHttpTransport {
  const transport = new NodeHttpTransport(options);
  cleanups.push(() => transport.close());
  return transport;
}

/** A pool given no `httpTransport` (so the default one, NodeHttpTransport in Node), closed after the test. */
function defaultPool(nodes: { name: string; http: string }[]): NodePool {
  // No breaker: every test sends to a failing `a` on purpose (test/pool/httpBreaker.test.ts covers it).
  const pool = new NodePool({ nodes, breaker: false });
  cleanups.push(() => pool.close());
  expect(pool.httpTransport).toBeInstanceOf(NodeHttpTransport);
  return pool;
}

/** Resolves once `socket` has closed (at once if it already has). */
const closed = (socket: Socket): Promise<unknown> => (socket.destroyed ? Promise.resolve() : once(socket, 'close'));

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const BODY = '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}';
const live = () => new AbortController().signal;
const outcome = (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e);
const sendTransaction = (id: number) => ({ jsonrpc: '2.0' as const, id, method: 'eth_sendTransaction', params: [{ from: '0x0000000000000000000000000000000000000001', to: '0x000000000000000000000000000000000000dEaD', value: '0x1' }] });
const NOT_RESENT_BY_A = (cause: string, what = 'eth_sendTransaction is') =>
  `Node "a" ${cause}; ${what} not safe to send twice, so it was not sent to another node`;

const transports: readonly { name: string; make: () => HttpTransport }[] = [
  { name: 'NodeHttpTransport', make: () => nodeTransport() },
  { name: 'FetchHttpTransport (the answers it must match)', make: () => new FetchHttpTransport() },
];

describe.each(transports)('$name decodes deflate and br answers (doc: "gzip, deflate and br decoded")', ({ make }) => {
  const big = `{"jsonrpc":"2.0","id":1,"result":"${'é✓0xdeadbeef'.repeat(40_000)}"}`;

  it.each([
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)('Content-Encoding: %s, a small and a large (many chunks) answer', async (coding, compress) => {
    const node = await startNode({ respond: (body) => ({ status: 200, headers: { 'content-encoding': coding }, body: compress(body === 'big' ? big : ANSWER) }) });
    const transport = make();
    expect(await transport.post({ url: node.url }, 'small', live())).toEqual({ status: 200, body: ANSWER });
    const large = await transport.post({ url: node.url }, 'big', live());
    expect(large.status).toBe(200);
    expect(large.body === big).toBe(true);
  });
});

describe('NodeHttpTransport follows no redirect (doc: "a 3xx is an HTTP error status to the pool")', () => {
  it.each([301, 302, 303, 307, 308])('HTTP %i with a Location is returned as it is; the Location is never asked', async (status) => {
    const target = await startNode();
    const node = await startNode({ respond: () => ({ status, headers: { location: target.url, 'content-type': 'text/plain' }, body: 'moved' }) });
    expect(await nodeTransport().post({ url: node.url }, BODY, live())).toEqual({ status, body: 'moved' });
    expect(node.bodies).toEqual([BODY]);
    expect(target.bodies).toEqual([]);
    expect(target.connections).toHaveLength(0);
  });

  it('through the pool: a read goes to the next node, a write is answered NOT_RESENT "http-status"; the Location gets nothing', async () => {
    const target = await startNode();
    const a = await startNode({ respond: () => ({ status: 307, headers: { location: target.url }, body: '' }) });
    const b = await startNode();
    const pool = defaultPool([{ name: 'a', http: a.url }, { name: 'b', http: b.url }]);

    const read = await pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] });
    expect(read).toEqual({ jsonrpc: '2.0', id: 1, result: '0x10' });
    expect([a.bodies.length, b.bodies.length]).toEqual([1, 1]);

    const write = await pool.request(sendTransaction(2));
    expect(write).toEqual({
      jsonrpc: '2.0',
      id: 2,
      error: { code: RpcErrorCode.NOT_RESENT, message: NOT_RESENT_BY_A('answered HTTP 307'), data: { node: 'a', reason: 'http-status' } },
    });
    expect([a.bodies.length, b.bodies.length]).toEqual([2, 1]);
    expect(target.bodies).toEqual([]);
    expect(target.connections).toHaveLength(0);
  });
});

/**
 * One request, then the moment the server sees the client end that (idle) connection: the client's
 * idle timeout, measured from the answer. `end` on the server's socket means the client closed it.
 */
async function idleLife(transport: NodeHttpTransport, node: Node, boundMs: number): Promise<number> {
  await transport.post({ url: node.url }, BODY, live());
  const answeredAt = performance.now();
  expect(node.connections).toHaveLength(1);
  const socket = node.connections[0]!;
  const endedByClient = once(socket, 'end').then(() => performance.now());
  const idleMs = (await within(endedByClient, boundMs, 'the client ending its idle connection')) - answeredAt;
  await within(closed(socket), 1_000, 'the connection closing');
  return idleMs;
}

describe('NodeHttpTransport keep-alive (doc: "keepAliveMs (4 s, shortened to a second under the node\'s Keep-Alive: timeout)")', () => {
  it('a node saying Keep-Alive: timeout=2: reused 200 ms after the last answer, ended by the client a second early (~1 s), then a new connection', async () => {
    // The server itself keeps idle connections 30 s: only the client can end this one in time.
    const node = await startNode({ keepAliveTimeout: 30_000, respond: () => ({ status: 200, headers: { 'keep-alive': 'timeout=2' }, body: ANSWER }) });
    const transport = nodeTransport();
    await transport.post({ url: node.url }, BODY, live());
    await sleep(200);
    await transport.post({ url: node.url }, BODY, live());
    expect(node.connections).toHaveLength(1);
    const first = node.connections[0]!;
    const answeredAt = performance.now();
    const endedAt = await within(once(first, 'end').then(() => performance.now()), 3_000, 'the client ending its idle connection');
    // 1 s (2 s less a second), not the 4 s default nor the server's 30 s.
    expect(endedAt - answeredAt).toBeGreaterThanOrEqual(900);
    expect(endedAt - answeredAt).toBeLessThan(2_500);
    await transport.post({ url: node.url }, BODY, live());
    expect(node.connections).toHaveLength(2);
    expect(node.bodies).toHaveLength(3);
  });

  it('keepAliveMs: 500 with a node saying timeout=10: reused 200 ms after the last answer, ended by the client at ~500 ms (a longer hint does not lengthen it), then a new connection', async () => {
    const node = await startNode({ keepAliveTimeout: 30_000, respond: () => ({ status: 200, headers: { 'keep-alive': 'timeout=10' }, body: ANSWER }) });
    const transport = nodeTransport({ keepAliveMs: 500 });
    await transport.post({ url: node.url }, BODY, live());
    await sleep(200);
    await transport.post({ url: node.url }, BODY, live());
    expect(node.connections).toHaveLength(1);
    const answeredAt = performance.now();
    const endedAt = await within(once(node.connections[0]!, 'end').then(() => performance.now()), 3_000, 'the client ending its idle connection');
    // 500 ms, not 9 s (10 s less a second).
    expect(endedAt - answeredAt).toBeGreaterThanOrEqual(400);
    expect(endedAt - answeredAt).toBeLessThan(2_000);
    await transport.post({ url: node.url }, BODY, live());
    expect(node.connections).toHaveLength(2);
  });

  it('a node saying Keep-Alive: timeout=1 (a second under it is nothing): no connection is kept', async () => {
    const node = await startNode({ keepAliveTimeout: 30_000, respond: () => ({ status: 200, headers: { 'keep-alive': 'timeout=1' }, body: ANSWER }) });
    const transport = nodeTransport();
    for (let i = 0; i < 3; i++) await transport.post({ url: node.url }, BODY, live());
    expect(node.connections).toHaveLength(3);
    await within(Promise.all(node.connections.map(closed)), 2_000, 'the client ending each connection');
  });

  it('with no Keep-Alive hint, the default keeps an idle connection 4 s', { timeout: 10_000 }, async () => {
    // keepAliveTimeout 0: the server sends no Keep-Alive header and never ends an idle connection itself.
    const node = await startNode({ keepAliveTimeout: 0 });
    const idleMs = await idleLife(nodeTransport(), node, 7_000);
    expect(idleMs).toBeGreaterThanOrEqual(3_900);
    expect(idleMs).toBeLessThan(5_500);
  });
});

describe('NodeHttpTransport: idle connections never keep the process alive', () => {
  it('a process that made two requests (one kept-alive connection, keepAliveMs 60 s, never closed) exits on its own at once', { timeout: 15_000 }, async () => {
    // The server never ends an idle connection: only the child's exit can.
    const node = await startNode({ keepAliveTimeout: 0 });
    const module = new URL('../../src/transport/NodeHttpTransport.ts', import.meta.url).href;
    const script = [
      `const { NodeHttpTransport } = await import(${JSON.stringify(module)});`,
      'const transport = new NodeHttpTransport({ keepAliveMs: 60_000 });',
      'for (let i = 0; i < 2; i++) {',
      "  const { status } = await transport.post({ url: process.env.NODE_URL }, '{}', new AbortController().signal);",
      '  console.log(status);',
      '}',
      "console.log('idle');",
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: new URL('../../', import.meta.url),
      env: { ...process.env, NODE_URL: node.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    cleanups.push(() => {
      clearTimeout(killer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    let stderr = '';
    let idleAt: number | undefined;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      if (idleAt === undefined && stdout.includes('idle')) idleAt = performance.now();
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    const exitedAt = performance.now();
    clearTimeout(killer);
    expect({ code, signal, stdout }, `the child's stderr: ${stderr}`).toEqual({ code: 0, signal: null, stdout: '200\n200\nidle\n' });
    // Both requests went over one connection: it was kept alive, and idle, when the child was done.
    expect(node.bodies).toEqual(['{}', '{}']);
    expect(node.connections).toHaveLength(1);
    // The child left while its transport still held that connection (60 s keep-alive, not closed).
    expect(exitedAt - idleAt!).toBeLessThan(2_000);
    await within(closed(node.connections[0]!), 2_000, 'the connection closing with the child');
  });
});

/** A server that accepts TCP connections and ends each at once: a TLS handshake never completes. */
async function dropsEveryConnection(): Promise<string> {
  const server = net.createServer((socket) => socket.destroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe('a TLS failure counts as possibly delivered (doc: "such a write gets NOT_RESENT instead of failing over")', () => {
  it('NodeHttpTransport: https:// to a plain-HTTP port, or to a port that drops the connection, is ERR_TRANSPORT not marked "not delivered"', async () => {
    const plain = await startNode();
    const tlsToPlain = await outcome(nodeTransport().post({ url: plain.url.replace('http://', 'https://') }, BODY, live()));
    expect(isSteadyRpcError(tlsToPlain, 'ERR_TRANSPORT')).toBe(true);
    expect(isNotDelivered(tlsToPlain)).toBe(false);
    expect((tlsToPlain as Error).message).toMatch(/^HTTP request failed \(https:\/\/127\.0\.0\.1:\d+\/[^)]*\)[\s\S]*(SSL|TLS|EPROTO)/);
    // The plain server never parsed an HTTP request: it was never delivered, yet it counts as possibly so.
    expect(plain.bodies).toEqual([]);

    const dropped = await outcome(nodeTransport().post({ url: await dropsEveryConnection() }, BODY, live()));
    expect(isSteadyRpcError(dropped, 'ERR_TRANSPORT')).toBe(true);
    expect(isNotDelivered(dropped)).toBe(false);
    expect((dropped as Error).message).toMatch(/before secure TLS connection was established/);
  });

  it('through the pool: a write is answered NOT_RESENT "connection" by the first node; a write safe to repeat and a read go to the next', async () => {
    const plain = await startNode();
    const b = await startNode();
    const pool = defaultPool([{ name: 'a', http: plain.url.replace('http://', 'https://') }, { name: 'b', http: b.url }]);

    const write = (await pool.request(sendTransaction(7))) as { id: number; error: { code: number; message: string; data: unknown } };
    expect(write).toMatchObject({ jsonrpc: '2.0', id: 7, error: { code: RpcErrorCode.NOT_RESENT, data: { node: 'a', reason: 'connection' } } });
    expect(write.error.message).toMatch(/^Node "a" dropped the connection after the request was sent \((EPROTO|ECONNRESET)\); eth_sendTransaction is not safe to send twice, so it was not sent to another node$/);
    expect(b.bodies).toEqual([]);

    // eth_sendRawTransaction is safe to repeat (the guide's table: "the same signed transaction has the same hash"): the same failure sends it on to b.
    const raw = { jsonrpc: '2.0' as const, id: 8, method: 'eth_sendRawTransaction', params: ['0x02f86b'] };
    await expect(pool.request(raw)).resolves.toEqual({ jsonrpc: '2.0', id: 8, result: '0x10' });
    await expect(pool.request({ jsonrpc: '2.0', id: 9, method: 'eth_chainId', params: [] })).resolves.toMatchObject({ result: '0x10' });
    expect(b.bodies.map((body) => JSON.parse(body).method)).toEqual(['eth_sendRawTransaction', 'eth_chainId']);
    expect(plain.bodies).toEqual([]);
  });

  it('the same TLS failure with the handshake dropped: NOT_RESENT "connection" too', async () => {
    const b = await startNode();
    const pool = defaultPool([{ name: 'a', http: await dropsEveryConnection() }, { name: 'b', http: b.url }]);
    await expect(pool.request(sendTransaction(3))).resolves.toMatchObject({ id: 3, error: { code: RpcErrorCode.NOT_RESENT, data: { node: 'a', reason: 'connection' } } });
    expect(b.bodies).toEqual([]);
  });

  it('contrast: https:// to a refused port proves the write never left, so it goes to the next node', async () => {
    const b = await startNode();
    const pool = defaultPool([{ name: 'a', http: `https://127.0.0.1:${await closedPort()}/` }, { name: 'b', http: b.url }]);
    await expect(pool.request(sendTransaction(4))).resolves.toEqual({ jsonrpc: '2.0', id: 4, result: '0x10' });
    expect(b.bodies).toHaveLength(1);
  });
});

describe('NOT_RESENT "bad-answer": a node answering a write with a 2xx body that is not a JSON-RPC answer', () => {
  const badBodies: readonly [string, string][] = [
    ['invalid JSON', '{"jsonrpc":"2.0","id":1,"res'],
    ['an HTML page', '<html><body>502 Bad Gateway</body></html>'],
    ['empty', ''],
    ['a JSON string', '"ok"'],
    ['null', 'null'],
    ['an array for a single request', '[]'],
  ];

  it.each(badBodies)('%s: answered NOT_RESENT "bad-answer", not sent to the next node', async (_, text) => {
    const a = await startNode({ respond: () => ({ status: 200, body: text }) });
    const b = await startNode();
    const pool = defaultPool([{ name: 'a', http: a.url }, { name: 'b', http: b.url }]);
    expect(await pool.request(sendTransaction(5))).toEqual({
      jsonrpc: '2.0',
      id: 5,
      error: {
        code: RpcErrorCode.NOT_RESENT,
        message: NOT_RESENT_BY_A('answered with something that is not a JSON-RPC answer'),
        data: { node: 'a', reason: 'bad-answer' },
      },
    });
    expect(a.bodies).toHaveLength(1);
    expect(b.bodies).toEqual([]);
  });

  it('a batch holding a write answered with a single object: every request with an id gets NOT_RESENT "bad-answer"', async () => {
    const a = await startNode({ respond: () => ({ status: 200, body: '{"jsonrpc":"2.0","id":1,"result":"0x1"}' }) });
    const b = await startNode();
    const pool = defaultPool([{ name: 'a', http: a.url }, { name: 'b', http: b.url }]);
    const batch = [{ jsonrpc: '2.0' as const, id: 'r', method: 'eth_chainId', params: [] }, sendTransaction(6), { jsonrpc: '2.0' as const, method: 'eth_chainId', params: [] }];
    const error = (id: string | number) => ({
      jsonrpc: '2.0',
      id,
      error: {
        code: RpcErrorCode.NOT_RESENT,
        message: NOT_RESENT_BY_A('answered with something that is not a JSON-RPC answer', 'the batch holds eth_sendTransaction, which is'),
        data: { node: 'a', reason: 'bad-answer' },
      },
    });
    expect(await pool.request(batch)).toEqual([error('r'), error(6)]);
    expect(b.bodies).toEqual([]);
  });

  it('contrast: a read answered with the same garbage is asked of the next node', async () => {
    const a = await startNode({ respond: () => ({ status: 200, headers: { 'content-type': 'text/html' }, body: '<html>oops</html>' }) });
    const b = await startNode();
    const pool = defaultPool([{ name: 'a', http: a.url }, { name: 'b', http: b.url }]);
    await expect(pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] })).resolves.toEqual({ jsonrpc: '2.0', id: 1, result: '0x10' });
    expect([a.bodies.length, b.bodies.length]).toEqual([1, 1]);
  });
});
