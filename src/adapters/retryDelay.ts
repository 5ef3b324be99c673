import { ExponentialBackoff } from '../backoff/ExponentialBackoff.js';
import { RpcErrorCode } from '../jsonrpc.js';

/**
 * How an adapter waits before asking again for something it needs (a chain id, ethers' own
 * subscription): 500 ms doubling to 30 s, without jitter (one client's own retries, not a crowd's).
 */
export const ADAPTER_RETRY = new ExponentialBackoff({ initialDelayMs: 500, maxDelayMs: 30_000, jitter: 0 });

/** The delay of `backoff` (it has no jitter, so no randomness is drawn). */
export const retryDelay = (backoff: ExponentialBackoff): number => backoff.delay(() => 0.5);

/** steadyrpc's own answers (see docs/reference.md), not a node's: its codes, and LIMIT_EXCEEDED with its `data`. */
export function isSessionError<E extends { code?: unknown; data?: unknown }>(error: E | undefined): error is E & { code: number } {
  if (typeof error !== 'object' || error === null) return false;
  const { code, data } = error;
  if (typeof code === 'number' && code <= RpcErrorCode.UPSTREAM_UNAVAILABLE && code >= RpcErrorCode.BEHIND) return true;
  if (code !== RpcErrorCode.LIMIT_EXCEEDED || typeof data !== 'object' || data === null) return false;
  const { limit, max } = data as { limit?: unknown; max?: unknown };
  return (limit === 'maxInFlight' || limit === 'maxSubscriptions') && typeof max === 'number';
}

/** A steadyrpc answer that may not hold next time (all but FRAME_TOO_LARGE): an adapter asks its own requests again. */
export function isRetryable(error: { code?: unknown; data?: unknown } | undefined): boolean {
  return isSessionError(error) && error.code !== RpcErrorCode.FRAME_TOO_LARGE;
}
