import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { brotliDecompress, gunzip, inflate, inflateRaw } from 'node:zlib';
import type { Clock, TimerHandle } from '../Clock.js';
import { systemClock } from '../Clock.js';
import { SteadyRpcError, isSteadyRpcError } from '../errors.js';
import type { HttpEndpoint, HttpResponse, HttpTransport } from './HttpTransport.js';
import { MAX_RESPONSE_BYTES, basicAuthorization, checkMaxResponseBytes, isNotDelivered, markNotDelivered, tooLarge } from './HttpTransport.js';

export interface NodeHttpTransportOptions {
  /**
   * How long a new connection may take to be made (name lookup and TCP connect), in ms. Past it
   * the request fails as never sent (nothing was written), as fetch's connect timeout does.
   * @default 10_000
   */
  connectTimeoutMs?: number;
  /**
   * How long an idle connection is kept for the next request, in ms; shortened to a second less
   * than the node's own `Keep-Alive: timeout=…`, so a connection is not reused just as the node
   * closes it.
   * @default 4_000 (fetch's)
   */
  keepAliveMs?: number;
  /** Most connections to one host at once; further requests wait for a free one. @default Infinity */
  maxSockets?: number;
  /**
   * Agents of your own (a custom CA, client certificates, a proxy agent), used as given: their
   * settings replace `keepAliveMs` and `maxSockets`, and `close()` leaves them alone.
   * @default one keep-alive agent per protocol, owned by the transport
   */
  agents?: { http?: HttpAgent; https?: HttpsAgent };
  /**
   * The largest answer read, in bytes once decompressed; past it the request fails with
   * `ERR_BAD_RESPONSE` (and its connection is dropped) instead of holding whatever a node sends.
   * @default 64 MiB (the WebSocket transport's `maxPayload`)
   */
  maxResponseBytes?: number;
  /** Times the connect timeout. @default systemClock */
  clock?: Clock;
}

const DEFAULTS = Object.freeze({ connectTimeoutMs: 10_000, keepAliveMs: 4_000, maxSockets: Infinity, maxResponseBytes: MAX_RESPONSE_BYTES });

/** A URL made ready once: the request options (headers shared when the endpoint brings none). */
interface Target {
  readonly secure: boolean;
  readonly options: RequestOptions;
  readonly authorization: Record<string, string> | undefined;
}

/** URLs remembered per transport: endpoint functions may put fresh credentials in every URL. */
const TARGETS = 256;

type Decoder = (data: Buffer, options: { maxOutputLength: number }, callback: (error: Error | null, result: Buffer) => void) => void;

/**
 * The content codings fetch (undici) undoes, each with the decoder for the data at hand: `deflate`
 * is zlib-wrapped, or raw deflate when its first two bytes are not a zlib header (servers send both).
 */
const DECODERS = new Map<string, (data: Buffer) => Decoder>([
  ['gzip', () => gunzip],
  ['x-gzip', () => gunzip],
  ['br', () => brotliDecompress],
  ['deflate', (data) => (data.length >= 2 && (data[0]! & 0x0f) === 8 && ((data[0]! << 8) | data[1]!) % 31 === 0 ? inflate : inflateRaw)],
]);

/**
 * The body as its `Content-Encoding` says, codings undone last first as fetch does them (`gzip, br`:
 * br, then gzip). A coding it does not know leaves the whole body as it came, as fetch leaves it.
 */
function decodeBody(raw: Buffer, header: string | undefined, maxBytes: number, done: (error: Error | null, body: Buffer) => void): void {
  const codings = (header ?? '').toLowerCase().split(',').map((c) => c.trim()).filter((c) => c !== '').reverse();
  if (!codings.every((c) => DECODERS.has(c))) return done(null, raw);
  const step = (i: number, data: Buffer): void => {
    if (i === codings.length) return done(null, data);
    // Inflated no further than the limit: a few KB may inflate to gigabytes.
    DECODERS.get(codings[i]!)!(data)(data, { maxOutputLength: maxBytes }, (error, decoded) => (error ? done(error, data) : step(i + 1, decoded)));
  };
  step(0, raw);
}

