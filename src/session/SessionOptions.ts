import type { ExponentialBackoffOptions } from '../backoff/ExponentialBackoff.js';
import { ExponentialBackoff } from '../backoff/ExponentialBackoff.js';
import type { Clock } from '../Clock.js';
import type { Environment } from '../environment/Environment.js';
import { isEnvironment } from '../environment/Environment.js';
import { SteadyRpcError } from '../errors.js';
import type { NodePool } from '../pool/NodePool.js';
import type { Random } from '../random.js';
import type { SocketTransport } from '../transport/SocketTransport.js';
import type { ContinuitySettings } from './ContinuityKeeper.js';
import { CONTINUITY_DEFAULTS } from './ContinuityKeeper.js';
import type { RepeatablePredicate } from './repeatable.js';
import type { ConsistencySettings } from '../consistency/settings.js';
import { consistencySettings } from '../consistency/settings.js';
import { MessageQueue } from './MessageQueue.js';
import type { PendingCall } from './PendingCall.js';

export interface UpstreamSessionOptions {
  /** Chooses the node; the session follows its `switch` events. */
  pool: NodePool;
  /** Opens upstream sockets. @default defaultSocketTransport(): ws on Node, the platform's WebSocket elsewhere */
  transport?: SocketTransport;
  /** @default the pool's clock */
  clock?: Clock;
  /** Jitter source for the reconnect backoff and the replay retries. @default Math.random */
  random?: Random;
  /**
   * Network and visibility events. Offline: the session's own reconnect and failback attempts wait,
   * and the backoff stops growing, until the device is online again (a socket in use is kept). Online: the backoff starts over and
   * it reconnects at once. Page visible again: the upstream is checked at once with a keepalive
   * call. Pass `staticEnvironment` to opt out in a page; `FakeEnvironment` in tests.
   * @default browserEnvironment(): the page's events in browsers and workers, none elsewhere
   */
  environment?: Environment;
  /** Deadline for a socket to open, in ms; past it the next node is tried. @default 5_000 */
  connectTimeoutMs?: number;
  /**
   * Idle time after which a keepalive call (`keepaliveMethod`) is sent, in ms. Any frame from the
   * upstream counts as a sign of life.
   * @default 2_000
   */
  keepaliveIntervalMs?: number;
  /**
   * Deadline for the keepalive answer, in ms. A silent ("zombie") upstream is detected within
   * `keepaliveIntervalMs` + `keepaliveTimeoutMs` of its last frame (6 s with the defaults).
   * @default 4_000
   */
  keepaliveTimeoutMs?: number;
  /** A cheap JSON-RPC method every node answers. @default 'eth_chainId' */
  keepaliveMethod?: string;
  /** Deadline for an answer to a client call in flight, in ms; then the client gets REQUEST_TIMEOUT. @default 30_000 */
  requestTimeoutMs?: number;
  /** Deadline for the answer to one subscription replay, in ms. @default 5_000 */
  replayTimeoutMs?: number;
  /** How long a socket that was left for a better one may keep delivering answers it owes, in ms. @default 5_000 */
  drainTimeoutMs?: number;
  /** Backoff between rounds when every node failed. @default 250 ms doubling to 30 s, ±20 % jitter */
  backoff?: ExponentialBackoffOptions;
  /** Uptime after which a socket counts as stable and the backoff starts over, in ms (at once for a socket closed by an answer too large for it). @default 10_000 */
  stableAfterMs?: number;
  /**
   * How long a node that refused us (close 4401/1008/1003, upgrade 401/403) is kept out of use, in ms.
   * @default 60_000
   */
  authQuarantineMs?: number;
  /**
   * While on a node the pool does not prefer (it failed before the pool noticed), how soon to try
   * the preferred one again, in ms; doubled after each attempt that does not last, at most 60 s.
   * Attempts are make-before-break: traffic keeps flowing meanwhile.
   * @default 1_000
   */
  failbackRetryMs?: number;
  /** Bounds for client messages that arrive while no upstream is ready. */
  queue?: {
    /** @default 1_000 */
    maxCount?: number;
    /** Bytes. @default 4 MiB */
    maxBytes?: number;
    /** How long a queued call may wait before the client gets REQUEST_TIMEOUT, in ms. @default 10_000 */
    maxWaitMs?: number;
  };
  /** Largest client frame accepted, in bytes. @default 5 MiB */
  maxFrameBytes?: number;
  /** Most calls in one client batch. @default 1_000 */
  maxBatchSize?: number;
  /**
   * Most calls the client may have sent and not yet had the answer to (queued, sent upstream,
   * waiting for a node to catch up, or answered inside a batch not yet complete; notifications
   * without an id do not count). A call past it is answered at once with `LIMIT_EXCEEDED`
   * (-32005, `data: { limit: 'maxInFlight', max }`), per item in a batch; the connection stays.
   * @default 4_096
   */
  maxInFlight?: number;
  /**
   * Most subscriptions the client may hold, counting the `eth_subscribe` calls it is waiting on
   * (nodes allow about as many per connection). A subscribe past it is answered with
   * `LIMIT_EXCEEDED` (`data: { limit: 'maxSubscriptions', max }`).
   * @default 1_024
   */
  maxSubscriptions?: number;
  /** Which methods are safe to send again after the upstream died with them in flight. @default isRepeatable */
  isRepeatable?: RepeatablePredicate;
  /**
   * Gap-free, duplicate-free `newHeads` and `logs` across switches: duplicates (same block hash;
   * same blockHash + logIndex) are dropped, and after a switch what the client missed is fetched
   * from the new node (`eth_getBlockByNumber` / `eth_getLogs`) and delivered first, in order.
   * @default { newHeads: true, logs: true, maxBackfillBlocks: 128, dedupeWindow: 256, reorgDepth: 64, maxRetainedBytes: 2 MiB }
   */
  continuity?: Partial<ContinuitySettings>;
  /**
   * The client's view of the chain only moves forward: `eth_blockNumber` never decreases, and a
   * block, transaction, receipt or log it was given is never answered as missing because the node
   * is behind; such a read waits for the node to catch up, or gets `BEHIND` (-32055).
   * @default { monotonic: true, waitMs: 5_000, pollMs: 250 }
   */
  consistency?: Partial<ConsistencySettings>;
}

