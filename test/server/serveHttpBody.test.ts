/**
 * serveHttp on a real Node http server, reading the request stream itself: the body is read up to
 * the limit and no further, and a client that goes away mid-body makes nothing throw.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { NodePool, readHttpBody, serveHttp, type HttpAnswer } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode } from '../../src/testing/index.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server answering every POST with serveHttp over a fake node; `served` gets each answer. */
async function start(maxBodyBytes: number): Promise<{ port: number; served: HttpAnswer[] }> {
  const node = new FakeNode({ name: 'a', head: 100 });
  const pool = new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }], clock: new FakeClock(), httpTransport: new FakeHttpTransport().route('http://a.test/', node.http) });
  const served: HttpAnswer[] = [];
  const server = http.createServer((req, res) => {
    void serveHttp(pool, req, { maxBodyBytes }).then((answer) => {
      served.push(answer);
      if (!res.destroyed) res.writeHead(answer.status, answer.headers).end(answer.body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    pool.close();
  });
  return { port: (server.address() as AddressInfo).port, served };
}

/** POSTs `body` in chunks with node:http and resolves with the status, headers and body it got back. */
function post(port: number, chunks: string[]): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ port, host: '127.0.0.1', method: 'POST', path: '/', headers: { 'content-type': 'application/json' } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', reject);
    const write = (i: number) => {
      if (i === chunks.length) return void req.end();
      // Stop writing once the answer is in: the server will not read the rest.
      if (req.destroyed || req.writableEnded) return;
      req.write(chunks[i], () => setImmediate(() => write(i + 1)));
    };
    write(0);
  });
}

describe('serveHttp reading a request stream', () => {
  it('answers a POST body read from the IncomingMessage', async () => {
    const { port } = await start(1_024);
    const answer = await post(port, ['{"jsonrpc":"2.0",', '"id":9007199254740993,"method":"eth_chainId"}']);
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.body).toBe('{"jsonrpc":"2.0","id":9007199254740993,"result":"0x1"}');
  });

  it('answers 413 with FRAME_TOO_LARGE as soon as the body passes the limit, and closes the connection', async () => {
    const { port, served } = await start(1_024);
    const chunk = 'x'.repeat(16 * 1024);
    const answer = await post(port, [`{"jsonrpc":"2.0","id":1,"method":"eth_call","params":["`, ...Array.from({ length: 64 }, () => chunk), '"]}']);
    expect(answer.status).toBe(413);
    expect(answer.headers.connection).toBe('close');
    expect(JSON.parse(answer.body)).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32054, message: 'Frame too large: the limit is 1024 bytes', data: { maxFrameBytes: 1_024 } } });
    expect(served.map((s) => s.outcome)).toEqual(['too-large']);
  });

  it('resolves with outcome aborted when the client goes away mid-body', async () => {
    const { port, served } = await start(1_024);
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"jsonrpc":"2.0",');
    await new Promise((resolve) => setTimeout(resolve, 20));
    socket.destroy();
    for (let i = 0; i < 100 && served.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(served.map((s) => s.outcome)).toEqual(['aborted']);
    // What the answer would have said, had the client stayed (docs/reference.md, serveHttp).
    expect(served[0]!.status).toBe(400);
    expect(JSON.parse(served[0]!.body)).toMatchObject({ id: null, error: { code: -32700 } });
  });
});

describe('readHttpBody', () => {
  it('joins chunks as UTF-8, multi-byte characters split across chunks included', async () => {
    const bytes = Buffer.from('{"a":"é€"}', 'utf8');
    await expect(readHttpBody(Readable.from([bytes.subarray(0, 7), bytes.subarray(7)]), 100)).resolves.toBe('{"a":"é€"}');
  });

  it('stops at the limit, counting bytes, not characters, and leaves the stream paused', async () => {
    const stream = Readable.from([Buffer.from('éé'), Buffer.from('é')]);
    await expect(readHttpBody(stream, 5)).resolves.toBeUndefined();
    expect(stream.isPaused()).toBe(true);
    await expect(readHttpBody(Readable.from([Buffer.from('éé')]), 4)).resolves.toBe('éé');
  });

  it('decodes as Buffer did: a byte-order mark kept, invalid bytes as U+FFFD, string chunks counted in UTF-8 bytes', async () => {
    const bytes = [Buffer.from([0xef, 0xbb, 0xbf, 0x7b]), Buffer.from([0xff, 0xc3]), Buffer.from([0xa9, 0xe2, 0x82])];
    await expect(readHttpBody(Readable.from(bytes), 100)).resolves.toBe(Buffer.concat(bytes).toString('utf8'));
    await expect(readHttpBody(Readable.from([bytes[0]!]), 100)).resolves.toBe('\ufeff{');
    await expect(readHttpBody(Readable.from(['é', 'é']), 3)).resolves.toBeUndefined();
    await expect(readHttpBody(Readable.from(['é', 'é']), 4)).resolves.toBe('éé');
  });

  it('rejects a stream that fails, and bad limits', async () => {
    const failing = new Readable({ read() { this.destroy(new Error('boom')); } });
    await expect(readHttpBody(failing, 10)).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(() => readHttpBody(Readable.from([]), -1)).toThrow('Expected maxBytes to be a finite number >= 0, got -1');
  });
});
