// Found in review: neither HTTP transport bounded what it read of an answer. A node (or anything in
// front of it: a CDN, a misconfigured path serving a file) could make the process hold any number
// of bytes, and a gzip bomb (a few hundred KB that inflate to gigabytes) was inflated whole: one bad
// answer could take down every client of a proxy. The WebSocket transport caps a message at
// `maxPayload` (64 MiB); the HTTP transports now cap an answer, decoded, at `maxResponseBytes`
// (64 MiB too) and reject past it with ERR_BAD_RESPONSE (a bad answer, as an undecodable body is).
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpTransport } from '../../src/index.js';
import { FetchHttpTransport, NodeHttpTransport, NodePool } from '../../src/index.js';

const MiB = 1024 * 1024;
/** A JSON-RPC answer of about `bytes` bytes. */
const answerOf = (bytes: number) => JSON.stringify({ jsonrpc: '2.0', id: 1, result: `0x${'ab'.repeat(bytes / 2)}` });
const BOMB = gzipSync(Buffer.alloc(80 * MiB, 0x20)); // 80 MiB of spaces: about 80 KB gzipped

let base: string;
let server: http.Server;
beforeAll(async () => {
  const small = answerOf(512 * 1024);
  const big = answerOf(2 * MiB);
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/small') return void res.writeHead(200, { 'content-type': 'application/json' }).end(small);
      if (req.url === '/big') return void res.writeHead(200, { 'content-type': 'application/json' }).end(big);
      // No Content-Length: the size is known only as it is read.
      if (req.url === '/big-chunked') {
        res.writeHead(200, { 'content-type': 'application/json' });
        for (let i = 0; i < big.length; i += 64 * 1024) res.write(big.slice(i, i + 64 * 1024));
        return void res.end();
      }
      if (req.url === '/bomb') return void res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(BOMB);
      res.writeHead(404).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const transports: Array<[string, (max?: number) => HttpTransport]> = [
  ['NodeHttpTransport', (max) => new NodeHttpTransport(max === undefined ? {} : { maxResponseBytes: max })],
  ['FetchHttpTransport', (max) => new FetchHttpTransport(fetch, max === undefined ? {} : { maxResponseBytes: max })],
];

describe.each(transports)('%s: maxResponseBytes', (_name, make) => {
  const post = (transport: HttpTransport, path: string) => transport.post({ url: `${base}${path}` }, '{}', new AbortController().signal);

  it('answers up to the limit as before', async () => {
    const transport = make(1 * MiB);
    try {
      expect((await post(transport, '/small')).body).toBe(answerOf(512 * 1024));
    } finally {
      transport.close?.();
    }
  });

  for (const path of ['/big', '/big-chunked']) {
    it(`rejects an answer over it with ERR_BAD_RESPONSE (${path})`, async () => {
      const transport = make(1 * MiB);
      try {
        await expect(post(transport, path)).rejects.toMatchObject({ code: 'ERR_BAD_RESPONSE', message: expect.stringContaining('larger than maxResponseBytes (1048576 bytes)') });
        // The transport goes on serving.
        expect((await post(transport, '/small')).status).toBe(200);
      } finally {
        transport.close?.();
      }
    });
  }

  it('by default (64 MiB), rejects a gzip bomb that inflates past it, without inflating it whole', async () => {
    const transport = make();
    try {
      await expect(post(transport, '/bomb')).rejects.toMatchObject({ code: 'ERR_BAD_RESPONSE', message: expect.stringContaining('larger than maxResponseBytes (67108864 bytes)') });
    } finally {
      transport.close?.();
    }
  });

  it('rejects a limit that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) expect(() => make(bad)).toThrow(/Expected maxResponseBytes to be an integer >= 1/);
  });
});

describe('pool.request() given an answer over the limit', () => {
  it('fails the request with an error naming the cause, without asking the node again', async () => {
    const httpTransport = new NodeHttpTransport({ maxResponseBytes: 1 * MiB });
    const pool = new NodePool({ nodes: [{ name: 'a', http: `${base}/big` }], httpTransport, http: { retryDelayMs: 0 } });
    try {
      const error = await pool.request({ jsonrpc: '2.0', id: 7, method: 'eth_call', params: [{}, 'latest'] }).catch((e: unknown) => e);
      // A bad answer, which the same request would get again: one attempt, no pause and retry.
      expect(error).toMatchObject({ code: 'ERR_UPSTREAM_UNAVAILABLE', message: expect.stringContaining('All 1 attempts failed') });
      expect((error as { details?: string }).details).toContain('a: HTTP 200 answer is larger than maxResponseBytes (1048576 bytes)');
    } finally {
      pool.close();
      httpTransport.close();
    }
  });
});
