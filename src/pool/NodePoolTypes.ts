/**
 * The types of a {@link NodePool}'s options, events and snapshots (its behaviour is in NodePool.ts).
 */
import type { Clock } from '../Clock.js';
import type { ConsistencySettings } from '../consistency/settings.js';
import type { RepeatablePredicate } from '../session/repeatable.js';
import type { HttpTransport } from '../transport/HttpTransport.js';
import type { CircuitBreakerOptions, CircuitState } from './CircuitBreaker.js';
import type { ConnectLimitOptions } from './ConnectLimiter.js';
import type { HedgeEvent } from './HedgedSend.js';
import type { HedgeOptions } from './HedgePolicy.js';
import type { HttpDispatcherOptions } from './HttpDispatcher.js';
import type { NodeConfig, NodeTier } from './NodeConfig.js';
import type { NodeHealth, NodeStatus } from './NodeHealth.js';
import type { NodeErrorClassifier } from './nodeErrors.js';
import type { CircuitEvent, RateLimitEvent } from './PassiveHealth.js';
import type { RateLimitOptions } from './RateLimitCooldown.js';
import type { NodeSelector } from './selection.js';

export type SwitchReason =
  /** The first choice after start. */
  | 'initial'
  /** The node in use stopped being healthy (or was quarantined). */
  | 'unhealthy'
  /** A better node that had been down is healthy again (failback), or service is back after an outage. */
  | 'recovered'
  /** A better node became usable without having been down (e.g. its first health check passed). */
  | 'better-available';

export interface SwitchEvent {
  /** The node used until now; `undefined` if none was usable. */
  from: string | undefined;
  /** The node to use from now on; `undefined` if none is usable. */
  to: string | undefined;
  reason: SwitchReason;
}

export interface HealthEvent {
  name: string;
  previous: NodeStatus;
  health: Readonly<NodeHealth>;
}

export interface NodePoolEvents {
  /** The preferred node changed. Emitted after the pool's state is consistent. */
  switch: [event: SwitchEvent];
  /** A node's health record was updated. */
  health: [event: HealthEvent];
  /** A node answered with a rate limit and cools down (after its `health` event). */
  rateLimited: [event: RateLimitEvent];
  /** A node's circuit breaker changed state (after its `health` event). */
  circuit: [event: CircuitEvent];
  /** A hedged read is over: an extra copy of it went to `name` (see `hedge`); `won` if its answer was used. */
  hedged: [event: HedgeEvent];
  closed: [];
}

/** A read-only view of one node for status pages, metrics and custom selectors. */
export interface NodeSnapshot extends Readonly<NodeHealth> {
  readonly name: string;
  readonly tier: NodeTier;
  readonly weight: number;
  /** Static URLs with credentials removed. */
  readonly http: string | undefined;
  readonly ws: string | undefined;
  readonly quarantined: boolean;
  /** Cooling down after a rate limit: new requests go to other nodes. */
  readonly rateLimited: boolean;
  /** The circuit as of now: an `open` one whose time is up reads `half-open`. */
  readonly circuit: CircuitState;
  readonly preferred: boolean;
}

export interface PoolSnapshot {
  readonly preferred: string | undefined;
  /** Highest head among nodes that have reported one. */
  readonly bestHead: number | undefined;
  readonly nodes: readonly NodeSnapshot[];
}

export interface NodePoolOptions {
  /** The nodes; primaries are preferred in the order given, then backups in the order given. */
  nodes: readonly NodeConfig[];
  /** @default systemClock */
  clock?: Clock;
  /**
   * Used by `request()` and by HTTP health probes; one made by the pool is closed with it.
   * @default defaultHttpTransport(): `NodeHttpTransport` in Node, `FetchHttpTransport` in Bun, Deno and browsers
   */
  httpTransport?: HttpTransport;
  /** Chooses the node to use. @default first healthy node in preference order */
  selector?: NodeSelector;
  /** Settings for `request()`. */
  http?: HttpDispatcherOptions;
  /**
   * Pace of new upstream sockets per node, shared by every session on this pool, so a failover of
   * thousands of sessions does not hit the next node all in the same instant.
   * @default { burst: 100, perSecond: 1_000 }
   */
  connectLimit?: ConnectLimitOptions;
  /**
   * Moving back to a better node waits until that node's head has caught up with the node in use
   * (as the health probes report them), so neither `request()` nor the sessions following the pool
   * see the chain go back on failback. Off: the better node is chosen as soon as it is usable.
   * @default true
   */
  failbackCatchUp?: boolean;
  /**
   * `request()` holds its answers to the chain it has already served (see docs/guides/consistency.md):
   * a read a node behind that cannot serve goes to another node, or waits, or gets `BEHIND` (-32055).
   * @default { monotonic: true, waitMs: 5_000, pollMs: 250 }
   */
  consistency?: Partial<ConsistencySettings>;
  /**
   * Which methods `request()` may send to another node after an attempt that may have reached the
   * first one (a timeout, a 5xx, a connection broken after sending). A request (or a batch holding
   * one) that is not is answered with `NOT_RESENT` (-32053) instead, unless the failure proves the
   * node never got it (connection refused, name not found). The same rule as the sessions'.
   * @default isRepeatable
   */
  isRepeatable?: RepeatablePredicate;
  /**
   * What a node's JSON-RPC error means for `request()`: `answer` (returned as is), `retry` (this node
   * cannot serve it: a read safe to repeat goes to the next node) or `rate-limited` (the node also
   * cools down). Sessions use it to notice rate limits too. Extend the default rather than replace it.
   * @default classifyNodeError
   */
  classifyError?: NodeErrorClassifier;
  /**
   * How long a node that answered with a rate limit (HTTP 429, or an error `classifyError` calls
   * `rate-limited`) takes no new request: its `Retry-After` (or Infura's `backoff_seconds`), else a
   * backoff from `cooldownMs`, doubling, up to `maxCooldownMs`.
   * @default { cooldownMs: 1_000, maxCooldownMs: 60_000 }
   */
  rateLimit?: RateLimitOptions;
  /**
   * The circuit breaker each node has between health probes: after `failures` failed `request()`
   * attempts in a row (no answer in time, connection refused or broken, HTTP 5xx, garbage), the
   * node takes no request for `openMs` (doubling while trials fail, up to `maxOpenMs`) while
   * another node can take it, then one trial request; an answer closes it, and so does the health
   * probes bringing the node back (down, then healthy). `false`: no breaker.
   * @default { failures: 3, openMs: 30_000, maxOpenMs: 300_000 }
   */
  breaker?: CircuitBreakerOptions | false;
  /**
   * Hedged reads for `request()`: when the node a read went to has not answered after `delayMs`
   * (or, with `percentile`, that node's own latency percentile), the same read also goes to the
   * next node that takes requests; the first answer wins and the other attempt is aborted. At most
   * `maxExtra` copies, within `http.maxAttempts`. Only plain reads (a fixed list of read methods,
   * and `methods`; each also `isRepeatable`): a write, transaction, filter, subscription, trace or
   * unknown method is never hedged.
   * `false` or absent: off (each hedge costs the second node a request).
   * @default false
   */
  hedge?: HedgeOptions | false;
}
