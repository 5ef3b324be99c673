import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { isSteadyRpcError } from '../../src/errors.js';
import type { HttpTransport } from '../../src/transport/HttpTransport.js';
import { FetchHttpTransport, isNotDelivered } from '../../src/transport/HttpTransport.js';
import { NodeHttpTransport } from '../../src/transport/NodeHttpTransport.js';
import { FakeClock } from '../../src/testing/FakeClock.js';
import { closedPort, startHttpServer, stuckAgent, type ReceivedRequest, type ServerAnswer } from '../helpers/localServers.js';

/**
 * NodeHttpTransport against real loopback servers: the same answers as FetchHttpTransport for
 * everything the pool reads (both run the shared cases), and its own connection handling (aborts
 * before and during a request, the connect timeout on a fake clock, keep-alive, close()).
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An HTTP server answering with `respond`, closed after the test. */
const startServer = (respond: (req: ReceivedRequest) => ServerAnswer) => startHttpServer(respond, cleanups);

function nodeTransport(options: ConstructorParameters<typeof NodeHttpTransport>[0] = {}): NodeHttpTransport {
  const transport = new NodeHttpTransport(options);
  cleanups.push(() => transport.close());
  return transport;
}

const BODY = '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}';
const ANSWER = '{"jsonrpc":"2.0","id":1,"result":"0x10"}';
const live = () => new AbortController().signal;
const outcome = (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e);

const transports: readonly { name: string; make: () => HttpTransport }[] = [
  { name: 'FetchHttpTransport', make: () => new FetchHttpTransport() },
  { name: 'NodeHttpTransport', make: () => nodeTransport() },
];

