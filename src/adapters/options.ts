import type { Clock } from '../Clock.js';
import { SteadyRpcError } from '../errors.js';
import type { HealthCheckerOptions } from '../health/HealthChecker.js';
import { HealthChecker } from '../health/HealthChecker.js';
import type { NodePoolOptions } from '../pool/NodePool.js';
import { NodePool } from '../pool/NodePool.js';
import type { UpstreamSessionOptions } from '../session/SessionOptions.js';
import { UpstreamSession } from '../session/UpstreamSession.js';
import type { FrameLimits } from './frameLimits.js';
import { frameLimits } from './frameLimits.js';

/** Settings of the session an adapter owns (its pool is the adapter's). */
export type AdapterSessionOptions = Omit<UpstreamSessionOptions, 'pool'>;

/**
 * Nodes to build a pool from. Every {@link NodePoolOptions} field applies (`clock`, `httpTransport`,
 * `selector`, `http`); the adapter creates the pool and a {@link HealthChecker} and closes both
 * when it is closed.
 */
export interface ResilientNodesOptions extends NodePoolOptions {
  /** Settings of the health checker the adapter runs over its pool. @default HealthChecker defaults (1 s rounds) */
  health?: HealthCheckerOptions;
  session?: AdapterSessionOptions;
}

/**
 * A pool the caller owns (and keeps health-checked, e.g. with its own {@link HealthChecker}); the
 * adapter neither checks nor closes it.
 */
export interface ResilientPoolOptions {
  pool: NodePool;
  session?: AdapterSessionOptions;
}

/** What every adapter takes: nodes in preference order with their settings, or an existing pool. */
export type ResilientOptions = ResilientNodesOptions | ResilientPoolOptions;

/** The pool, checker and session under one adapter; `close()` releases only what it created. */
export interface Upstream {
  readonly pool: NodePool;
  readonly session: UpstreamSession;
  /** Only when the adapter built the pool from `nodes`. */
  readonly checker: HealthChecker | undefined;
  /** The session's clock (`session.clock`, else the pool's): adapters' own timers run on it. */
  readonly clock: Clock;
  /** The session's `maxFrameBytes` and `maxBatchSize`: a frame past either is refused whole. */
  readonly limits: FrameLimits;
  /** Closes the session, then the checker and the pool if they were created here. Idempotent. */
  close(): void;
}

/** Builds the pool (unless given), its health checker and the session an adapter owns. */
export function openUpstream(options: ResilientOptions): Upstream {
  if (typeof options !== 'object' || options === null) {
    throw new SteadyRpcError('ERR_CONFIG', 'Expected adapter options to be an object with `nodes` or `pool`');
  }
  const hasPool = 'pool' in options && options.pool !== undefined;
  const hasNodes = 'nodes' in options && options.nodes !== undefined;
  if (hasPool === hasNodes) {
    throw new SteadyRpcError('ERR_CONFIG', 'Expected adapter options with either `nodes` or `pool`, not both or neither');
  }
  if (hasPool) {
    const { pool, session } = options as ResilientPoolOptions;
    if (!(pool instanceof NodePool)) throw new SteadyRpcError('ERR_CONFIG', 'Expected `pool` to be a NodePool');
    if (pool.closed) throw new SteadyRpcError('ERR_CLOSED', 'The given NodePool is closed');
    return upstream(pool, new UpstreamSession({ ...session, pool }), undefined, false, session);
  }
  const { health, session, ...poolOptions } = options as ResilientNodesOptions;
  const pool = new NodePool(poolOptions);
  let checker: HealthChecker | undefined;
  try {
    checker = new HealthChecker(pool, health);
    const created = new UpstreamSession({ ...session, pool });
    checker.start();
    return upstream(pool, created, checker, true, session);
  } catch (error) {
    checker?.close();
    pool.close();
    throw error;
  }
}

function upstream(
  pool: NodePool,
  session: UpstreamSession,
  checker: HealthChecker | undefined,
  ownsPool: boolean,
  sessionOptions: AdapterSessionOptions | undefined,
): Upstream {
  let closed = false;
  return Object.freeze({
    pool,
    session,
    checker,
    // The session has validated these options by now.
    clock: sessionOptions?.clock ?? pool.clock,
    limits: frameLimits(sessionOptions),
    close() {
      if (closed) return;
      closed = true;
      session.close();
      checker?.close();
      if (ownsPool) pool.close();
    },
  });
}
