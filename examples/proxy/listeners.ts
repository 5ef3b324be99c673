/**
 * What the proxy's HTTP listeners share: Node's deadline options, the refusal of an upgrade past a
 * limit, an upgrade offer to another protocol than WebSocket served as HTTP, the readiness and liveness endpoints, and the count of HTTP requests being answered (so a
 * drain knows when they are done).
 */
import type { IncomingMessage, Server, ServerOptions, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProxyDeadlines } from './defaults.js';

/**
 * Node's server options for the deadlines. Node applies the headers and request deadlines on its
 * own sweep, to every connection still reading a request: one that connects and sends nothing
 * (verified on Node 20: it gets 408 at the headers deadline), drips its headers, or never completes
 * a WebSocket upgrade request. An upgraded socket leaves that sweep; client pings cover it.
 */
export function serverOptions(deadlines: ProxyDeadlines): ServerOptions {
  return {
    headersTimeout: deadlines.headersTimeoutMs,
    requestTimeout: deadlines.requestTimeoutMs,
    keepAliveTimeout: deadlines.keepAliveTimeoutMs,
    connectionsCheckingInterval: deadlines.checkIntervalMs,
  };
}

/**
 * Answers an upgrade request with HTTP 503 and `Retry-After`, then closes the connection: a client
 * refused never sees an accepted socket that is then dropped, and knows when to come back.
 */
export function refuseUpgrade(socket: Duplex, reason: string, retryAfterSec: number): void {
  const body = JSON.stringify({ error: reason });
  socket.on('error', () => socket.destroy());
  socket.end(
    'HTTP/1.1 503 Service Unavailable\r\n' +
      `Retry-After: ${retryAfterSec}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
    () => socket.destroy(),
  );
}

/** Whether an upgrade request asks for a WebSocket (else it offers another protocol: `h2c`, say). */
export const asksForWebSocket = (req: IncomingMessage): boolean => /(?:^|,)\s*websocket\s*(?:,|$)/i.test(req.headers.upgrade ?? '');

/** Connection options that only go with the offer of an upgrade. */
const OFFER = /^(?:upgrade|http2-settings)$/i;

/**
 * Serves an upgrade request that offers another protocol than WebSocket (`Upgrade: h2c`, as
 * `curl --http2` and Java's HttpClient send to an http:// URL) as the HTTP/1.1 request it also is:
 * a server may ignore the offer (RFC 9110, 7.8), and Node does while no 'upgrade' listener is set.
 * With one, Node hands over the socket after the request's head; that head is written back without
 * the offer, before the part of the body already read, and the socket given to `server` as a new
 * connection, which reads the request again (and any behind it). Node's parser refused CR and LF
 * in the head, so it is written back as it came.
 */
export function serveAsHttp(server: Server, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    let value = raw[i + 1]!;
    if (OFFER.test(name)) continue;
    if (/^connection$/i.test(name)) {
      value = value
        .split(',')
        .map((option) => option.trim())
        .filter((option) => option !== '' && !OFFER.test(option))
        .join(', ');
      if (value === '') continue;
    }
    lines.push(`${name}: ${value}`);
  }
  // Header values are Latin-1 strings as Node read them: written back byte for byte.
  const request = Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), head]);
  // Pipelined behind requests still being answered: their responses belong to the connection's old
  // parser, which sends them in order and then would never start the new parser's (Node queues a
  // response behind `socket._httpMessage`, and only the old parser's 'finish' handler moves its own
  // queue). Handed over once the old responses are out.
  const refeed = (): void => {
    socket.unshift(request);
    server.emit('connection', socket);
  };
  const owed = (): ServerResponse | null => (socket as { _httpMessage?: ServerResponse | null })._httpMessage ?? null;
  if (owed() === null) return refeed();
  // Node took its 'error' listener off the socket with the upgrade: a reset meanwhile must not throw.
  const ignore = () => {};
  socket.on('error', ignore);
  const next = (): void => {
    if (socket.destroyed) return void socket.off('error', ignore);
    const res = owed();
    if (res !== null) return void res.once('finish', next);
    socket.off('error', ignore);
    refeed();
  };
  next();
}

/** Whether the proxy should get new clients now, and if not, why. */
export type Readiness = { ready: true } | { ready: false; reason: 'draining' | 'no usable node' };

/** The path of a request, without its query. */
export const pathOf = (req: IncomingMessage): string => (req.url ?? '/').replace(/\?.*$/s, '');

/**
 * Answers `GET /readyz` (200 when ready, else 503 with the reason) and `GET /livez` (200 while the
 * process serves); HEAD too. Returns whether it answered.
 */
export function answerProbe(req: IncomingMessage, res: ServerResponse, readiness: () => Readiness): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const path = pathOf(req);
  if (path !== '/readyz' && path !== '/livez') return false;
  const body = path === '/livez' ? { live: true } : readiness();
  const status = 'ready' in body && !body.ready ? 503 : 200;
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : JSON.stringify(body));
  return true;
}

/** Counts the HTTP requests being answered, and tells when none is left. */
export class ActiveRequests {
  #active = 0;
  #waiters: Array<() => void> = [];
  /** Per connection, how to end each of its requests still counted: one 'close' listener per connection. */
  readonly #byConnection = new Map<Socket, Set<() => void>>();
  /** When the latest client request or upgrade arrived (readiness and liveness probes aside), `Date.now()`. */
  lastArrival = -Infinity;

  /** A client's request or upgrade arrived now (a drain keeps listening until they stop). */
  arrived(): void {
    this.lastArrival = Date.now();
  }

  get size(): number {
    return this.#active;
  }

  /**
   * Counts `res` until it has been answered or its connection has gone. The signal aborts when the
   * connection goes before the answer is out. A pipelined request's response, queued behind the
   * one before it, emits no 'close' when the connection drops (Node 20): the connection's own
   * 'close' ends it.
   */
  track(res: ServerResponse): AbortSignal {
    this.#active++;
    const gone = new AbortController();
    const socket = res.req.socket as Socket;
    let open = this.#byConnection.get(socket);
    if (open === undefined) {
      const ends = (open = new Set());
      this.#byConnection.set(socket, ends);
      socket.once('close', () => {
        this.#byConnection.delete(socket);
        for (const end of ends) end();
      });
    }
    const ends = open;
    const end = () => {
      if (!ends.delete(end)) return;
      res.off('close', end);
      if (!res.writableFinished) gone.abort();
      if (--this.#active === 0) for (const wake of this.#waiters.splice(0)) wake();
    };
    ends.add(end);
    res.once('close', end);
    return gone.signal;
  }

  /** Resolves once no request is being answered. */
  idle(): Promise<void> {
    return this.#active === 0 ? Promise.resolve() : new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/**
 * The client connections that have not sent a whole request (nor an upgrade) yet: a connection
 * that sends nothing, or drips half a request, is not one `server.close()` closes (Node 20 closes
 * the idle keep-alive connections only). A drain closes these when the port stops accepting, so
 * the request they were about to send goes to another replica instead of arriving here late.
 */
export class UnstartedConnections {
  readonly #sockets = new Set<Socket>();

  constructor(server: Server) {
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    const started = (req: IncomingMessage) => this.#sockets.delete(req.socket as Socket);
    server.on('request', started);
    server.on('upgrade', started);
  }

  get size(): number {
    return this.#sockets.size;
  }

  /** Closes every connection that has not sent a whole request yet. */
  closeAll(): void {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
  }
}