/**
 * The default {@link HttpTransport} in Node: `node:http` and `node:https` with a keep-alive agent
 * per transport (as ethers v6 does in Node), the platform's default CA. It answers exactly as
 * {@link FetchHttpTransport} does — status, body as UTF-8 text (decompressed, like fetch's:
 * it asks for gzip and deflate, and br over https), `Retry-After`, userinfo sent as Basic auth,
 * an abort rejecting with the signal's reason, credentials kept out of errors — at less CPU per
 * request: fetch's per-request signal handling and streams cost ~10% of the pool's throughput
 * (see `npm run bench`). Only failures before any byte of the request was written (a refused
 * connection, a failed name lookup, the connect timeout, an invalid URL or header) are marked
 * not delivered; a reset or a timeout after writing is not. Unlike fetch, it follows no redirect:
 * a 3xx is returned as it is (to the pool, an HTTP error status).
 */
export class NodeHttpTransport implements HttpTransport {
  readonly #clock: Clock;
  readonly #connectTimeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #http: HttpAgent;
  readonly #https: HttpsAgent;
  readonly #owned: readonly HttpAgent[];
  readonly #targets = new Map<string, Target | undefined>();
  #closed = false;

  constructor(options: NodeHttpTransportOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected NodeHttpTransport options to be an object, got ${String(options)}`);
    }
    const {
      connectTimeoutMs = DEFAULTS.connectTimeoutMs,
      keepAliveMs = DEFAULTS.keepAliveMs,
      maxSockets = DEFAULTS.maxSockets,
      maxResponseBytes = DEFAULTS.maxResponseBytes,
      agents = {},
      clock = systemClock,
    } = options;
    if (typeof connectTimeoutMs !== 'number' || !(connectTimeoutMs > 0) || !Number.isFinite(connectTimeoutMs)) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected connectTimeoutMs to be a finite number > 0 (ms), got ${String(connectTimeoutMs)}`);
    }
    if (typeof keepAliveMs !== 'number' || !(keepAliveMs > 0) || !Number.isFinite(keepAliveMs)) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected keepAliveMs to be a finite number > 0 (ms), got ${String(keepAliveMs)}`);
    }
    if (maxSockets !== Infinity && (!Number.isSafeInteger(maxSockets) || maxSockets < 1)) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected maxSockets to be an integer >= 1 or Infinity, got ${String(maxSockets)}`);
    }
    this.#maxResponseBytes = checkMaxResponseBytes(maxResponseBytes);
    this.#clock = clock;
    this.#connectTimeoutMs = connectTimeoutMs;
    const settings = { keepAlive: true, timeout: keepAliveMs, maxSockets, scheduling: 'lifo' as const };
    this.#http = agents.http ?? new HttpAgent(settings);
    this.#https = agents.https ?? new HttpsAgent(settings);
    this.#owned = [agents.http ? undefined : this.#http, agents.https ? undefined : this.#https].filter((a): a is HttpAgent => a !== undefined);
  }

  post(endpoint: HttpEndpoint, body: string, signal: AbortSignal): Promise<HttpResponse> {
    if (this.#closed) return Promise.reject(markNotDelivered(new SteadyRpcError('ERR_CLOSED', 'NodeHttpTransport is closed')));
    if (signal.aborted) return Promise.reject(signal.reason ?? abortError());
    const target = this.#target(endpoint.url);
    if (target === undefined) {
      return Promise.reject(markNotDelivered(SteadyRpcError.forUrl('ERR_TRANSPORT', 'HTTP request failed before it was sent: not an http(s) URL', endpoint)));
    }
    const options = endpoint.headers === undefined ? target.options : { ...target.options, headers: { ...target.options.headers, ...target.authorization, ...endpoint.headers } };
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      let connectTimer: TimerHandle | undefined;
      let req: ClientRequest;
      const finish = () => {
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (connectTimer !== undefined) this.#clock.clearTimeout(connectTimer);
      };
      const fail = (error: unknown) => {
        if (settled) return;
        finish();
        reject(signal.aborted ? (signal.reason ?? error) : failure(error, endpoint));
      };
      const onAbort = () => {
        if (settled) return;
        finish();
        req.destroy();
        reject(signal.reason ?? abortError());
      };
      try {
        req = (target.secure ? httpsRequest : httpRequest)(options);
      } catch (error) {
        // Refused before anything was sent (an invalid header name or value, a bad option).
        return void fail(markNotDelivered(error instanceof Error ? error : new Error(String(error))));
      }
      signal.addEventListener('abort', onAbort);
      req.on('error', fail);
      req.once('socket', (socket: Socket) => {
        // A reused connection is already made; a new one has until the connect timeout.
        if (!socket.connecting || settled) return;
        const onConnect = () => {
          if (connectTimer !== undefined) this.#clock.clearTimeout(connectTimer);
          connectTimer = undefined;
        };
        socket.once('connect', onConnect);
        connectTimer = this.#clock.setTimeout(() => {
          connectTimer = undefined;
          socket.removeListener('connect', onConnect);
          if (!socket.connecting || settled) return;
          const error = Object.assign(new Error(`Connect timeout after ${this.#connectTimeoutMs} ms`), { code: 'ETIMEDOUT', syscall: 'connect' });
          req.destroy(markNotDelivered(error));
        }, this.#connectTimeoutMs);
      });
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const max = this.#maxResponseBytes;
        const over = () => {
          fail(tooLarge(status, max, endpoint));
          req.destroy();
        };
        if (res.headers['content-encoding'] === undefined && Number(res.headers['content-length']) > max) return over();
        const chunks: Buffer[] = [];
        let length = 0;
        let ended = false;
        res.on('data', (chunk: Buffer) => {
          length += chunk.length;
          if (length > max) return over();
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('close', () => {
          if (!ended) fail(Object.assign(new Error('The connection closed before the whole answer arrived'), { code: 'ECONNRESET' }));
        });
        res.on('end', () => {
          ended = true;
          const retryAfter = res.headers['retry-after'];
          const done = (text: string) => {
            if (settled) return;
            finish();
            const bodyText = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
            resolve(retryAfter === undefined ? { status, body: bodyText } : { status, body: bodyText, retryAfter });
          };
          const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          const coding = res.headers['content-encoding'];
          if (coding === undefined) return done(raw.toString('utf8'));
          decodeBody(raw, coding, max, (error, decoded) => {
            if (!error) return done(decoded.toString('utf8'));
            if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') return fail(tooLarge(status, max, endpoint));
            // The whole answer arrived, and is not what its Content-Encoding says: a bad answer, not a dropped connection.
            fail(SteadyRpcError.forUrl('ERR_BAD_RESPONSE', `HTTP ${status} answer could not be decoded as ${coding}`, endpoint, { cause: error, details: error.message }));
          });
        });
      });
      req.end(body);
    });
  }

  /** Destroys the transport's own agents and their connections; later posts fail with `ERR_CLOSED`. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const agent of this.#owned) agent.destroy();
  }

  #target(raw: string): Target | undefined {
    if (this.#targets.has(raw)) return this.#targets.get(raw);
    const target = parseTarget(raw, this.#http, this.#https);
    if (this.#targets.size >= TARGETS) this.#targets.clear();
    this.#targets.set(raw, target);
    return target;
  }
}

function parseTarget(raw: string, http: HttpAgent, https: HttpsAgent): Target | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  const secure = url.protocol === 'https:';
  // As FetchHttpTransport: userinfo goes as Basic auth, unless the endpoint's headers set one.
  const authorization = basicAuthorization(url);
  // The headers fetch sends (a firewall in front of a node may refuse a request without a user-agent).
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: '*/*',
    'user-agent': 'node',
    'accept-encoding': secure ? 'br, gzip, deflate' : 'gzip, deflate',
    ...authorization,
  };
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const options: RequestOptions = { agent: secure ? https : http, method: 'POST', hostname, port: url.port === '' ? (secure ? 443 : 80) : Number(url.port), path: `${url.pathname}${url.search}`, headers };
  return { secure, options, authorization };
}

/** The error fetch rejects with when aborted without a reason. */
function abortError(): Error {
  return new DOMException('This operation was aborted', 'AbortError');
}

/** What a failed request becomes, as FetchHttpTransport words it: the delivery verdict first (the copy redaction makes loses the mark). */
function failure(error: unknown, endpoint: HttpEndpoint): SteadyRpcError {
  if (isSteadyRpcError(error, 'ERR_BAD_RESPONSE')) return error;
  const neverSent = isNotDelivered(error);
  const wrapped = SteadyRpcError.forUrl('ERR_TRANSPORT', neverSent ? 'HTTP request failed before it was sent' : 'HTTP request failed', endpoint, {
    cause: error,
    details: error instanceof Error ? error.message : undefined,
  });
  return neverSent ? markNotDelivered(wrapped) : wrapped;
}