describe.each(transports)('$name answers what the pool reads', ({ make }) => {
  it('POSTs the body as application/json with its length, and the endpoint headers', async () => {
    const server = await startServer(() => ({ status: 200, body: ANSWER }));
    await make().post({ url: server.url, headers: { 'x-api-key': 'k-123', authorization: 'Bearer t' } }, BODY, live());
    const [request] = server.received;
    expect(request?.method).toBe('POST');
    expect(request?.body).toBe(BODY);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['content-length']).toBe(String(Buffer.byteLength(BODY)));
    expect(request?.headers['x-api-key']).toBe('k-123');
    expect(request?.headers.authorization).toBe('Bearer t');
    expect(request?.headers['user-agent']).toBe('node');
    expect(request?.headers['accept-encoding']).toBe('gzip, deflate');
  });

  it('returns the status and the body, as UTF-8 text', async () => {
    const text = '{"jsonrpc":"2.0","id":1,"result":"héllo ✓ 𝔼"}';
    const server = await startServer(() => ({ status: 200, body: Buffer.from(text, 'utf8') }));
    expect(await make().post({ url: server.url }, BODY, live())).toEqual({ status: 200, body: text });
  });

  it("passes a 429's Retry-After on, as sent", async () => {
    const server = await startServer(() => ({ status: 429, body: 'Too Many Requests', headers: { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' } }));
    expect(await make().post({ url: server.url }, BODY, live())).toEqual({ status: 429, body: 'Too Many Requests', retryAfter: 'Wed, 21 Oct 2015 07:28:00 GMT' });
  });

  it('returns a non-2xx status as a response, not an error', async () => {
    const server = await startServer(() => ({ status: 503, body: 'upstream exploded' }));
    expect(await make().post({ url: server.url }, BODY, live())).toEqual({ status: 503, body: 'upstream exploded' });
  });

  it('reads a large answer whole, multi-byte characters across chunk borders included', async () => {
    const big = `{"jsonrpc":"2.0","id":1,"result":"${'é✓'.repeat(1_500_000)}"}`;
    const server = await startServer(() => ({ status: 200, body: big }));
    const response = await make().post({ url: server.url }, `{"pad":"${'x'.repeat(1_000_000)}"}`, live());
    expect(response.body.length).toBe(big.length);
    expect(response.body === big).toBe(true);
    expect(server.received[0]!.body.length).toBe(1_000_010);
  });

  it('decodes a gzip answer', async () => {
    const server = await startServer(() => ({ status: 200, body: gzipSync(ANSWER), headers: { 'content-encoding': 'gzip' } }));
    expect(await make().post({ url: server.url }, BODY, live())).toEqual({ status: 200, body: ANSWER });
  });

  it('sends the userinfo of a URL as Basic auth, and the endpoint authorization header wins over it', async () => {
    const server = await startServer(() => ({ status: 200, body: '{}' }));
    const url = server.url.replace('http://', 'http://us%40er:s3cr%C3%A9t@');
    await make().post({ url }, BODY, live());
    await make().post({ url, headers: { authorization: 'Bearer t' } }, BODY, live());
    expect(server.received.map((r) => r.headers.authorization)).toEqual([`Basic ${Buffer.from('us@er:s3crét').toString('base64')}`, 'Bearer t']);
  });

  it('an abort ends an in-flight request with the signal reason and closes its connection', async () => {
    const server = await startServer(() => 'hang');
    const controller = new AbortController();
    const serverSocket = server.nextSocket();
    const pending = make().post({ url: server.url }, BODY, controller.signal);
    const socket = await serverSocket;
    const closed = once(socket, 'close');
    const reason = new Error('attempt timed out');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await closed;
  });

  it('an abort without a reason rejects with an AbortError', async () => {
    const server = await startServer(() => 'hang');
    const controller = new AbortController();
    const serverSocket = server.nextSocket();
    const pending = make().post({ url: server.url }, BODY, controller.signal);
    await serverSocket;
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('a signal aborted before the call sends nothing', async () => {
    const server = await startServer(() => ({ status: 200, body: ANSWER }));
    const controller = new AbortController();
    const reason = new Error('gone');
    controller.abort(reason);
    await expect(make().post({ url: server.url }, BODY, controller.signal)).rejects.toBe(reason);
    // A request sent after it reaches the server first: the aborted one never did.
    await make().post({ url: server.url }, '{"second":true}', live());
    expect(server.received.map((r) => r.body)).toEqual(['{"second":true}']);
  });

  it('a reset after the node read the request, or in the middle of its answer, is not marked "not delivered"', async () => {
    const server = await startServer((req) => (req.body === 'reset' ? 'reset' : 'half'));
    for (const body of ['reset', 'half']) {
      const error = await outcome(make().post({ url: server.url }, body, live()));
      expect(isSteadyRpcError(error, 'ERR_TRANSPORT')).toBe(true);
      expect(isNotDelivered(error)).toBe(false);
    }
    expect(server.received.map((r) => r.body)).toEqual(['reset', 'half']);
  });

  it('connection refused is ERR_TRANSPORT, not delivered, and the URL credentials stay out of the message and its causes', async () => {
    const port = await closedPort();
    const error = await outcome(make().post({ url: `http://user:secret@127.0.0.1:${port}/v2/k3yk3y?apikey=abcdef` }, BODY, live()));
    expect(isSteadyRpcError(error, 'ERR_TRANSPORT')).toBe(true);
    expect(isNotDelivered(error)).toBe(true);
    const chain: string[] = [];
    for (let e: unknown = error; e instanceof Error; e = e.cause) chain.push(e.message, e.stack ?? '');
    expect(chain[0]).toContain(`127.0.0.1:${port}`);
    expect(chain[0]).toMatch(/ECONNREFUSED/);
    expect(chain.join('\n')).not.toMatch(/secret|abcdef|k3yk3y/);
  });
});

describe('NodeHttpTransport', () => {
  it('an abort while the connection is still being made rejects with the reason, and nothing reaches the node', async () => {
    const server = await startServer(() => ({ status: 200, body: ANSWER }));
    const { agent, lookedUp } = stuckAgent(cleanups);
    const transport = nodeTransport({ agents: { http: agent } });
    const controller = new AbortController();
    const pending = transport.post({ url: server.url.replace('127.0.0.1', 'localhost') }, BODY, controller.signal);
    await lookedUp;
    const reason = new Error('deadline');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    expect(server.connections).toHaveLength(0);
  });

  it('a connection not made within connectTimeoutMs fails as never sent (fake clock)', async () => {
    const clock = new FakeClock();
    const { agent, lookedUp } = stuckAgent(cleanups);
    const transport = nodeTransport({ clock, connectTimeoutMs: 2_000, agents: { http: agent } });
    let settled = false;
    const pending = outcome(transport.post({ url: 'http://node.test:8545/' }, BODY, live())).finally(() => (settled = true));
    await lookedUp;
    await clock.advance(1_999);
    expect(settled).toBe(false);
    await clock.advance(1);
    const error = await pending;
    expect(isSteadyRpcError(error, 'ERR_TRANSPORT')).toBe(true);
    expect(isNotDelivered(error)).toBe(true);
    expect((error as Error).message).toMatch(/before it was sent[\s\S]*Connect timeout after 2000 ms/);
  });

  it('the connect timer stops once connected: a slow answer is no connect timeout', async () => {
    const clock = new FakeClock();
    const server = await startServer(() => 'hang');
    const transport = nodeTransport({ clock, connectTimeoutMs: 1_000 });
    const controller = new AbortController();
    const arrived = server.nextSocket();
    const pending = transport.post({ url: server.url }, BODY, controller.signal);
    await arrived;
    await clock.advance(5_000);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it('an invalid header value fails before anything is sent, without quoting the value', async () => {
    const server = await startServer(() => ({ status: 200, body: ANSWER }));
    const error = await outcome(nodeTransport().post({ url: server.url, headers: { 'x-api-key': 's3cr3tvalue\n' } }, BODY, live()));
    expect(isSteadyRpcError(error, 'ERR_TRANSPORT')).toBe(true);
    expect(isNotDelivered(error)).toBe(true);
    expect(String((error as Error).stack)).not.toContain('s3cr3tvalue');
    expect(server.received).toHaveLength(0);
  });

  it('keeps connections alive: sequential requests share one', async () => {
    const server = await startServer(() => ({ status: 200, body: ANSWER }));
    const transport = nodeTransport();
    for (let i = 0; i < 5; i++) await transport.post({ url: server.url }, BODY, live());
    expect(server.received).toHaveLength(5);
    expect(server.connections).toHaveLength(1);
  });

  it('has no socket limit below 64 requests in flight', async () => {
    const waiting: (() => void)[] = [];
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        waiting.push(() => res.writeHead(200).end(ANSWER));
        // Nobody is answered until all 64 are in: with fewer sockets, this would never finish.
        if (waiting.length === 64) for (const answer of waiting) answer();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const transport = nodeTransport();
    const answers = await Promise.all(Array.from({ length: 64 }, () => transport.post({ url }, BODY, live())));
    expect(answers.every((a) => a.status === 200 && a.body === ANSWER)).toBe(true);
  });

  it('close() ends its idle connections, and a post after it fails with ERR_CLOSED, marked never sent', async () => {
    const server = await startServer(() => ({ status: 200, body: ANSWER }));
    const transport = nodeTransport();
    await transport.post({ url: server.url }, BODY, live());
    const closed = once(server.connections[0]!, 'close');
    transport.close();
    transport.close();
    await closed;
    const error = await outcome(transport.post({ url: server.url }, BODY, live()));
    expect(isSteadyRpcError(error, 'ERR_CLOSED')).toBe(true);
    expect(isNotDelivered(error)).toBe(true);
    expect(server.received).toHaveLength(1);
  });

  it('leaves agents passed in open on close()', async () => {
    const server = await startServer(() => ({ status: 200, body: ANSWER }));
    const agent = new http.Agent({ keepAlive: true });
    cleanups.push(() => agent.destroy());
    const transport = nodeTransport({ agents: { http: agent } });
    await transport.post({ url: server.url }, BODY, live());
    transport.close();
    expect(server.connections[0]!.destroyed).toBe(false);
    expect(Object.values(agent.freeSockets).flat()).toHaveLength(1);
  });

  it('validates its options', () => {
    expect(() => new NodeHttpTransport({ connectTimeoutMs: 0 })).toThrow(/Expected connectTimeoutMs to be a finite number > 0 \(ms\), got 0/);
    expect(() => new NodeHttpTransport({ keepAliveMs: Number.NaN })).toThrow(/Expected keepAliveMs/);
    expect(() => new NodeHttpTransport({ maxSockets: 0 })).toThrow(/Expected maxSockets to be an integer >= 1 or Infinity, got 0/);
    expect(() => new NodeHttpTransport(null as unknown as object)).toThrow(/Expected NodeHttpTransport options to be an object/);
  });
});
