import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { isSteadyRpcError } from '../../src/errors.js';
import { FetchHttpTransport } from '../../src/transport/HttpTransport.js';
import { closedPort, startHttpServer, type ReceivedRequest, type ServerAnswer } from '../helpers/localServers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An HTTP server answering with `respond`, closed after the test. */
const startServer = (respond: (req: ReceivedRequest) => ServerAnswer) => startHttpServer(respond, cleanups);


const BODY = '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}';

describe('FetchHttpTransport', () => {
  it('POSTs the body as application/json, with the custom headers', async () => {
    const server = await startServer(() => ({ status: 200, body: '{"jsonrpc":"2.0","id":1,"result":"0x10"}' }));
    const transport = new FetchHttpTransport();
    await transport.post(
      { url: server.url, headers: { 'x-api-key': 'k-123', authorization: 'Bearer t' } },
      BODY,
      new AbortController().signal,
    );
    expect(server.received).toHaveLength(1);
    const [request] = server.received;
    expect(request?.method).toBe('POST');
    expect(request?.body).toBe(BODY);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['x-api-key']).toBe('k-123');
    expect(request?.headers.authorization).toBe('Bearer t');
  });

  it('returns the status and the body as they are', async () => {
    const server = await startServer(() => ({ status: 200, body: '{"jsonrpc":"2.0","id":1,"result":"0x10"}' }));
    const response = await new FetchHttpTransport().post({ url: server.url }, BODY, new AbortController().signal);
    expect(response).toEqual({ status: 200, body: '{"jsonrpc":"2.0","id":1,"result":"0x10"}' });
  });

  it("passes a 429's Retry-After on, as sent", async () => {
    const server = await startServer(() => ({ status: 429, body: 'Too Many Requests', headers: { 'retry-after': '3' } }));
    const response = await new FetchHttpTransport().post({ url: server.url }, BODY, new AbortController().signal);
    expect(response).toEqual({ status: 429, body: 'Too Many Requests', retryAfter: '3' });
  });

  it('returns a 500 as a response, not an error', async () => {
    const server = await startServer(() => ({ status: 500, body: 'upstream exploded' }));
    const response = await new FetchHttpTransport().post({ url: server.url }, BODY, new AbortController().signal);
    expect(response).toEqual({ status: 500, body: 'upstream exploded' });
  });

  it('an abort ends an in-flight request with the signal reason and frees the server socket', async () => {
    const server = await startServer(() => 'hang');
    const controller = new AbortController();
    const serverSocket = server.nextSocket();
    const pending = new FetchHttpTransport().post({ url: server.url }, BODY, controller.signal);
    const socket = await serverSocket;
    const socketClosed = once(socket, 'close');
    const reason = new Error('attempt timed out');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await socketClosed;
    expect(socket.destroyed).toBe(true);
  });

  it('an abort without a reason rejects with an AbortError', async () => {
    const server = await startServer(() => 'hang');
    const controller = new AbortController();
    const serverSocket = server.nextSocket();
    const pending = new FetchHttpTransport().post({ url: server.url }, BODY, controller.signal);
    await serverSocket;
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('connection refused is ERR_TRANSPORT, and secret query values stay out of the message', async () => {
    const port = await closedPort();
    const error: unknown = await new FetchHttpTransport()
      .post({ url: `http://127.0.0.1:${port}/rpc?apikey=abc` }, BODY, new AbortController().signal)
      .then(() => undefined, (e: unknown) => e);
    expect(isSteadyRpcError(error, 'ERR_TRANSPORT')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).toMatch(/ECONNREFUSED/);
    expect(message).not.toContain('abc');
  });

  it('sends the userinfo of a URL as Basic auth (fetch refuses it in the URL)', async () => {
    const server = await startServer(() => ({ status: 200, body: '{}' }));
    const url = server.url.replace('http://', 'http://us%40er:s3cret@');
    await new FetchHttpTransport().post({ url }, BODY, new AbortController().signal);
    expect(server.received[0]!.headers.authorization).toBe(`Basic ${Buffer.from('us@er:s3cret').toString('base64')}`);
  });

  it('a failing URL with credentials keeps them out of the message and the whole cause chain', async () => {
    const port = await closedPort();
    const error: unknown = await new FetchHttpTransport()
      .post({ url: `http://user:secret@127.0.0.1:${port}/?apikey=abcdef` }, BODY, new AbortController().signal)
      .then(() => undefined, (e: unknown) => e);
    expect(isSteadyRpcError(error, 'ERR_TRANSPORT')).toBe(true);
    const chain: string[] = [];
    for (let e: unknown = error; e instanceof Error; e = e.cause) chain.push(e.message);
    expect(chain.join('\n')).not.toMatch(/secret|abcdef/);
  });

  it('defaults to the global fetch, and rejects a value that is not a function', () => {
    expect(() => new FetchHttpTransport(undefined as unknown as typeof fetch)).not.toThrow();
    expect(() => new FetchHttpTransport(null as unknown as typeof fetch)).toThrow(/No fetch implementation/);
  });
});
