import { ExponentialBackoff } from '../backoff/ExponentialBackoff.js';

/**
 * How an adapter waits before asking again for something it needs (a chain id, ethers' own
 * subscription): 500 ms doubling to 30 s, without jitter (one client's own retries, not a crowd's).
 */
export const ADAPTER_RETRY = new ExponentialBackoff({ initialDelayMs: 500, maxDelayMs: 30_000, jitter: 0 });

/** The delay of `backoff` (it has no jitter, so no randomness is drawn). */
export const retryDelay = (backoff: ExponentialBackoff): number => backoff.delay(() => 0.5);
