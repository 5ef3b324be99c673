import type { Clock } from '../Clock.js';
import { SteadyRpcError } from '../errors.js';
import type { JsonRpcRequest } from '../jsonrpc.js';
import { RpcErrorCode, errorResponse } from '../jsonrpc.js';
import type { HttpEndpoint, HttpResponse } from '../transport/HttpTransport.js';
import { markNotDelivered } from '../transport/HttpTransport.js';
import type { FakeNode } from './FakeNode.js';

/** Serves one HTTP request to `node` per its `mode` and latency (see {@link FakeNode.http}). */
export async function answerHttp(node: FakeNode, clock: Clock | undefined, body: string, signal: AbortSignal, endpoint: HttpEndpoint): Promise<HttpResponse> {
  if (node.mode === 'down') {
    throw markNotDelivered(SteadyRpcError.forUrl('ERR_TRANSPORT', 'HTTP request failed before it was sent: connection refused', endpoint.url));
  }
  await wait(node, clock, signal);
  if (node.mode === 'http-error') return { status: 503, body: 'Service Unavailable' };
  let payload: unknown;
  try {
    payload = JSON.parse(body);
  } catch {
    return { status: 200, body: JSON.stringify(errorResponse(null, RpcErrorCode.PARSE_ERROR, 'Parse error')) };
  }
  const answer = Array.isArray(payload)
    ? payload.map((r) => node.answer(r as JsonRpcRequest))
    : node.answer(payload as JsonRpcRequest);
  return { status: 200, body: JSON.stringify(answer) };
}

/** Resolves after the configured latency; never, while stalled; rejects when `signal` aborts. */
function wait(node: FakeNode, clock: Clock | undefined, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  if (node.mode !== 'stall' && node.latencyMs <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    let timer: unknown;
    const onAbort = () => {
      if (timer !== undefined) clock!.clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if (node.mode === 'stall') return;
    timer = clock!.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, node.latencyMs);
  });
}
