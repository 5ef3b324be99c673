import { SteadyRpcError, isSteadyRpcError } from '../errors.js';
import type { JsonRpcErrorObject, JsonRpcFailure, JsonRpcRequest, JsonRpcResponse } from '../jsonrpc.js';
import { RpcErrorCode, errorResponse, isJsonRpcErrorObject as isErrorObject, isJsonRpcResponse } from '../jsonrpc.js';
import type { RepeatablePredicate } from '../session/repeatable.js';
import type { HttpResponse } from '../transport/HttpTransport.js';
import type { NodeErrorClassifier } from './nodeErrors.js';
import { suggestedBackoffMs, verdictOf } from './nodeErrors.js';
import { httpRateLimit } from './RateLimitCooldown.js';

/** Why an attempt failed after the request may have reached the node, for `NOT_RESENT`'s `data.reason`. */
export type FailedAfterSend = 'timeout' | 'http-status' | 'connection' | 'bad-answer' | 'closed';

/** The first method of `payload` that is not safe to send twice; `undefined` when all are. */
export function firstUnrepeatable(payload: JsonRpcRequest | JsonRpcRequest[], isRepeatable: RepeatablePredicate): string | undefined {
  for (const { method } of Array.isArray(payload) ? payload : [payload]) {
    if (typeof method !== 'string' || !isRepeatable(method)) return String(method);
  }
  return undefined;
}

/** Whether no request of `payload` has an id: notifications only, which JSON-RPC 2.0 answers with nothing. */
export function onlyNotifications(payload: JsonRpcRequest | JsonRpcRequest[]): boolean {
  if (!Array.isArray(payload)) return payload.id === undefined;
  for (const request of payload) if (request.id !== undefined) return false;
  return true;
}

/**
 * What `pool.request()` resolves with when a node took notifications only and, as JSON-RPC 2.0 has
 * it, answered nothing (an empty body): `[]` for a batch; for a lone notification (whose type of
 * answer is a response) `{ jsonrpc: '2.0', id: null, result: null }`.
 */
export function noAnswer(payload: JsonRpcRequest | JsonRpcRequest[]): JsonRpcResponse | JsonRpcResponse[] {
  return Array.isArray(payload) ? [] : { jsonrpc: '2.0', id: null, result: null };
}

/**
 * A 2xx body read as the node's answer to `payload`. Throws `ERR_BAD_RESPONSE` when it is not one:
 * not JSON; for a single request, not a JSON-RPC response (an `id`, and a `result` or an error
 * object, not both, no `method`) or the answer to another request (another id); for a batch, not
 * an array, nor one error object. A single request's error under `id: null` (nodes write that for
 * some errors) is given the request's id. A batch answer is taken item by item (`serveHttp`
 * answers each request the node left out, or answered with something else than a JSON-RPC answer,
 * with `-32603`); one error object for a whole batch (JSON-RPC 2.0 §6: "batch size too large") is
 * given to each of its requests that has an id, as with a non-2xx status ({@link nodeErrorAnswer}).
 * Notifications only, answered with an empty body (JSON-RPC 2.0: no answer), get {@link noAnswer}.
 */
export function parseNodeAnswer(node: string, payload: JsonRpcRequest | JsonRpcRequest[], text: string): JsonRpcResponse | JsonRpcResponse[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // Only once JSON.parse failed: the common answer pays nothing for this.
    if (text.trim() === '' && onlyNotifications(payload)) return noAnswer(payload);
    throw badAnswer(node, 'invalid JSON', error);
  }
  if (!Array.isArray(payload)) {
    if (!isAnswer(parsed)) throw badAnswer(node, Array.isArray(parsed) ? 'a batch answer to a single request' : 'something that is not a JSON-RPC answer');
    const id = payload.id ?? null;
    if (parsed.id === id) return parsed;
    if (parsed.id === null && 'error' in parsed) return { ...parsed, id };
    throw badAnswer(node, `the answer to another request (id ${JSON.stringify(parsed.id)} for ${JSON.stringify(id)})`);
  }
  if (Array.isArray(parsed)) return parsed as JsonRpcResponse[];
  if (isAnswer(parsed) && 'error' in parsed) return eachGets(payload, parsed.error);
  throw badAnswer(node, 'a single answer to a batch');
}

