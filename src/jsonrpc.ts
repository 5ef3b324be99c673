/** A JSON-RPC id as a client may send it. `null` ids are notifications' business, not ours. */
export type JsonRpcId = string | number;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id?: JsonRpcId | null;
  method: string;
  params?: unknown[] | Record<string, unknown>;
}

export interface JsonRpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

export interface JsonRpcSuccess {
  jsonrpc: '2.0';
  id: JsonRpcId | null;
  result: unknown;
}

export interface JsonRpcFailure {
  jsonrpc: '2.0';
  id: JsonRpcId | null;
  error: JsonRpcErrorObject;
}

export type JsonRpcResponse = JsonRpcSuccess | JsonRpcFailure;

/** An `eth_subscription` notification. */
export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: 'eth_subscription';
  params: { subscription: string; result: unknown };
}

/**
 * The JSON-RPC error codes steadyrpc sends to clients. The standard ones come from the JSON-RPC
 * 2.0 spec; the server codes (-32050 … -32059) are steadyrpc's own and documented in
 * docs/reference.md.
 */
export const RpcErrorCode = Object.freeze({
  /** Invalid JSON was received. */
  PARSE_ERROR: -32700,
  /**
   * EIP-1474 "Limit exceeded": the call would take the client's connection past one of its caps
   * (`maxInFlight` calls awaiting an answer, `maxSubscriptions`); `data` is
   * `{ limit: 'maxInFlight' | 'maxSubscriptions', max }`. The connection stays open: the call can be
   * sent again once earlier ones are answered (or subscriptions given back).
   */
  LIMIT_EXCEEDED: -32005,
  /** The JSON is not a valid JSON-RPC request. */
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** No upstream node could take the request (all down, or the session is closing). */
  UPSTREAM_UNAVAILABLE: -32050,
  /** The bounded queue for messages sent while reconnecting is full. */
  QUEUE_FULL: -32051,
  /** The request waited longer than its deadline (queued, or in flight on a silent upstream). */
  REQUEST_TIMEOUT: -32052,
  /** The upstream died with the request in flight and the method is not safe to send twice. */
  NOT_RESENT: -32053,
  /** The frame exceeds the configured size limit. */
  FRAME_TOO_LARGE: -32054,
  /**
   * The read concerns blocks the client has already seen, and no node that could answer it has
   * caught up with them within the wait (see `consistency.waitMs`).
   */
  BEHIND: -32055,
});

export type RpcErrorCodeValue = (typeof RpcErrorCode)[keyof typeof RpcErrorCode];

export function errorResponse(
  id: JsonRpcId | null,
  code: number,
  message: string,
  data?: unknown,
): JsonRpcFailure {
  const error: JsonRpcErrorObject = data === undefined ? { code, message } : { code, message, data };
  return { jsonrpc: '2.0', id, error };
}

export function isJsonRpcResponse(value: unknown): value is JsonRpcResponse {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return 'id' in v && ('result' in v || 'error' in v) && !('method' in v);
}

/** Whether `value` is a JSON-RPC error object: an integer `code` and a string `message`. */
export function isJsonRpcErrorObject(value: unknown): value is JsonRpcErrorObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { code, message } = value as { code?: unknown; message?: unknown };
  return Number.isInteger(code) && typeof message === 'string';
}

export function isJsonRpcFailure(value: JsonRpcResponse): value is JsonRpcFailure {
  return 'error' in value && value.error !== undefined;
}
