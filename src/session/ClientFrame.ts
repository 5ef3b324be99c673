import type { JsonRpcFailure, JsonRpcId, JsonRpcRequest } from '../jsonrpc.js';
import { RpcErrorCode, errorResponse } from '../jsonrpc.js';
import { nestsDeeperThan } from '../jsonDepth.js';
import { utf8ByteLength } from '../utf8Length.js';
import { idTextOf, rawBatchIdTexts, rawIdText } from './idText.js';

export { withIdText } from './idText.js';

/**
 * One well-formed request from a client. `hasId` is false for a notification (no `id` key).
 * `idText` is its id's JSON text exactly as the client wrote it: the raw digits of a number that is
 * not a safe integer (`9007199254740993`, which `request.id` holds as …992), otherwise
 * `JSON.stringify(request.id)`; `'null'` for a notification. Answers carry it through
 * {@link withIdText}, so every id comes back as it was sent.
 */
export type ClientCall = { kind: 'call'; request: JsonRpcRequest; hasId: boolean; idText: string };

/**
 * One element of what a client sent: a call, or the `-32600` answer it gets instead (`idText`: the
 * exact text of the id that answer carries, as for {@link ClientCall}).
 */
export type ParsedItem = ClientCall | { kind: 'invalid'; response: JsonRpcFailure; idText: string };

/**
 * What a client's text frame turned out to be. `error` is for a frame that cannot be read at all
 * (too large, not JSON, an empty or oversized batch): its one response goes back as is.
 */
export type ParsedFrame =
  | { kind: 'single'; item: ParsedItem }
  | { kind: 'batch'; items: ParsedItem[] }
  | { kind: 'error'; response: JsonRpcFailure };

export interface ClientFrameLimits {
  /** Largest frame accepted, in UTF-8 bytes. */
  maxFrameBytes: number;
  /** Most requests accepted in one batch. */
  maxBatchSize: number;
}

/** The frame's size on the wire, in UTF-8 bytes. */
export function frameByteLength(text: string): number {
  return utf8ByteLength(text);
}

/**
 * Whether `text` is over `maxBytes` UTF-8 bytes. Each UTF-16 unit takes 1 to 3 bytes, so the
 * string's length settles most frames without counting.
 */
function exceeds(text: string, maxBytes: number): boolean {
  if (text.length > maxBytes) return true;
  if (text.length * 3 <= maxBytes) return false;
  return frameByteLength(text) > maxBytes;
}

/**
 * Deepest nesting accepted in `params`. Real calls nest a few levels (eth_call with state
 * overrides: about 6); a frame nested thousands deep parses fine but overflows the stack when it is
 * serialised again for the upstream, so it is refused here, answered, and never forwarded.
 */
export const MAX_PARAMS_DEPTH = 64;

function isValidId(value: unknown): value is JsonRpcId | null {
  return value === null || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

function invalid(id: JsonRpcId | null, idText: string, reason: string): ParsedItem {
  return { kind: 'invalid', response: errorResponse(id, RpcErrorCode.INVALID_REQUEST, `Invalid request: ${reason}`), idText };
}

/**
 * Checks one request object and keeps only the JSON-RPC fields of it. `rawId` finds the id's text
 * in the frame, for the rare id JSON.parse could not hold exactly.
 */
function parseItem(value: unknown, rawId: () => string | undefined): ParsedItem {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return invalid(null, 'null', 'expected an object');
  }
  const v = value as Record<string, unknown>;
  const hasId = Object.hasOwn(v, 'id');
  const idIsValid = !hasId || isValidId(v.id);
  const replyId = hasId && idIsValid ? (v.id as JsonRpcId | null) : null;
  const idText = idTextOf(replyId, rawId);
  if (v.jsonrpc !== '2.0') return invalid(replyId, idText, 'jsonrpc must be "2.0"');
  if (typeof v.method !== 'string' || v.method === '') return invalid(replyId, idText, 'method must be a non-empty string');
  if (!idIsValid) return invalid(null, 'null', 'id must be a string, a number or null');
  const hasParams = Object.hasOwn(v, 'params');
  const params = v.params;
  if (hasParams && (typeof params !== 'object' || params === null)) {
    return invalid(replyId, idText, 'params must be an array or an object');
  }
  if (hasParams && nestsDeeperThan(params, MAX_PARAMS_DEPTH)) {
    return invalid(replyId, idText, `params nest deeper than ${MAX_PARAMS_DEPTH} levels`);
  }
  const request: JsonRpcRequest = {
    jsonrpc: '2.0',
    ...(hasId ? { id: v.id as JsonRpcId | null } : {}),
    method: v.method,
    ...(hasParams ? { params: params as unknown[] | Record<string, unknown> } : {}),
  };
  return { kind: 'call', request, hasId, idText };
}

/**
 * Reads one text frame from a client: a single request or a batch. Never throws; whatever is
 * wrong comes back as the JSON-RPC error the client should get. Limits are the session's
 * already-validated settings.
 */
export function parseClientFrame(text: string, limits: ClientFrameLimits): ParsedFrame {
  if (exceeds(text, limits.maxFrameBytes)) {
    return {
      kind: 'error',
      response: errorResponse(
        null,
        RpcErrorCode.FRAME_TOO_LARGE,
        `Frame too large: the limit is ${limits.maxFrameBytes} bytes`,
        { maxFrameBytes: limits.maxFrameBytes },
      ),
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'error', response: errorResponse(null, RpcErrorCode.PARSE_ERROR, 'Parse error: invalid JSON') };
  }
  if (!Array.isArray(value)) return { kind: 'single', item: parseItem(value, () => rawIdText(text)) };
  if (value.length === 0) {
    return { kind: 'error', response: errorResponse(null, RpcErrorCode.INVALID_REQUEST, 'Invalid request: empty batch') };
  }
  if (value.length > limits.maxBatchSize) {
    return {
      kind: 'error',
      response: errorResponse(
        null,
        RpcErrorCode.INVALID_REQUEST,
        `Invalid request: batch of ${value.length} exceeds the limit of ${limits.maxBatchSize}`,
        { maxBatchSize: limits.maxBatchSize },
      ),
    };
  }
  let rawIds: Array<string | undefined> | undefined;
  return { kind: 'batch', items: value.map((item, index) => parseItem(item, () => (rawIds ??= rawBatchIdTexts(text))[index])) };
}
