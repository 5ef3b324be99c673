import { SteadyRpcError } from '../errors.js';
import type { JsonRpcResponse } from '../jsonrpc.js';
import { isJsonRpcFailure } from '../jsonrpc.js';
import type { NodeInfo } from '../pool/NodeConfig.js';
import { resolveEndpoint } from '../transport/endpoint.js';
import type { HttpTransport } from '../transport/HttpTransport.js';
import type { SocketTransport } from '../transport/SocketTransport.js';

function unwrap(node: NodeInfo, method: string, response: JsonRpcResponse): unknown {
  if (isJsonRpcFailure(response)) {
    throw new SteadyRpcError('ERR_BAD_RESPONSE', `Node "${node.name}" answered ${method} with error ${response.error.code}: ${response.error.message}`);
  }
  return response.result;
}

async function httpCall(http: HttpTransport, node: NodeInfo, method: string, params: unknown[], signal: AbortSignal) {
  const endpoint = await resolveEndpoint(node.http!);
  const response = await http.post(endpoint, JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }), signal);
  if (response.status < 200 || response.status >= 300) {
    throw new SteadyRpcError('ERR_TRANSPORT', `Node "${node.name}" answered HTTP ${response.status}`);
  }
  let parsed: JsonRpcResponse;
  try {
    parsed = JSON.parse(response.body) as JsonRpcResponse;
  } catch (error) {
    throw new SteadyRpcError('ERR_BAD_RESPONSE', `Node "${node.name}" answered with invalid JSON`, { cause: error });
  }
  return unwrap(node, method, parsed);
}

/** One call over a socket opened for it and closed after it (for nodes that have only `ws`). */
async function socketCall(sockets: SocketTransport, node: NodeInfo, method: string, params: unknown[], signal: AbortSignal) {
  signal.throwIfAborted();
  const endpoint = await resolveEndpoint(node.ws!);
  return new Promise<unknown>((resolve, reject) => {
    const finish = (fn: () => void) => {
      signal.removeEventListener('abort', onAbort);
      socket.close(1000, 'probe done');
      fn();
    };
    const onAbort = () => finish(() => reject(signal.reason));
    const socket = sockets.open(endpoint, {
      onOpen: () => socket.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params })),
      onMessage: (text) => {
        try {
          const response = JSON.parse(text) as JsonRpcResponse;
          if (response.id !== 1) return;
          finish(() => resolve(unwrap(node, method, response)));
        } catch (error) {
          finish(() => reject(error));
        }
      },
      onClose: (info) =>
        finish(() => reject(new SteadyRpcError('ERR_TRANSPORT', `Node "${node.name}" closed the probe socket (${info.code})`))),
      onError: (error) => finish(() => reject(error)),
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Makes the `call` function a probe uses: HTTP when the node has it, else a short-lived socket. */
export function nodeCaller(http: HttpTransport, sockets: SocketTransport, node: NodeInfo, signal: AbortSignal) {
  return (method: string, params: unknown[] = []): Promise<unknown> =>
    node.http !== undefined
      ? httpCall(http, node, method, params, signal)
      : socketCall(sockets, node, method, params, signal);
}
