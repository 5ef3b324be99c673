/**
 * A small misbehaving node in front of a real anvil, on a free 127.0.0.1 port: HTTP JSON-RPC and
 * WebSocket on the same port, like anvil itself. Everything is forwarded to the anvil unless a
 * behaviour says otherwise:
 * - `limit()`: a rate limiter. From the next request on, for `windowMs`, every HTTP request is
 *   answered HTTP 429 (with `Retry-After` in seconds, as an HTTP date, or none) or HTTP 200 with
 *   Infura's JSON-RPC rate-limit error (-32005 with `backoff_seconds`); every WebSocket call gets
 *   that JSON-RPC error. `forwardFirst`: the request is carried out by anvil before the answer (a
 *   provider that counts after serving), so a write that met the limit may have happened. `opensOn`:
 *   the window opens at the first request of that method.
 * - `headerNotFound(methods)`: those methods are answered geth's `header not found` (-32000).
 * - `slowTail({ every, delayMs })`: every `every`-th request waits `delayMs` before it is forwarded.
 * - `nullBlocksAbove(n)`: `eth_getBlockByNumber` for a block number above `n` is answered `null`
 *   (a load-balanced endpoint whose backend serving the read lags the one that sent the heads), and
 *   so are reads by hash (`eth_getTransactionReceipt`, `eth_getTransactionByHash`,
 *   `eth_getBlockByHash`) whose answer is in a block above `n` (anvil's answer, replaced).
 * - `nullForHashes(hashes)`: reads by hash (`eth_getTransactionReceipt`, `eth_getTransactionByHash`,
 *   `eth_getBlockByHash`) of one of `hashes` are answered `null`: the same lagging backend, for a
 *   transaction or block it has not got yet.
 * Every request received is recorded (time, method, first param, the socket it came on) before
 * anything else is done, and so is the close code of every client socket.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

export interface Received {
  /** `Date.now()` when the request was read. */
  readonly at: number;
  readonly method: string;
  /** The first param when it is a string, else its `data` when that is (tests tag requests with it: a call's data). */
  readonly tag: string | undefined;
  readonly via: 'http' | 'ws';
  /** For `ws`: which of the node's client sockets it came on, numbered from 1 (see `socketCloses`). */
  readonly socket?: number;
  /**
   * For `ws`: how many frames the socket had received but not yet answered when this one came (every
   * frame the node sent on it counts as an answer, a notification too): 0 for a call alone in flight.
   */
  readonly unansweredBefore?: number;
  /** What the node did: forwarded to anvil, or answered with a rate limit or `header not found`. */
  readonly answer: 'forwarded' | 'rate-limited' | 'header-not-found' | 'null-block';
}

export interface LimitOptions {
  /** How long the limiter answers every request with a rate limit, from the next request on. */
  windowMs: number;
  /** `429` (HTTP status) or `rpc` (HTTP 200 with a JSON-RPC -32005 error). @default '429' */
  as?: '429' | 'rpc';
  /** For `429`: how `Retry-After` names the window's end. @default 'seconds' */
  retryAfter?: 'seconds' | 'date' | 'none';
  /** Forward the request to anvil (it is carried out) and then answer with the rate limit. */
  forwardFirst?: boolean;
  /**
   * The window opens at the first request of this method rather than at the next request of any
   * kind (a health probe of a pool may come first, and the pool would then avoid the node).
   */
  opensOn?: string;
}

/** The window a limiter answered in: `[from, until)` in `Date.now()` time. */
export interface LimitWindow {
  readonly from: number;
  readonly until: number;
}

const RATE_LIMIT_ERROR = (seconds: number) => ({ code: -32005, message: 'project ID request rate exceeded', data: { backoff_seconds: seconds } });
const HEADER_NOT_FOUND = { code: -32000, message: 'header not found' };
const BY_HASH: ReadonlySet<string> = new Set(['eth_getTransactionReceipt', 'eth_getTransactionByHash', 'eth_getBlockByHash']);

