import { SteadyRpcError } from '../errors.js';
import type { JsonRpcResponse } from '../jsonrpc.js';
import { isJsonRpcFailure } from '../jsonrpc.js';
import type { NodeInfo } from '../pool/NodeConfig.js';
import type { NodeErrorClassifier } from '../pool/nodeErrors.js';
import { suggestedBackoffMs, verdictOf } from '../pool/nodeErrors.js';
import { nodeErrorAnswer } from '../pool/httpAnswers.js';
import { httpRateLimit } from '../pool/RateLimitCooldown.js';
import { resolveEndpoint } from '../transport/endpoint.js';
import type { HttpTransport } from '../transport/HttpTransport.js';
import type { SocketTransport, UpstreamSocket } from '../transport/SocketTransport.js';

/** A probe answered with a rate limit, and the wait the node named (ms), if any. */
export interface ProbeRateLimit {
  readonly ms: number | undefined;
  readonly source: 'http-status' | 'rpc-error';
}

const RATE_LIMITED: unique symbol = Symbol('steadyrpc.probeRateLimited');

/** The rate limit a probe's failure carries: the node did answer, only not now. */
export function probeRateLimit(error: unknown): ProbeRateLimit | undefined {
  return typeof error === 'object' && error !== null ? (error as { [RATE_LIMITED]?: ProbeRateLimit })[RATE_LIMITED] : undefined;
}

function rateLimitedError(error: SteadyRpcError, sign: ProbeRateLimit): SteadyRpcError {
  Object.defineProperty(error, RATE_LIMITED, { value: sign, enumerable: false });
  return error;
}

/** How a probe call reads what it gets: the pool's classifier (rate-limit errors) and clock (`Retry-After` dates). */
export interface CallPolicy {
  readonly classify: NodeErrorClassifier;
  now(): number;
}

function unwrap(node: NodeInfo, method: string, response: JsonRpcResponse, policy: CallPolicy): unknown {
  if (isJsonRpcFailure(response)) {
    const error = new SteadyRpcError('ERR_BAD_RESPONSE', `Node "${node.name}" answered ${method} with error ${response.error.code}: ${response.error.message}`);
    const limited = typeof response.error.code === 'number' && verdictOf(policy.classify, response.error, method) === 'rate-limited';
    throw limited ? rateLimitedError(error, { ms: suggestedBackoffMs(response.error), source: 'rpc-error' }) : error;
  }
  return response.result;
}

async function httpCall(http: HttpTransport, node: NodeInfo, method: string, params: unknown[], signal: AbortSignal, policy: CallPolicy) {
  const endpoint = await resolveEndpoint(node.http!);
  signal.throwIfAborted();
  const response = await http.post(endpoint, JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), signal);
  if (response.status < 200 || response.status >= 300) {
    const error = new SteadyRpcError('ERR_TRANSPORT', `Node "${node.name}" answered HTTP ${response.status}`);
    // As for requests: a 429, or a 503 naming its wait, is a rate limit, not a dead node.
    const sign = httpRateLimit(response.status, response.retryAfter, policy.now());
    if (sign) throw rateLimitedError(error, { ...sign, source: 'http-status' });
    // So is a rate-limit error in the body of another status (Infura's -32005 under a 500, say).
    const own = nodeErrorAnswer({ jsonrpc: '2.0', id: 1, method, params }, response.body);
    if (own !== undefined && !Array.isArray(own) && isJsonRpcFailure(own) && verdictOf(policy.classify, own.error, method) === 'rate-limited') {
      throw rateLimitedError(error, { ms: suggestedBackoffMs(own.error), source: 'rpc-error' });
    }
    throw error;
  }
  let parsed: JsonRpcResponse;
  try {
    parsed = JSON.parse(response.body) as JsonRpcResponse;
  } catch (error) {
    throw new SteadyRpcError('ERR_BAD_RESPONSE', `Node "${node.name}" answered with invalid JSON`, { cause: error });
  }
  return unwrap(node, method, parsed, policy);
}

/** One call over a socket opened for it and closed after it (for nodes that have only `ws`). */
async function socketCall(sockets: SocketTransport, node: NodeInfo, method: string, params: unknown[], signal: AbortSignal, policy: CallPolicy) {
  signal.throwIfAborted();
  const endpoint = await resolveEndpoint(node.ws!);
  // The probe may have timed out (or the checker closed) while the endpoint resolved: no socket then.
  signal.throwIfAborted();
  return new Promise<unknown>((resolve, reject) => {
    let socket: UpstreamSocket | undefined;
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      socket?.close(1000, 'probe done');
      fn();
    };
    const onAbort = () => finish(() => reject(signal.reason));
    // Listening before the socket exists: no abort can fall between opening it and listening.
    signal.addEventListener('abort', onAbort, { once: true });
    socket = sockets.open(endpoint, {
      onOpen: () => socket?.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })),
      onMessage: (text) => {
        let value: unknown;
        try {
          const response = JSON.parse(text) as JsonRpcResponse;
          if (response.id !== 1) return;
          value = unwrap(node, method, response, policy);
        } catch (error) {
          finish(() => reject(error));
          return;
        }
        finish(() => resolve(value));
      },
      onClose: (info) =>
        finish(() => {
          const refused = info.httpStatus === undefined ? '' : `, upgrade refused with HTTP ${info.httpStatus}`;
          const error = new SteadyRpcError('ERR_TRANSPORT', `Node "${node.name}" closed the probe socket (${info.code}${refused})`);
          // A refused upgrade says what an HTTP answer would: a 429 (or a 503 naming its wait) is a rate limit.
          const sign = info.httpStatus === undefined ? undefined : httpRateLimit(info.httpStatus, info.retryAfter, policy.now());
          reject(sign ? rateLimitedError(error, { ...sign, source: 'http-status' }) : error);
        }),
      onError: (error) => finish(() => reject(error)),
    });
    // A transport that reported an error or close from within open(): the socket is closed all the same.
    if (done) socket.close(1000, 'probe done');
  });
}

/** Makes the `call` function a probe uses: HTTP when the node has it, else a short-lived socket. */
export function nodeCaller(http: HttpTransport, sockets: SocketTransport, node: NodeInfo, signal: AbortSignal, policy: CallPolicy) {
  return (method: string, params: unknown[] = []): Promise<unknown> =>
    node.http !== undefined
      ? httpCall(http, node, method, params, signal, policy)
      : socketCall(sockets, node, method, params, signal, policy);
}