/** `error` as the answer to each request of the batch that has an id (a notification gets none). */
function eachGets(payload: readonly JsonRpcRequest[], error: JsonRpcErrorObject): JsonRpcFailure[] {
  return payload.filter((r) => r.id !== undefined).map((r): JsonRpcFailure => ({ jsonrpc: '2.0', id: r.id ?? null, error }));
}

/** A JSON-RPC response: an `id`, and a `result` or an error object (not both), no `method`. */
function isAnswer(value: unknown): value is JsonRpcResponse {
  if (!isJsonRpcResponse(value)) return false;
  return 'error' in value ? !('result' in value) && isErrorObject(value.error) : true;
}

function badAnswer(node: string, what: string, cause?: unknown): SteadyRpcError {
  return new SteadyRpcError('ERR_BAD_RESPONSE', `Node "${node}" answered with ${what}`, cause === undefined ? undefined : { cause });
}


function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The node's own JSON-RPC answer in the body of a non-2xx reply (a 500 or 400 with
 * `{"error":{…}}`, a 429 from a rate limit), shaped like `payload`: for a single request, its error
 * under the request's id (nodes often say `id: null` there); for a batch, the node's batch answer,
 * or its one error given to every request of the batch that has an id. `undefined` when the body is
 * not such an answer.
 */
export function nodeErrorAnswer(payload: JsonRpcRequest | JsonRpcRequest[], body: string): JsonRpcResponse | JsonRpcResponse[] | undefined {
  const value = parseJson(body);
  if (Array.isArray(payload) && Array.isArray(value)) {
    return value.length > 0 && value.every(isJsonRpcResponse) ? (value as JsonRpcResponse[]) : undefined;
  }
  if (!isJsonRpcResponse(value) || !('error' in value) || !isErrorObject(value.error)) return undefined;
  const { error } = value as JsonRpcFailure;
  if (!Array.isArray(payload)) return { jsonrpc: '2.0', id: payload.id ?? null, error };
  return eachGets(payload, error);
}

