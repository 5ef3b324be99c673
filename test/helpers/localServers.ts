import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import net from 'node:net';

/** A request as a {@link startHttpServer} server saw it, body included. */
export interface ReceivedRequest {
  method: string | undefined;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * What a {@link startHttpServer} server does with a request: answer it; `'hang'`: never answer;
 * `'reset'`: destroy the socket; `'half'`: send the headers and half a body, then destroy it.
 */
export type ServerAnswer = { status: number; body: string | Buffer; headers?: Record<string, string> } | 'hang' | 'reset' | 'half';

export interface LocalHttpServer {
  /** `http://127.0.0.1:<port>/rpc` */
  url: string;
  /** Requests as the server saw them, body included. */
  received: ReceivedRequest[];
  /** Every connection the server accepted. */
  connections: Socket[];
  /** Resolves with the next request's raw socket as soon as its headers arrive. */
  nextSocket(): Promise<Socket>;
}

/**
 * An HTTP server on a free loopback port, answering each request with `respond`; `cleanups` gets its
 * close. `keepAliveTimeout`: the server's own idle timeout (Node's default, 5 s, when not given; 0:
 * it never closes an idle connection and sends no `Keep-Alive`).
 */
export async function startHttpServer(
  respond: (request: ReceivedRequest) => ServerAnswer,
  cleanups: Array<() => Promise<void> | void>,
  options: { keepAliveTimeout?: number } = {},
): Promise<LocalHttpServer> {
  const received: ReceivedRequest[] = [];
  const connections: Socket[] = [];
  let socketWaiters: ((socket: Socket) => void)[] = [];
  const server = http.createServer((req, res) => {
    for (const waiter of socketWaiters) waiter(req.socket);
    socketWaiters = [];
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(request);
      const answer = respond(request);
      if (answer === 'hang') return;
      if (answer === 'reset') return void req.socket.destroy();
      if (answer === 'half') {
        res.writeHead(200, { 'content-length': '100' });
        res.write('{"jsonrpc":"2.0",', () => req.socket.destroy());
        return;
      }
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(answer.body);
    });
  });
  if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
  server.on('connection', (socket: Socket) => connections.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/rpc`, received, connections, nextSocket: () => new Promise((resolve) => socketWaiters.push(resolve)) };
}

/** A port that was just listened on and closed, so connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * An agent whose name lookups never answer: its new connections to a host name stay "connecting"
 * for ever. `lookedUp` resolves once the request has its socket. `cleanups` gets its destroy().
 */
export function stuckAgent(cleanups: Array<() => unknown>): { agent: http.Agent; lookedUp: Promise<void> } {
  let called!: () => void;
  const lookedUp = new Promise<void>((resolve) => (called = resolve));
  const agent = new http.Agent({ keepAlive: true, lookup: (() => called()) as unknown as net.LookupFunction });
  cleanups.push(() => agent.destroy());
  // The request gets its socket on the next tick after the lookup starts.
  return { agent, lookedUp: lookedUp.then(() => new Promise<void>((resolve) => setImmediate(resolve))) };
}
