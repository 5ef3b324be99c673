import type { Readable } from 'node:stream';
import { SteadyRpcError, describeError, isSteadyRpcError } from '../errors.js';
import type { JsonRpcFailure, JsonRpcRequest, JsonRpcResponse } from '../jsonrpc.js';
import { RpcErrorCode, errorResponse, isJsonRpcErrorObject as isErrorObject } from '../jsonrpc.js';
import type { NodePool } from '../pool/NodePool.js';
import type { ClientCall, ParsedFrame, ParsedItem } from '../session/ClientFrame.js';
import { parseClientFrame, withIdText } from '../session/ClientFrame.js';
import { SESSION_DEFAULTS } from '../session/SessionOptions.js';
import { readHttpBody } from './readHttpBody.js';
import { definedOnly } from './definedOnly.js';

export interface ServeHttpOptions {
  /**
   * Largest body, in UTF-8 bytes. A larger one is answered HTTP 413 with the `FRAME_TOO_LARGE`
   * (-32054) error a WebSocket client gets for a frame that large; a streamed body is not read past it.
   * @default 5 MiB (the sessions' `maxFrameBytes`)
   */
  maxBodyBytes?: number;
  /** Most requests in one batch; a larger batch gets the sessions' `-32600` answer. @default 1_000 */
  maxBatchSize?: number;
  /** Aborts the upstream request, e.g. when the client disconnects. */
  signal?: AbortSignal;
}

/** The defaults of {@link ServeHttpOptions}: the sessions' frame limits. */
export const SERVE_HTTP_DEFAULTS: Readonly<{ maxBodyBytes: number; maxBatchSize: number }> = Object.freeze({
  maxBodyBytes: SESSION_DEFAULTS.maxFrameBytes,
  maxBatchSize: SESSION_DEFAULTS.maxBatchSize,
});

/**
 * What became of one HTTP body, for a host's metrics: `answered` (a node answered), `not-resent`
 * (a write met a failure after it may have been received: `NOT_RESENT`), `unavailable` (no node
 * could take it), `invalid` (nothing in it was a valid request), `parse-error`, `too-large`,
 * `aborted` (the client went away), `internal-error` (a bug in steadyrpc: please report it).
 */
export type HttpOutcome = 'answered' | 'not-resent' | 'unavailable' | 'invalid' | 'parse-error' | 'too-large' | 'aborted' | 'internal-error';

/** What to send back: `res.writeHead(status, headers).end(body)`. */
export interface HttpAnswer {
  /** 200 for any JSON-RPC answer (errors included), 204 when every request was a notification, 413 for a body over the limit. */
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** JSON text, or `''` with 204. */
  readonly body: string;
  readonly outcome: HttpOutcome;
}

const JSON_HEADERS = Object.freeze({ 'content-type': 'application/json' });

function reply(status: number, body: string, outcome: HttpOutcome): HttpAnswer {
  if (status === 204) return { status, headers: {}, body: '', outcome };
  // Past the limit the rest of the body is never read: the connection cannot be reused.
  const headers = status === 413 ? { ...JSON_HEADERS, connection: 'close' } : JSON_HEADERS;
  return { status, headers, body, outcome };
}

function validated(options: ServeHttpOptions): Required<Omit<ServeHttpOptions, 'signal'>> {
  const { maxBodyBytes, maxBatchSize } = { ...SERVE_HTTP_DEFAULTS, ...definedOnly(options) };
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected maxBodyBytes to be an integer >= 1, got ${maxBodyBytes}`);
  }
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected maxBatchSize to be an integer >= 1, got ${maxBatchSize}`);
  }
  return { maxBodyBytes, maxBatchSize };
}

/** The answers of the nodes to the calls, by the dispatcher's own id (the call's index), or why there are none. */
type Upstream = { answers: Map<number, JsonRpcResponse>; failure?: undefined } | { answers?: undefined; failure: JsonRpcFailure; outcome: HttpOutcome };

/**
 * Sends the calls through `pool.request()` under ids of its own (0..n-1), so duplicate, huge or
 * odd client ids never meet upstream. Notifications go as calls too, their answers dropped: every
 * node answers a call alike, while what comes back for a notification varies (an empty body, `[]`,
 * an error), and a body mixing both is matched by id.
 */
async function ask(pool: NodePool, calls: readonly ClientCall[], batch: boolean, signal: AbortSignal | undefined): Promise<Upstream> {
  const requests = calls.map(({ request: { method, params } }, id): JsonRpcRequest => ({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) }));
  try {
    const answers = new Map<number, JsonRpcResponse>();
    if (!batch) {
      answers.set(0, await pool.request(requests[0]!, { signal }));
      return { answers };
    }
    for (const answer of await pool.request(requests, { signal })) {
      const id = (answer as { id?: unknown } | null)?.id;
      if (typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < calls.length && !answers.has(id)) answers.set(id, answer);
    }
    return { answers };
  } catch (error) {
    if (signal?.aborted) return { failure: errorResponse(null, RpcErrorCode.UPSTREAM_UNAVAILABLE, 'Request aborted'), outcome: 'aborted' };
    if (!isSteadyRpcError(error)) throw error;
    return { failure: errorResponse(null, RpcErrorCode.UPSTREAM_UNAVAILABLE, describeError(error)), outcome: 'unavailable' };
  }
}


