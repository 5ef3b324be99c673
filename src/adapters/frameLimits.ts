import type { JsonRpcErrorObject } from '../jsonrpc.js';
import { RpcErrorCode } from '../jsonrpc.js';
import { SESSION_DEFAULTS } from '../session/SessionOptions.js';

/**
 * The two limits past which an {@link UpstreamSession} refuses a client frame as a whole: it
 * answers such a frame with one error whose `id` is null (`FRAME_TOO_LARGE` -32054 past
 * `maxFrameBytes`, `INVALID_REQUEST` -32600 for a batch past `maxBatchSize`), which no call of it
 * can be matched to. The adapters therefore never build such a frame.
 */
export interface FrameLimits {
  /** Largest frame the session reads, in UTF-8 bytes. */
  readonly maxFrameBytes: number;
  /** Most calls in one batch frame. */
  readonly maxBatchSize: number;
}

/** The limits of a session built with these options (the session validates them). */
export function frameLimits(options: { maxFrameBytes?: number; maxBatchSize?: number } = {}): FrameLimits {
  return Object.freeze({
    maxFrameBytes: options.maxFrameBytes ?? SESSION_DEFAULTS.maxFrameBytes,
    maxBatchSize: options.maxBatchSize ?? SESSION_DEFAULTS.maxBatchSize,
  });
}

/** The answer to one call too large for a frame of its own: the session's own refusal, by id. */
export function frameTooLarge(method: string, bytes: number, maxFrameBytes: number): JsonRpcErrorObject {
  return {
    code: RpcErrorCode.FRAME_TOO_LARGE,
    message: `Frame too large: this ${method} call is ${bytes} bytes, over the session's limit of ${maxFrameBytes} bytes (session.maxFrameBytes); it was not sent`,
    data: { maxFrameBytes, bytes },
  };
}

/**
 * Whether `value` (one parsed frame from the session) is the answer to a frame refused as a whole:
 * an error with `id: null`. Read while a frame is handed to `session.send`, which answers such a
 * frame before it returns, it is the answer to that frame.
 */
export function isFrameRefusal(value: unknown): value is { id: null; error: JsonRpcErrorObject } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const v = value as { id?: unknown; error?: unknown };
  return v.id === null && typeof v.error === 'object' && v.error !== null;
}
