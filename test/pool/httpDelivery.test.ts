import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { HttpTransport } from '../../src/index.js';
import { FetchHttpTransport, NodeHttpTransport, NodePool, RpcErrorCode, isNotDelivered, markNotDelivered } from '../../src/index.js';
import { closedPort } from '../helpers/localServers.js';

/**
 * What each Node transport reports, checked against real loopback sockets: a refused connection
 * or a failed name lookup proves the request never left; a connection that breaks after the node
 * read the request proves nothing. Node's fetch (undici) and node:http word the same failures
 * differently (a reset is `UND_ERR_SOCKET` under fetch's `TypeError`, `ECONNRESET` from node:http);
 * the verdicts must not differ.
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(server: net.Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function closedPortUrl(): Promise<string> {
  return `http://127.0.0.1:${await closedPort()}/`;
}

/** A server that reads the whole request, then destroys the socket without answering. */
async function resetAfterRead(bodies: string[]): Promise<string> {
  const server = http.createServer((req) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      req.socket.destroy();
    });
  });
  return listen(server);
}

const transports: readonly { name: string; make: () => HttpTransport & { close?(): void }; resetCode: string }[] = [
  { name: 'FetchHttpTransport', make: () => new FetchHttpTransport(), resetCode: 'UND_ERR_SOCKET' },
  { name: 'NodeHttpTransport', make: () => new NodeHttpTransport(), resetCode: 'ECONNRESET' },
];

/** A transport that is closed (its keep-alive connections ended) after the test. */
function transportOf(make: () => HttpTransport & { close?(): void }): HttpTransport {
  const transport = make();
  cleanups.push(async () => transport.close?.());
  return transport;
}

describe.each(transports)('$name tells "never sent" from "failed after sending"', ({ make }) => {
  const post = (url: string) => transportOf(make).post({ url }, '{}', new AbortController().signal).catch((e: unknown) => e);

  it('a refused connection is not delivered', async () => {
    const error = await post(await closedPortUrl());
    expect(error).toMatchObject({ code: 'ERR_TRANSPORT' });
    expect(isNotDelivered(error)).toBe(true);
    expect((error as Error).message).toMatch(/before it was sent/);
  });

  it('a name that does not resolve is not delivered', async () => {
    expect(isNotDelivered(await post('http://no-such-node.invalid/'))).toBe(true);
  });

  it('a URL that is not http(s) is not delivered', async () => {
    expect(isNotDelivered(await post('ftp://node.example/'))).toBe(true);
    expect(isNotDelivered(await post('not a url'))).toBe(true);
  });

  it('a connection reset after the node read the request is not proof of anything', async () => {
    const bodies: string[] = [];
    const error = await post(await resetAfterRead(bodies));
    expect(bodies).toEqual(['{}']);
    expect(error).toMatchObject({ code: 'ERR_TRANSPORT' });
    expect(isNotDelivered(error)).toBe(false);
  });
});

describe('markNotDelivered and isNotDelivered', () => {
  it('a transport may mark its own errors; raw connect errors are recognised down the cause chain', () => {
    expect(isNotDelivered(markNotDelivered(new Error('refused')))).toBe(true);
    expect(isNotDelivered(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }))).toBe(true);
    expect(isNotDelivered(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET', syscall: 'read' }) }))).toBe(false);
    expect(isNotDelivered(new Error('timeout'))).toBe(false);
    expect(isNotDelivered('refused')).toBe(false);
  });

  // The kernel reports an ICMP unreachable on a connection it had as an error of the next read or
  // write, after the node may have read the request: only a failed connect or lookup proves it.
  it('a code proves "never sent" only from connect or a name lookup, or with no system call named', () => {
    const failed = (fields: Record<string, unknown>) => new TypeError('fetch failed', { cause: Object.assign(new Error('x'), fields) });
    expect(isNotDelivered(failed({ code: 'EHOSTUNREACH', syscall: 'read' }))).toBe(false);
    expect(isNotDelivered(failed({ code: 'ENETUNREACH', syscall: 'write' }))).toBe(false);
    expect(isNotDelivered(failed({ code: 'ECONNREFUSED', syscall: 'read' }))).toBe(false);
    expect(isNotDelivered(failed({ code: 'EHOSTUNREACH', syscall: 'connect' }))).toBe(true);
    expect(isNotDelivered(failed({ code: 'ETIMEDOUT', syscall: 'connect' }))).toBe(true);
    expect(isNotDelivered(failed({ code: 'ENOTFOUND', syscall: 'getaddrinfo' }))).toBe(true);
    // Node's AggregateError of every address it tried names the code and no system call.
    expect(isNotDelivered(failed({ code: 'ECONNREFUSED' }))).toBe(true);
    expect(isNotDelivered(failed({ code: 'UND_ERR_CONNECT_TIMEOUT' }))).toBe(true);
  });

  it('a write whose connection then reports "host unreachable" on a read is not sent to another node', async () => {
    const bodies: Record<string, string[]> = { a: [], b: [] };
    const httpTransport: HttpTransport = {
      async post({ url }, body) {
        const node = url.includes('node-a') ? 'a' : 'b';
        bodies[node]!.push(body);
        if (node === 'a') throw new TypeError('fetch failed', { cause: Object.assign(new Error('read EHOSTUNREACH'), { code: 'EHOSTUNREACH', syscall: 'read' }) });
        return { status: 200, body: '{"jsonrpc":"2.0","id":1,"result":"0xabc"}' };
      },
    };
    const pool = new NodePool({ nodes: [{ name: 'a', http: 'http://node-a.test/' }, { name: 'b', http: 'http://node-b.test/' }], httpTransport });
    const answer = await pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_sendTransaction', params: [{}] });
    expect(answer).toMatchObject({ id: 1, error: { code: RpcErrorCode.NOT_RESENT, data: { node: 'a' } } });
    expect(bodies.a).toHaveLength(1);
    expect(bodies.b).toHaveLength(0);
    pool.close();
  });
});

describe.each(transports)('pool.request over real sockets, with $name', ({ make, resetCode }) => {
  it('sends a write to the next node after a refusal, and not after a reset', async () => {
    const httpTransport = transportOf(make);
    const bodies: string[] = [];
    const second = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end('{"jsonrpc":"2.0","id":1,"result":"0xabc"}'));
    });
    const secondUrl = await listen(second);
    const refused = new NodePool({ nodes: [{ name: 'a', http: await closedPortUrl() }, { name: 'b', http: secondUrl }], httpTransport });
    await expect(refused.request({ jsonrpc: '2.0', id: 1, method: 'eth_sendTransaction', params: [{}] })).resolves.toMatchObject({ result: '0xabc' });

    const reset = new NodePool({ nodes: [{ name: 'a', http: await resetAfterRead(bodies) }, { name: 'b', http: secondUrl }], httpTransport });
    const answer = await reset.request({ jsonrpc: '2.0', id: 1, method: 'eth_sendTransaction', params: [{}] });
    expect(answer).toMatchObject({ id: 1, error: { code: RpcErrorCode.NOT_RESENT, data: { node: 'a', reason: 'connection' } } });
    expect((answer as { error: { message: string } }).error.message).toMatch(new RegExp(`^Node "a" dropped the connection after the request was sent \\(${resetCode}\\)`));
    expect(bodies).toHaveLength(1);
    refused.close();
    reset.close();
  });
});
