import { utf8Base64 } from '../base64.js';
import { SteadyRpcError, isSteadyRpcError } from '../errors.js';
import { utf8ByteLength } from '../utf8Length.js';

/** Where to POST, resolved fresh before every request so credentials can rotate. */
export interface HttpEndpoint {
  url: string;
  headers?: Record<string, string>;
}

export interface HttpResponse {
  status: number;
  body: string;
  /**
   * The `Retry-After` header as sent (delay-seconds or an HTTP date), when there was one: the wait
   * a node names with a 429 (or a 503). The pool cools the node down for that long.
   */
  retryAfter?: string;
}

/**
 * POSTs a JSON body and returns the status and the raw body. Holds no policy: retries, timeouts
 * and failover belong to the caller, which passes an `AbortSignal` for each attempt.
 */
export interface HttpTransport {
  post(endpoint: HttpEndpoint, body: string, signal: AbortSignal): Promise<HttpResponse>;
  /** Releases what it holds (kept-alive connections). A pool calls it only on the transport it made itself. */
  close?(): void;
}

/** The largest answer the HTTP transports read by default, decoded: the WebSocket transport's `maxPayload`. */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** `maxResponseBytes` checked as the HTTP transports take it. */
export function checkMaxResponseBytes(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected maxResponseBytes to be an integer >= 1 (bytes), got ${String(value)}`);
  }
  return value;
}

/** An answer past `maxResponseBytes`: a bad answer (the same request would get it again), not a broken connection. */
export function tooLarge(status: number, max: number, endpoint: HttpEndpoint): SteadyRpcError {
  return SteadyRpcError.forUrl('ERR_BAD_RESPONSE', `HTTP ${status} answer is larger than maxResponseBytes (${max} bytes)`, endpoint);
}

const NOT_DELIVERED: unique symbol = Symbol.for('steadyrpc.notDelivered');

/**
 * Error codes, on an error or its causes, of a request that never left: the connection was never
 * made (refused, no route, connect timeout) or the name never resolved. Anything later (a reset,
 * "other side closed", a timeout, a bad status) may come after the node read the request. A code
 * that a system call names proves it only from `connect` or `getaddrinfo`: the kernel also reports
 * an ICMP "host unreachable" or "port unreachable" on a connection it had (`EHOSTUNREACH`,
 * `ECONNREFUSED` from a `read`), after the node may have read the request. Without a system call
 * (undici's connect timeout, Node's AggregateError of every address it tried) the code stands.
 */
const NEVER_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EAI_NODATA',
  'EAI_FAIL',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'ERR_INVALID_URL',
]);

/** System calls that fail before any byte of the request is written. */
const NEVER_SENT_SYSCALLS: ReadonlySet<string> = new Set(['connect', 'getaddrinfo']);

/**
 * Marks `error` as proof that the request never reached the node, so a request that is not safe
 * to send twice may still go to another node. For {@link HttpTransport} implementations: mark
 * only what certainly happened before the request was written (a refused connection, a failed
 * name lookup, an invalid URL); a reset or a timeout after the request went out must stay
 * unmarked. Returns `error`.
 */
export function markNotDelivered<E extends Error>(error: E): E {
  Object.defineProperty(error, NOT_DELIVERED, { value: true, enumerable: false });
  return error;
}

/**
 * Whether a failed POST proves the node never received the request: the error was marked with
 * {@link markNotDelivered}, or it (or one of its causes) is a failed `connect` or name lookup, or
 * carries the code of a connection that was never made (`ECONNREFUSED`, `ENOTFOUND`, `EAI_AGAIN`
 * …) with no system call named, as Node's `fetch` reports them. A timeout, a reset, an HTTP status
 * or an error of a system call on a connection that was made (`read`, `write`) never proves it.
 */
export function isNotDelivered(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 6; e = (e as Error).cause, depth++) {
    if ((e as { [NOT_DELIVERED]?: unknown })[NOT_DELIVERED] === true) return true;
    const { code, syscall } = e as { code?: unknown; syscall?: unknown };
    if (typeof syscall === 'string') {
      if (NEVER_SENT_SYSCALLS.has(syscall)) return true;
    } else if (typeof code === 'string' && NEVER_SENT_CODES.has(code)) return true;
  }
  return false;
}

/** What a URL becomes for fetch: userinfo moved to a Basic authorization header, or `undefined` for a URL fetch must not be given. */
interface PreparedUrl {
  readonly url: string;
  /** The request headers when the endpoint brings none of its own (shared: fetch does not change them). */
  readonly headers: Record<string, string>;
  readonly authorization: Record<string, string> | undefined;
}

/** URLs remembered per transport (parsing two URLs per request cost more than the rest of `post`). */
const PREPARED_URLS = 256;

export interface FetchHttpTransportOptions {
  /**
   * The largest answer read, in bytes as fetch gives them (decompressed); past it the request fails
   * with `ERR_BAD_RESPONSE` and the rest of the answer is not read.
   * @default 64 MiB (the WebSocket transport's `maxPayload`)
   */
  maxResponseBytes?: number;
}

/** The default {@link HttpTransport}, over the global `fetch` (or one passed in). */
export class FetchHttpTransport implements HttpTransport {
  readonly #fetch: (url: string, init: RequestInit) => Promise<Response>;
  readonly #prepared = new Map<string, PreparedUrl | undefined>();
  readonly #maxResponseBytes: number;

  constructor(fetchImpl: typeof fetch = globalThis.fetch, options: FetchHttpTransportOptions = {}) {
    if (typeof fetchImpl !== 'function') {
      throw new SteadyRpcError('ERR_CONFIG', 'No fetch implementation: pass one to FetchHttpTransport');
    }
    this.#maxResponseBytes = checkMaxResponseBytes(options.maxResponseBytes ?? MAX_RESPONSE_BYTES);
    // Called on globalThis, never detached: a platform's fetch is a method of the global, and a
    // detached call of it is "Illegal invocation" in Chromium. A plain or bound function passed in
    // does not mind.
    this.#fetch = (input, init) => fetchImpl.call(globalThis, input, init);
  }

  async post(endpoint: HttpEndpoint, body: string, signal: AbortSignal): Promise<HttpResponse> {
    let response: Response;
    const prepared = this.#prepare(endpoint.url);
    if (prepared === undefined) {
      throw markNotDelivered(SteadyRpcError.forUrl('ERR_TRANSPORT', 'HTTP request failed before it was sent: not an http(s) URL', endpoint));
    }
    const headers = endpoint.headers === undefined ? prepared.headers : { 'content-type': 'application/json', ...prepared.authorization, ...endpoint.headers };
    try {
      response = await this.#fetch(prepared.url, { method: 'POST', headers, body, signal });
    } catch (error) {
      throw fetchFailure(error, signal, endpoint);
    }
    let text: string;
    try {
      text = await readText(response, this.#maxResponseBytes, endpoint);
    } catch (error) {
      if (isSteadyRpcError(error, 'ERR_BAD_RESPONSE')) throw error;
      // A body its Content-Encoding does not decode: an answer, and a bad one (as NodeHttpTransport
      // says), not a connection that broke; the same request would get it again.
      const coding = response.headers.get('content-encoding');
      const zlib = zlibCodeOf(error);
      if (signal.aborted || coding === null || zlib === undefined) throw fetchFailure(error, signal, endpoint);
      throw SteadyRpcError.forUrl('ERR_BAD_RESPONSE', `HTTP ${response.status} answer could not be decoded as ${coding}`, endpoint, { cause: error, details: zlib });
    }
    const retryAfter = response.headers.get('retry-after');
    return retryAfter === null ? { status: response.status, body: text } : { status: response.status, body: text, retryAfter };
  }

  #prepare(raw: string): PreparedUrl | undefined {
    if (this.#prepared.has(raw)) return this.#prepared.get(raw);
    let prepared: PreparedUrl | undefined;
    if (isHttpUrl(raw)) {
      const { url, authorization } = splitUserinfo(raw);
      prepared = { url, authorization, headers: { 'content-type': 'application/json', ...authorization } };
    }
    // Endpoint functions may put fresh credentials in every URL: keep the memory bounded.
    if (this.#prepared.size >= PREPARED_URLS) this.#prepared.clear();
    this.#prepared.set(raw, prepared);
    return prepared;
  }
}

/**
 * The body of `response` as UTF-8 text (a leading BOM dropped, as `text()` does), read no further
 * than `max` bytes: past it the rest is cancelled and `ERR_BAD_RESPONSE` thrown.
 */
async function readText(response: Response, max: number, endpoint: HttpEndpoint): Promise<string> {
  const declared = response.headers.get('content-encoding') === null ? Number(response.headers.get('content-length')) : Number.NaN;
  if (declared > max) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge(response.status, max, endpoint);
  }
  const body = response.body as { getReader?: unknown } | null | undefined;
  if (body === null || body === undefined || typeof body.getReader !== 'function') {
    // A fetch without WHATWG body streams (React Native's, node-fetch 2's Node stream, a test
    // double): read whole as before, and held to the limit once read. (A null body reads as ''.)
    const text = await response.text();
    if (text.length > max || utf8ByteLength(text) > max) throw tooLarge(response.status, max, endpoint);
    return text;
  }
  const reader = response.body!.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge(response.status, max, endpoint);
    }
    chunks.push(value);
  }
  let bytes = chunks[0] ?? new Uint8Array(0);
  if (chunks.length > 1) {
    bytes = new Uint8Array(length);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.byteLength;
    }
  }
  return new TextDecoder().decode(bytes);
}

function isHttpUrl(raw: string): boolean {
  try {
    const { protocol } = new URL(raw);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * fetch refuses URLs with userinfo; send it as Basic auth instead (as ws does for socket URLs),
 * unless the endpoint's own headers set an authorization.
 */
function splitUserinfo(raw: string): { url: string; authorization: Record<string, string> | undefined } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { url: raw, authorization: undefined };
  }
  const authorization = basicAuthorization(url);
  if (!authorization) return { url: raw, authorization: undefined };
  url.username = '';
  url.password = '';
  return { url: url.toString(), authorization };
}

/** The `authorization` header a URL's userinfo stands for (Basic, UTF-8), if it has any. */
export function basicAuthorization(url: URL): Record<string, string> | undefined {
  if (url.username === '' && url.password === '') return undefined;
  return { authorization: `Basic ${utf8Base64(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`)}` };
}

/** What a failed fetch or body read throws: the abort's reason, or the failure with its URL scrubbed. */
function fetchFailure(error: unknown, signal: AbortSignal, endpoint: HttpEndpoint): unknown {
  if (signal.aborted) return signal.reason ?? error;
  // fetch's own messages can carry the URL; never pass them on unredacted. The verdict on delivery
  // is taken first: redaction may replace the cause by a copy without its codes.
  const neverSent = isNotDelivered(error);
  const failure = SteadyRpcError.forUrl('ERR_TRANSPORT', neverSent ? 'HTTP request failed before it was sent' : 'HTTP request failed', endpoint, {
    cause: error,
    details: error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined,
  });
  return neverSent ? markNotDelivered(failure) : failure;
}

/** The zlib error code (`Z_DATA_ERROR`, …) of a failed body read, on the error or its causes. */
function zlibCodeOf(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('Z_')) return code;
  }
  return undefined;
}