export class MisbehavingNode {
  readonly url: string;
  readonly wsUrl: string;
  readonly received: Received[] = [];
  /** HTTP requests whose client went away before they were answered (an aborted fetch), by first param. */
  readonly abandoned: Array<string | undefined> = [];
  /** Every window a limiter answered in, in order. */
  readonly windows: LimitWindow[] = [];
  /** The code each client socket that closed was closed with (1006: it dropped without a close frame), by socket number. */
  readonly socketCloses = new Map<number, number>();
  readonly #target: { http: string; ws: string };
  readonly #server: http.Server;
  readonly #wss: WebSocketServer;
  readonly #timers = new Set<NodeJS.Timeout>();
  #limit: (LimitOptions & { window?: LimitWindow }) | undefined;
  #notFound = new Set<string>();
  #tail: { every: number; delayMs: number } | undefined;
  #count = 0;
  #nullAbove: number | undefined;
  #nullHashes: Set<string> | undefined;
  #sockets = 0;

  private constructor(server: http.Server, wss: WebSocketServer, target: { http: string; ws: string }) {
    this.#server = server;
    this.#wss = wss;
    this.#target = target;
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    this.wsUrl = `ws://127.0.0.1:${port}`;
  }

  /** In front of the anvil at `target` (its HTTP URL; its WebSocket is on the same port). */
  static async start(target: string): Promise<MisbehavingNode> {
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const node = new MisbehavingNode(server, wss, { http: target, ws: target.replace(/^http/, 'ws') });
    server.on('request', (req, res) => node.#onHttp(req, res));
    wss.on('connection', (socket) => node.#onSocket(socket));
    return node;
  }

  /** Starts a rate limiter; its window opens at the next request. */
  limit(options: LimitOptions): void {
    this.#limit = { ...options };
  }

  headerNotFound(methods: readonly string[]): void {
    this.#notFound = new Set(methods);
  }

  /** Counts requests from now on: the `every`-th, 2×`every`-th … are held. */
  slowTail(options: { every: number; delayMs: number } | undefined): void {
    this.#tail = options;
    this.#count = 0;
  }

  /** From now on, `eth_getBlockByNumber(N)` for N above `n` is answered `null`; `undefined`: no more. */
  nullBlocksAbove(n: number | undefined): void {
    this.#nullAbove = n;
  }

  /** From now on, reads by hash of one of `hashes` are answered `null`; `undefined`: no more. */
  nullForHashes(hashes: readonly string[] | undefined): void {
    this.#nullHashes = hashes === undefined ? undefined : new Set(hashes.map((h) => h.toLowerCase()));
  }

  /** Back to forwarding everything. */
  pass(): void {
    this.#nullAbove = undefined;
    this.#nullHashes = undefined;
    this.#limit = undefined;
    this.#notFound.clear();
    this.#tail = undefined;
  }

  /** Forgets what was received and the limiter windows (between tests). */
  reset(): void {
    this.pass();
    this.received.length = 0;
    this.windows.length = 0;
    this.abandoned.length = 0;
    this.socketCloses.clear();
  }

  /** Requests tagged `tag…` (their first param starts with it). */
  tagged(prefix: string): Received[] {
    return this.received.filter((r) => r.tag?.startsWith(prefix));
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    for (const socket of this.#wss.clients) socket.terminate();
    this.#wss.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** The limiter's window if `now` is in it (opening it on the first request after `limit()`). */
  #limited(now: number, method: string): (LimitOptions & { window: LimitWindow }) | undefined {
    const limit = this.#limit;
    if (!limit) return undefined;
    if (!limit.window) {
      if (limit.opensOn !== undefined && method !== limit.opensOn) return undefined;
      // A date has whole seconds: the window ends at the next whole second past windowMs.
      const until = limit.as !== 'rpc' && limit.retryAfter === 'date' ? Math.ceil((now + limit.windowMs) / 1_000) * 1_000 : now + limit.windowMs;
      limit.window = { from: now, until };
      this.windows.push(limit.window);
    }
    if (now >= limit.window.until) {
      this.#limit = undefined;
      return undefined;
    }
    return limit as LimitOptions & { window: LimitWindow };
  }

  #record(via: 'http' | 'ws', method: string, params: unknown, answer: Received['answer'], at: number, socket?: { n: number; unanswered: number }): void {
    const first: unknown = Array.isArray(params) ? params[0] : undefined;
    const data = typeof first === 'object' && first !== null ? (first as { data?: unknown }).data : undefined;
    const tag = typeof first === 'string' ? first : typeof data === 'string' ? data : undefined;
    this.received.push({ at, method, tag, via, answer, ...(socket === undefined ? {} : { socket: socket.n, unansweredBefore: socket.unanswered }) });
  }

  /** What to do with one call (a batch counts as its first item). */
  #decide(method: string, now: number, params?: unknown): { answer: Received['answer']; limit?: LimitOptions & { window: LimitWindow } } {
    const limit = this.#limited(now, method);
    if (limit) return { answer: 'rate-limited', limit };
    if (this.#notFound.has(method)) return { answer: 'header-not-found' };
    const at = method === 'eth_getBlockByNumber' && Array.isArray(params) && typeof params[0] === 'string' && params[0].startsWith('0x') ? Number(params[0]) : undefined;
    if (this.#nullAbove !== undefined && at !== undefined && at > this.#nullAbove) return { answer: 'null-block' };
    const hash = BY_HASH.has(method) && Array.isArray(params) && typeof params[0] === 'string' ? params[0].toLowerCase() : undefined;
    if (hash !== undefined && this.#nullHashes?.has(hash)) return { answer: 'null-block' };
    return { answer: 'forwarded' };
  }

  #delay(): Promise<void> {
    this.#count += 1;
    const tail = this.#tail;
    if (!tail || this.#count % tail.every !== 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, tail.delayMs);
      this.#timers.add(timer);
    });
  }

  #onHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const now = Date.now();
      const body = Buffer.concat(chunks).toString('utf8');
      let parsed: { id?: unknown; method?: unknown; params?: unknown } | undefined;
      try {
        const value = JSON.parse(body) as unknown;
        parsed = (Array.isArray(value) ? value[0] : value) as typeof parsed;
      } catch {
        parsed = undefined;
      }
      const method = typeof parsed?.method === 'string' ? parsed.method : '';
      const { answer, limit } = this.#decide(method, now, parsed?.params);
      this.#record('http', method, parsed?.params, answer, now);
      const tag = this.received.at(-1)!.tag;
      res.on('close', () => {
        if (!res.writableFinished) this.abandoned.push(tag);
      });
      const send = (status: number, text: string, headers: Record<string, string> = {}) => {
        if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(text);
      };
      if (answer === 'header-not-found') return send(200, JSON.stringify({ jsonrpc: '2.0', id: parsed?.id ?? null, error: HEADER_NOT_FOUND }));
      if (answer === 'null-block') return send(200, JSON.stringify({ jsonrpc: '2.0', id: parsed?.id ?? null, result: null }));
      if (answer === 'forwarded' && BY_HASH.has(method) && this.#nullAbove !== undefined) {
        return void this.#forward(body)
          .then((text) => send(200, this.#lagged(text, method, 'http') ?? text))
          .catch(() => !res.destroyed && res.writeHead(502).end());
      }
      const forwarded = answer === 'forwarded' || limit?.forwardFirst ? this.#delay().then(() => this.#forward(body)) : Promise.resolve('');
      void forwarded
        .then((text) => {
          if (answer === 'forwarded') return send(200, text);
          const seconds = Math.max(1, Math.ceil((limit!.window.until - now) / 1_000));
          if (limit!.as === 'rpc') return send(200, JSON.stringify({ jsonrpc: '2.0', id: parsed?.id ?? null, error: RATE_LIMIT_ERROR(seconds) }));
          const retryAfter: Record<string, string> =
            limit!.retryAfter === 'none' ? {} : { 'retry-after': limit!.retryAfter === 'date' ? new Date(limit!.window.until).toUTCString() : String(seconds) };
          send(429, JSON.stringify({ jsonrpc: '2.0', id: parsed?.id ?? null, error: { code: 429, message: 'Too Many Requests' } }), retryAfter);
        })
        .catch(() => !res.destroyed && res.writeHead(502).end());
    });
  }

  /**
   * A by-hash answer (one call's) in a block above `nullBlocksAbove`: `null` in its place, as the
   * lagging backend would answer, recorded as a `null-block` answer of `method`; else `undefined`.
   */
  #lagged(text: string, method: string, via: 'http' | 'ws'): string | undefined {
    const above = this.#nullAbove;
    if (above === undefined) return undefined;
    let frame: { id?: unknown; result?: { number?: unknown; blockNumber?: unknown } | null };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      return undefined;
    }
    const n = Number(frame.result?.blockNumber ?? frame.result?.number);
    if (!Number.isSafeInteger(n) || n <= above) return undefined;
    this.#record(via, method, undefined, 'null-block', Date.now());
    return JSON.stringify({ jsonrpc: '2.0', id: frame.id ?? null, result: null });
  }

  async #forward(body: string): Promise<string> {
    const response = await fetch(this.#target.http, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
    return response.text();
  }

  /** A client socket: calls forwarded to a socket of its own to anvil, unless the limiter answers them. */
  #onSocket(client: WebSocket): void {
    const socket = ++this.#sockets;
    /** Frames received on it, and frames sent back (see Received.unansweredBefore). */
    let frames = 0;
    let answers = 0;
    const reply = (text: string) => {
      answers += 1;
      client.send(text);
    };
    const upstream = new WebSocket(this.#target.ws);
    const held: string[] = [];
    upstream.on('open', () => {
      for (const text of held.splice(0)) upstream.send(text);
    });
    /** Ids of by-hash reads in flight on this socket: their answers may be made `null` (see #lagged). */
    const byHash = new Map<unknown, string>();
    upstream.on('message', (data) => {
      let text = data.toString();
      if (byHash.size > 0) {
        let id: unknown;
        try {
          id = (JSON.parse(text) as { id?: unknown }).id;
        } catch {
          id = undefined;
        }
        const method = id === undefined ? undefined : byHash.get(id);
        if (method !== undefined) {
          byHash.delete(id);
          text = this.#lagged(text, method, 'ws') ?? text;
        }
      }
      if (client.readyState === WebSocket.OPEN) reply(text);
    });
    upstream.on('close', () => client.close());
    upstream.on('error', () => client.terminate());
    client.on('close', (code) => {
      this.socketCloses.set(socket, code);
      upstream.terminate();
    });
    client.on('error', () => upstream.terminate());
    client.on('message', (data) => {
      const text = data.toString();
      const now = Date.now();
      let frame: { id?: unknown; method?: unknown; params?: unknown } | undefined;
      try {
        frame = JSON.parse(text) as typeof frame;
      } catch {
        frame = undefined;
      }
      const method = typeof frame?.method === 'string' ? frame.method : '';
      const { answer, limit } = this.#decide(method, now, frame?.params);
      this.#record('ws', method, frame?.params, answer, now, { n: socket, unanswered: frames - answers });
      frames += 1;
      if (answer === 'forwarded' || frame?.id === undefined) {
        if (answer === 'forwarded' && frame?.id !== undefined && BY_HASH.has(method)) byHash.set(frame.id, method);
        if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
        else held.push(text);
        return;
      }
      if (answer === 'null-block') return reply(JSON.stringify({ jsonrpc: '2.0', id: frame.id, result: null }));
      const error = answer === 'header-not-found' ? HEADER_NOT_FOUND : RATE_LIMIT_ERROR(Math.max(1, Math.ceil((limit!.window.until - now) / 1_000)));
      reply(JSON.stringify({ jsonrpc: '2.0', id: frame.id, error }));
    });
  }
}
