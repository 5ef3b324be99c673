import type { CircuitState } from './CircuitBreaker.js';

export type NodeStatus = 'unknown' | 'healthy' | 'unhealthy';

/** What the pool knows about one node's health. Written by the HealthChecker (and sessions). */
export interface NodeHealth {
  /** `unknown` until the hysteresis decides; `unknown` never counts as healthy. */
  status: NodeStatus;
  /** Latest head block number (or slot, for custom probes), if ever read. Kept when probes fail. */
  head: number | undefined;
  /** Clock time `head` was read. */
  headAt: number | undefined;
  /** Blocks behind the best head seen among nodes when last probed. */
  lag: number | undefined;
  /** Round-trip time of the last successful probe, in ms. */
  latencyMs: number | undefined;
  /** Why the last probe failed, without credentials. */
  lastError: string | undefined;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
  /**
   * The node's chain id as last read: once per healthy stretch, and at every probe while it is on
   * another chain. Kept while the node is down, so it still counts towards the expected chain.
   */
  chainId: number | undefined;
  /**
   * The node is known to be on another chain than the expected one (the HealthChecker's `chainId`,
   * or the chain most nodes report): it is unhealthy, and never a candidate for traffic, not even
   * when no node is usable. Set and cleared by the HealthChecker.
   */
  wrongChain: boolean;
  /** Clock time of the last probe result. */
  checkedAt: number | undefined;
  /** Clock time until which the node is excluded (auth/policy refusal), if any. */
  quarantinedUntil: number | undefined;
  /**
   * Clock time until which the node takes no new request after answering with a rate limit (HTTP
   * 429, or a JSON-RPC rate-limit error), if it ever did. Written by the pool's requests and sessions.
   */
  rateLimitedUntil: number | undefined;
  /** The node's circuit breaker, fed by the outcome of `request()` attempts (see `breaker`). */
  circuit: CircuitState;
  /** While the circuit is `open`: when it lets a trial request through. */
  circuitOpenUntil: number | undefined;
}

export const initialHealth = (): NodeHealth => ({
  status: 'unknown',
  head: undefined,
  headAt: undefined,
  lag: undefined,
  latencyMs: undefined,
  lastError: undefined,
  consecutiveSuccesses: 0,
  consecutiveFailures: 0,
  chainId: undefined,
  wrongChain: false,
  checkedAt: undefined,
  quarantinedUntil: undefined,
  rateLimitedUntil: undefined,
  circuit: 'closed',
  circuitOpenUntil: undefined,
});
