import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HttpTransport } from '../../../src/index.js';
import { FetchHttpTransport, NodeHttpTransport, NodePool, RpcErrorCode } from '../../../src/index.js';
import { FakeClock } from '../../../src/testing/index.js';

/**
 * Audit of a 2xx answer whose body is not what its `Content-Encoding` says (a CDN or proxy in
 * front of a node gzipping wrongly). docs/guides/http.md:54 puts it among "an answer that is not
 * JSON-RPC (...; a body its `Content-Encoding` does not decode)", whose `NOT_RESENT` carries
 * "a message naming the node and the cause" and (by the reasons listed) `reason: 'bad-answer'`;
 * http.md:320-321 says NodeHttpTransport "answers as `FetchHttpTransport` does"; http.md:14-15 says
 * "a body that is no JSON-RPC answer, which the same request would get again" earns no pause, and
 * http.md:9-11 asks a node "once more" only when its connection broke mid-way ("no answer").
 *
 * What the code does:
 * - NodeHttpTransport rejects with ERR_BAD_RESPONSE (src/transport/NodeHttpTransport.ts:196): the
 *   write gets NOT_RESENT "bad-answer" (pinned by test/pool/nodeAnswerShape.test.ts:127);
 * - FetchHttpTransport rejected with a plain ERR_TRANSPORT (undici's "terminated", Z_DATA_ERROR): the
 *   write got NOT_RESENT reason "connection" and the
 *   message "dropped the connection after the request was sent (Z_DATA_ERROR)", which was not what
 *   happened; for a read the failure counted as a connection broken mid-way (NodeAttempts.ts:21-25)
 *   so the node was asked once more, and either way the failure had no status, so it earned the
 *   retry pause. Both now give ERR_BAD_RESPONSE, which earns neither.
 * The write was never sent twice in either case: what was wrong was the reason, the message and the
 * extra reads. Both transports now answer it alike (FetchHttpTransport used to report a broken connection).
 */

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

let url: string;
const bodies: string[] = [];
beforeAll(async () => {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end('not gzip at all');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
});

const transports: readonly [string, () => HttpTransport & { close?(): void }][] = [
  ['NodeHttpTransport', () => new NodeHttpTransport()],
  ['FetchHttpTransport', () => new FetchHttpTransport()],
];

function transportOf(make: () => HttpTransport & { close?(): void }): HttpTransport {
  const transport = make();
  cleanups.push(() => transport.close?.());
  return transport;
}

describe.each(transports)('audit http.md:54 with %s: a write answered with a body its Content-Encoding does not decode', (name, make) => {
  it(`is NOT_RESENT with reason "bad-answer", sent once`, async () => {
    const pool = new NodePool({ nodes: [{ name: 'a', http: url }], httpTransport: transportOf(make) });
    cleanups.push(() => pool.close());
    bodies.length = 0;
    const answer = await pool.request({ jsonrpc: '2.0', id: 7, method: 'eth_sendTransaction', params: [{}] });
    expect(bodies).toHaveLength(1);
    expect(answer).toMatchObject({ id: 7, error: { code: RpcErrorCode.NOT_RESENT, data: { node: 'a', reason: 'bad-answer' } } });
    expect((answer as { error: { message: string } }).error.message).toMatch(/^Node "a" answered with something that is not a JSON-RPC answer/);
  });
});

describe.each(transports)('audit http.md:9-15 with %s: a read answered with such a body', (_name, make) => {
  it('is not asked again of the same node: no "once more", no pause (the same request would get the same body)', async () => {
    // The transport's real rejection, replayed on a fake clock so the pause can be watched.
    const failure = await transportOf(make).post({ url }, '{}', new AbortController().signal).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(Error);
    let posts = 0;
    const replay: HttpTransport = {
      post: async () => {
        posts += 1;
        throw failure;
      },
    };
    const clock = new FakeClock();
    const pool = new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }], clock, httpTransport: replay });
    pool.update('a', { status: 'healthy', head: 100 });
    let settled = false;
    void pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }).catch(() => (settled = true));
    await clock.advance(0);
    expect(posts).toBe(1);
    expect(settled).toBe(true);
    pool.close();
  });
});