/** Applies the continuity defaults and validates them. */
export function continuitySettings(options: Partial<ContinuitySettings> = {}): ContinuitySettings {
  const settings = { ...CONTINUITY_DEFAULTS, ...options };
  for (const key of ['newHeads', 'logs'] as const) {
    if (typeof settings[key] !== 'boolean') {
      throw new SteadyRpcError('ERR_CONFIG', `Expected continuity.${key} to be a boolean, got ${String(settings[key])}`);
    }
  }
  for (const key of ['maxBackfillBlocks', 'dedupeWindow', 'reorgDepth', 'maxRetainedBytes'] as const) {
    if (!Number.isInteger(settings[key]) || settings[key] < 1) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected continuity.${key} to be an integer >= 1, got ${String(settings[key])}`);
    }
  }
  return Object.freeze(settings);
}

export const SESSION_DEFAULTS: Readonly<{
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveTimeoutMs: number;
  keepaliveMethod: string;
  requestTimeoutMs: number;
  replayTimeoutMs: number;
  drainTimeoutMs: number;
  stableAfterMs: number;
  authQuarantineMs: number;
  failbackRetryMs: number;
  maxFrameBytes: number;
  maxBatchSize: number;
  maxInFlight: number;
  maxSubscriptions: number;
}> = Object.freeze({
  connectTimeoutMs: 5_000,
  keepaliveIntervalMs: 2_000,
  keepaliveTimeoutMs: 4_000,
  keepaliveMethod: 'eth_chainId',
  requestTimeoutMs: 30_000,
  replayTimeoutMs: 5_000,
  drainTimeoutMs: 5_000,
  stableAfterMs: 10_000,
  authQuarantineMs: 60_000,
  failbackRetryMs: 1_000,
  maxFrameBytes: 5 * 1024 * 1024,
  maxBatchSize: 1_000,
  maxInFlight: 4_096,
  maxSubscriptions: 1_024,
});

/** Settings that count things, validated as integers. */
const COUNTS: ReadonlySet<string> = new Set(['maxInFlight', 'maxSubscriptions']);

export type SessionSettings = typeof SESSION_DEFAULTS;

/** Applies defaults and validates the numeric settings, with precise messages. */
export function sessionSettings(options: Omit<UpstreamSessionOptions, 'pool'>): SessionSettings {
  const settings = { ...SESSION_DEFAULTS };
  for (const key of Object.keys(SESSION_DEFAULTS) as Array<keyof SessionSettings>) {
    const value = options[key];
    if (value !== undefined) (settings as Record<string, unknown>)[key] = value;
  }
  for (const [key, value] of Object.entries(settings)) {
    if (key === 'keepaliveMethod') {
      if (typeof value !== 'string' || value === '') {
        throw new SteadyRpcError('ERR_CONFIG', `Expected keepaliveMethod to be a non-empty string, got ${JSON.stringify(value)}`);
      }
    } else if (COUNTS.has(key)) {
      if (!Number.isSafeInteger(value) || (value as number) < 1) {
        throw new SteadyRpcError('ERR_CONFIG', `Expected ${key} to be an integer >= 1, got ${String(value)}`);
      }
    } else if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected ${key} to be a finite number > 0, got ${String(value)}`);
    }
  }
  return Object.freeze(settings);
}

export function checkEnvironment(environment: unknown): void {
  if (!isEnvironment(environment)) {
    throw new SteadyRpcError('ERR_CONFIG', 'Expected environment to be an Environment (online, onOnline, onOffline, onVisible)');
  }
}

/**
 * What a session's options configure, validated: the one place that checks them, for the
 * constructor and `UpstreamSession.checkOptions` alike, in the order bad options were always
 * reported (the numeric settings, `backoff`, `queue`, `consistency`, `continuity`).
 */
export function configured(options: Omit<UpstreamSessionOptions, 'pool'>, clock: Clock, onExpire: (expired: PendingCall[]) => void) {
  const settings = sessionSettings(options);
  const backoff = new ExponentialBackoff(options.backoff);
  const queue = new MessageQueue<PendingCall>({ ...options.queue, clock }, onExpire);
  const consistency = consistencySettings(options.consistency);
  const continuity = continuitySettings(options.continuity);
  return { settings, backoff, queue, consistency, continuity };
}