/** The first string `code` below the error's own (`ECONNRESET`, `UND_ERR_SOCKET` …), for a message. */
function causeCode(error: unknown): string | undefined {
  let e: unknown = error instanceof Error ? error.cause : undefined;
  for (let depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as Error).cause, depth++) {
    const { code } = e as { code?: unknown };
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** What happened to an attempt that failed after sending, in words and as a `data.reason`. */
export function failedAfterSend(error: unknown, status: number | undefined, timeoutMs: number): { reason: FailedAfterSend; text: string } {
  if (status !== undefined && (status < 200 || status >= 300)) return { reason: 'http-status', text: `answered HTTP ${status}` };
  if (isSteadyRpcError(error, 'ERR_TIMEOUT')) return { reason: 'timeout', text: `did not answer within ${timeoutMs} ms` };
  if (isSteadyRpcError(error, 'ERR_CLOSED')) return { reason: 'closed', text: 'had not answered when the pool was closed' };
  if (status !== undefined || isSteadyRpcError(error, 'ERR_BAD_RESPONSE')) return { reason: 'bad-answer', text: 'answered with something that is not a JSON-RPC answer' };
  const code = causeCode(error);
  return { reason: 'connection', text: `dropped the connection after the request was sent${code ? ` (${code})` : ''}` };
}

/**
 * The answer to a request that is not safe to send twice, after an attempt that may have reached
 * `node` failed: `NOT_RESENT` for it (for a batch, for each request of it that has an id), saying
 * which node, what happened and which method forbade a second try. No URL: only the node's name.
 */
export function notResentAnswer(
  payload: JsonRpcRequest | JsonRpcRequest[],
  node: string,
  failure: { reason: FailedAfterSend; text: string },
  unrepeatable: string,
): JsonRpcResponse | JsonRpcResponse[] {
  const what = Array.isArray(payload) ? `the batch holds ${unrepeatable}, which` : unrepeatable;
  const message = `Node "${node}" ${failure.text}; ${what} is not safe to send twice, so it was not sent to another node`;
  const data = { node, reason: failure.reason };
  const fail = (request: JsonRpcRequest) => errorResponse(request.id ?? null, RpcErrorCode.NOT_RESENT, message, data);
  return Array.isArray(payload) ? payload.filter((r) => r.id !== undefined).map(fail) : fail(payload);
}

/** A rate limit a reply showed, with the wait the node named (`Retry-After`, `backoff_seconds`), if any. */
export interface RateLimitSign {
  readonly ms: number | undefined;
}

/**
 * What one node's reply to `payload` says:
 * - `answer`: a JSON-RPC answer to return (held to the chain view);
 * - `not-here`: a JSON-RPC answer made only of errors the classifier says this node cannot help
 *   with (`retry`, `rate-limited`): a read safe to repeat is asked of the next node;
 * - `failed`: a non-2xx status, with `own` the node's JSON-RPC error if its body holds one.
 * `rateLimited` when the node said so (HTTP 429, or an error classified `rate-limited`, even in
 * part of a batch). Throws `ERR_BAD_RESPONSE` for a 2xx body that is not an answer.
 */
export type ReplyVerdict =
  | { readonly kind: 'answer'; readonly response: JsonRpcResponse | JsonRpcResponse[]; readonly rateLimited?: RateLimitSign }
  | { readonly kind: 'not-here'; readonly response: JsonRpcResponse | JsonRpcResponse[]; readonly rateLimited?: RateLimitSign }
  | { readonly kind: 'failed'; readonly error: SteadyRpcError; readonly own?: JsonRpcResponse | JsonRpcResponse[]; readonly rateLimited?: RateLimitSign };

export function judgeReply(
  node: string,
  payload: JsonRpcRequest | JsonRpcRequest[],
  reply: HttpResponse,
  classify: NodeErrorClassifier,
  now: number,
): ReplyVerdict {
  const ok = reply.status >= 200 && reply.status < 300;
  const response = ok ? parseNodeAnswer(node, payload, reply.body) : nodeErrorAnswer(payload, reply.body);
  const errors = response === undefined ? { all: false, rateLimited: undefined } : judgeErrors(payload, response, classify);
  let rateLimited = errors.rateLimited;
  const sign = httpRateLimit(reply.status, reply.retryAfter, now);
  if (sign) rateLimited = { ms: sign.ms ?? rateLimited?.ms };
  const withSign = rateLimited ? { rateLimited } : {};
  if (ok) return errors.all ? { kind: 'not-here', response: response!, ...withSign } : { kind: 'answer', response: response!, ...withSign };
  const error = new SteadyRpcError('ERR_TRANSPORT', `Node "${node}" answered HTTP ${reply.status}`);
  return { kind: 'failed', error, ...(response === undefined ? {} : { own: response }), ...withSign };
}

/**
 * Classifies the errors of an answer: `all` when every item is an error that is not an answer
 * (the node served none of it), `rateLimited` when one says so.
 */
function judgeErrors(
  payload: JsonRpcRequest | JsonRpcRequest[],
  response: JsonRpcResponse | JsonRpcResponse[],
  classify: NodeErrorClassifier,
): { all: boolean; rateLimited: RateLimitSign | undefined } {
  const items = Array.isArray(response) ? response : [response];
  /** A batch's methods by id, made only when an item is an error (most batches have none). */
  let methods: Map<unknown, unknown> | undefined;
  let all = items.length > 0;
  let rateLimited: RateLimitSign | undefined;
  for (const item of items) {
    const error: unknown = typeof item === 'object' && item !== null && 'error' in item ? item.error : undefined;
    if (!isErrorObject(error)) {
      all = false;
      continue;
    }
    const method = Array.isArray(payload) ? (methods ??= new Map(payload.map((r) => [r.id, r.method]))).get(item.id) : payload.method;
    const verdict = verdictOf(classify, error, typeof method === 'string' ? method : '');
    if (verdict === 'answer') all = false;
    if (verdict === 'rate-limited') {
      const named = suggestedBackoffMs(error);
      rateLimited = { ms: named === undefined ? rateLimited?.ms : Math.max(named, rateLimited?.ms ?? 0) };
    }
  }
  return { all, rateLimited };
}