/** A node's answer as the client gets it: only `result` or `error`, under the client's exact id. */
function answerText(answer: JsonRpcResponse | undefined, idText: string): string {
  let response: JsonRpcResponse;
  if (answer === undefined) {
    response = errorResponse(null, RpcErrorCode.INTERNAL_ERROR, "The node's answer to the batch left this request out");
  } else if (typeof answer === 'object' && answer !== null && 'error' in answer && isErrorObject(answer.error)) {
    response = { jsonrpc: '2.0', id: null, error: answer.error };
  } else if (typeof answer === 'object' && answer !== null && 'result' in answer && (answer as { error?: unknown }).error == null) {
    response = { jsonrpc: '2.0', id: null, result: answer.result };
  } else {
    response = errorResponse(null, RpcErrorCode.INTERNAL_ERROR, "The node's answer to this request is not a JSON-RPC answer");
  }
  let text: string;
  try {
    text = JSON.stringify(response);
  } catch {
    // A result nested too deep to serialise again.
    text = JSON.stringify(errorResponse(null, RpcErrorCode.INTERNAL_ERROR, "The node's answer to this request could not be passed on"));
  }
  return withIdText(text, idText);
}

const isNotResent = (answer: JsonRpcResponse | undefined) =>
  typeof answer === 'object' && answer !== null && 'error' in answer && answer.error?.code === RpcErrorCode.NOT_RESENT;

/** The answers to a parsed body: one per item with an id (invalid or answered), none for a notification. */
async function answerItems(pool: NodePool, items: readonly ParsedItem[], batch: boolean, signal: AbortSignal | undefined): Promise<HttpAnswer> {
  const calls = items.filter((item): item is ClientCall => item.kind === 'call');
  const upstream: Upstream | undefined = calls.length > 0 ? await ask(pool, calls, batch, signal) : undefined;
  const texts: string[] = [];
  let next = 0;
  for (const item of items) {
    if (item.kind === 'invalid') {
      texts.push(withIdText(JSON.stringify(item.response), item.idText));
      continue;
    }
    const index = next++;
    if (!item.hasId) continue;
    texts.push(upstream!.failure ? withIdText(JSON.stringify(upstream!.failure), item.idText) : answerText(upstream!.answers.get(index), item.idText));
  }
  let outcome: HttpOutcome = 'invalid';
  if (upstream?.failure) outcome = upstream.outcome;
  else if (upstream) outcome = [...upstream.answers.values()].some(isNotResent) ? 'not-resent' : 'answered';
  if (texts.length === 0) return reply(204, '', outcome);
  return reply(200, batch ? `[${texts.join(',')}]` : texts[0]!, outcome);
}

/**
 * Answers one HTTP JSON-RPC body through `pool.request()`, with the checks a WebSocket client's
 * frame gets from its session (`parseClientFrame`), answer for answer: a body too large (413), not
 * JSON (-32700), an empty or oversized batch, params nested too deep, a bad item (-32600, for that
 * item only: the others are served). Every request with an id gets one answer under its id as
 * written: a string, a fraction or a number beyond ±(2^53 − 1) exactly (`9007199254740993` and
 * `1.50` stay so), a safe integer as JSON writes it (`1.0` comes back as `1`: see `idTextOf`);
 * notifications get none, and a body of notifications
 * only gets `204 No Content`, as JSON-RPC over HTTP has it. A node's own JSON-RPC error is passed
 * on; a write is never sent to two nodes (see `NodePoolOptions.isRepeatable`).
 *
 * `body` is the text, or the request stream itself (an `IncomingMessage`), read up to the limit.
 * Never rejects on any input; only on invalid options.
 */
export async function serveHttp(pool: NodePool, body: string | Readable, options: ServeHttpOptions = {}): Promise<HttpAnswer> {
  const { maxBodyBytes, maxBatchSize } = validated(options);
  let text: string | undefined;
  try {
    text = typeof body === 'string' ? body : await readHttpBody(body, maxBodyBytes);
  } catch {
    return reply(400, JSON.stringify(errorResponse(null, RpcErrorCode.PARSE_ERROR, 'Parse error: the body ended early')), 'aborted');
  }
  const limits = { maxFrameBytes: maxBodyBytes, maxBatchSize };
  const parsed: ParsedFrame = text === undefined ? { kind: 'error', response: tooLarge(maxBodyBytes) } : parseClientFrame(text, limits);
  try {
    if (parsed.kind === 'error') {
      const { code } = parsed.response.error;
      const outcome: HttpOutcome = code === RpcErrorCode.FRAME_TOO_LARGE ? 'too-large' : code === RpcErrorCode.PARSE_ERROR ? 'parse-error' : 'invalid';
      return reply(outcome === 'too-large' ? 413 : 200, JSON.stringify(parsed.response), outcome);
    }
    return await answerItems(pool, parsed.kind === 'batch' ? parsed.items : [parsed.item], parsed.kind === 'batch', options.signal);
  } catch {
    return reply(200, JSON.stringify(errorResponse(null, RpcErrorCode.INTERNAL_ERROR, 'Internal error')), 'internal-error');
  }
}

/**
 * For a streamed body that went past the limit (never read whole): the answer `parseClientFrame`
 * gives a frame over `maxFrameBytes`, word for word (a test holds them equal).
 */
function tooLarge(maxFrameBytes: number): JsonRpcFailure {
  return errorResponse(null, RpcErrorCode.FRAME_TOO_LARGE, `Frame too large: the limit is ${maxFrameBytes} bytes`, { maxFrameBytes });
}
