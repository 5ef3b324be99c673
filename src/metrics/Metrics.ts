import type { HealthChecker } from '../health/HealthChecker.js';
import type { NodePool } from '../pool/NodePool.js';
import type { ServedSocket } from '../server/ServedSocket.js';
import type { UpstreamSession } from '../session/UpstreamSession.js';
import type { Labels, MetricFamily } from './prometheus.js';
import { CounterFamily, HistogramFamily, renderPrometheus } from './prometheus.js';

/** Reads a gauge's samples at render time. */
export type GaugeReader = () => number | ReadonlyArray<readonly [labels: Labels, value: number]>;

export interface MetricsOptions {
  /** Prefix for every metric name. @default 'steadyrpc_' */
  prefix?: string;
}

type Dispose = () => void;

/**
 * Buckets of the connection-duration histograms, in seconds: 1 s to a day, so both a flapping
 * socket and the hours a healthy one stays up fall in their own buckets.
 */
export const CONNECTION_DURATION_BUCKETS: readonly number[] = Object.freeze([1, 5, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400]);

const STATUS_VALUE = { unknown: -1, unhealthy: 0, healthy: 1 } as const;
const CIRCUIT_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

/**
 * Counters and gauges from the events of pools, health checkers and sessions, rendered as
 * Prometheus text. Needs no metrics library; `families()` gives the same data structured, to feed
 * prom-client or another registry (see docs/metrics.md).
 */
export class Metrics {
  readonly #prefix: string;
  readonly #counters = new Map<string, CounterFamily>();
  readonly #histograms = new Map<string, HistogramFamily>();
  /** Read at render time: gauges, and counters whose totals are kept elsewhere. */
  readonly #read = new Map<string, { help: string; read: GaugeReader; type: 'gauge' | 'counter' }>();
  readonly #pools = new Set<NodePool>();
  readonly #sessions = new Set<UpstreamSession>();
  readonly #served = new Set<ServedSocket>();

  constructor(options: MetricsOptions = {}) {
    this.#prefix = options.prefix ?? 'steadyrpc_';
    this.addGauge('node_up', 'Node health: 1 healthy, 0 unhealthy, -1 unknown.', () => this.#perNode((n) => STATUS_VALUE[n.status]));
    this.addGauge('node_head_block', 'Latest head block reported by the node.', () => this.#perNode((n) => n.head));
    this.addGauge('node_lag_blocks', 'Blocks behind the best head among nodes.', () => this.#perNode((n) => n.lag));
    this.addGauge('node_latency_ms', 'Round-trip time of the last good probe, in ms.', () => this.#perNode((n) => n.latencyMs));
    this.addGauge('node_preferred', '1 for the node the pool prefers now.', () => this.#perNode((n) => (n.preferred ? 1 : 0)));
    this.addGauge('node_quarantined', '1 while the node is kept out after refusing us.', () => this.#perNode((n) => (n.quarantined ? 1 : 0)));
    this.addGauge('node_rate_limited', '1 while the node cools down after a rate limit: new requests go elsewhere.', () => this.#perNode((n) => (n.rateLimited ? 1 : 0)));
    this.addGauge('node_circuit_state', "The node's circuit breaker: 0 closed, 1 half-open, 2 open.", () => this.#perNode((n) => CIRCUIT_VALUE[n.circuit]));
    this.addGauge('sessions', 'Open sessions by upstream node and state.', () => this.#sessionGauge());
    this.addGauge('session_subscriptions', 'Client subscriptions held by open sessions.', () => this.#sum((s) => s.subscriptions));
    this.addGauge('session_queue_depth', 'Client messages queued while reconnecting, over all sessions.', () => this.#sum((s) => s.queued));
    this.addGauge('session_inflight_requests', 'Client requests in flight upstream, over all sessions.', () => this.#sum((s) => s.inFlight));
    this.addGauge('session_duplicates_suppressed', 'Duplicate heads and logs dropped by open sessions.', () => this.#sum((s) => s.duplicatesSuppressed));
    this.addGauge('session_retained_log_bytes', 'Bytes of delivered logs open sessions keep to retract them on a fork.', () => this.#sum((s) => s.retainedBytes));
  }

  /** Registers a gauge read at render time (e.g. the host's client connection count). */
  addGauge(name: string, help: string, read: GaugeReader): void {
    this.#read.set(this.#prefix + name, { help, read, type: 'gauge' });
  }

  /**
   * Registers a counter read at render time: a total kept elsewhere that only grows (e.g. a
   * `SharedSocketTransport`'s `stats().isolated`). Name it with `_total`.
   */
  addCounter(name: string, help: string, read: GaugeReader): void {
    this.#read.set(this.#prefix + name, { help, read, type: 'counter' });
  }

  /** A counter, created on first use. */
  counter(name: string, help: string): CounterFamily {
    const full = this.#prefix + name;
    let counter = this.#counters.get(full);
    if (!counter) this.#counters.set(full, (counter = new CounterFamily(full, help)));
    return counter;
  }

  /** A histogram, created on first use (`buckets`: upper bounds; those of the first call stay). */
  histogram(name: string, help: string, buckets: readonly number[]): HistogramFamily {
    const full = this.#prefix + name;
    let histogram = this.#histograms.get(full);
    if (!histogram) this.#histograms.set(full, (histogram = new HistogramFamily(full, help, buckets)));
    return histogram;
  }

  trackPool(pool: NodePool): Dispose {
    const switches = this.counter('pool_switches_total', 'Changes of the preferred node, by reason.');
    const rateLimits = this.counter('node_rate_limits_total', 'Rate limits that started or lengthened a cool-down, by node and source (http-status, rpc-error).');
    const opens = this.counter('node_circuit_opens_total', 'Circuit breakers opened (failed attempts in a row, or a failed trial), by node.');
    const hedges = this.counter('http_hedges_total', 'Extra copies of slow reads sent to another node (hedge), by that node and outcome: won (its answer was used) or lost (aborted or failed).');
    const onSwitch = ({ from, to, reason }: { from?: string; to?: string; reason: string }) =>
      switches.inc({ from: from ?? '', to: to ?? '', reason });
    const onRateLimited = ({ name, source }: { name: string; source: string }) => rateLimits.inc({ node: name, source });
    const onCircuit = ({ name, to }: { name: string; to: string }) => {
      if (to === 'open') opens.inc({ node: name });
    };
    const onHedged = ({ name, won }: { name: string; won: boolean }) => hedges.inc({ node: name, outcome: won ? 'won' : 'lost' });
    this.#pools.add(pool);
    pool.on('switch', onSwitch);
    pool.on('rateLimited', onRateLimited);
    pool.on('circuit', onCircuit);
    pool.on('hedged', onHedged);
    return () => {
      this.#pools.delete(pool);
      pool.off('switch', onSwitch);
      pool.off('rateLimited', onRateLimited);
      pool.off('circuit', onCircuit);
      pool.off('hedged', onHedged);
    };
  }

  trackHealth(checker: HealthChecker): Dispose {
    const probes = this.counter('probes_total', 'Health probes, by node and result.');
    const onProbe = ({ name, ok, error, rateLimited }: { name: string; ok: boolean; error?: { code: string }; rateLimited?: true }) =>
      probes.inc({ node: name, result: ok ? 'ok' : rateLimited ? 'rate-limited' : (error?.code ?? 'error') });
    checker.on('probe', onProbe);
    return () => checker.off('probe', onProbe);
  }

  /** Counts a session's events until it closes (or the returned function is called). */
  trackSession(session: UpstreamSession): Dispose {
    const c = {
      switches: this.counter('session_switches_total', 'Sessions moving to another upstream, by reason.'),
      reconnects: this.counter('session_reconnect_rounds_total', 'Times a session found every node failing and backed off.'),
      replays: this.counter('session_replays_total', 'Subscription replays on a new upstream, by node and result.'),
      closes: this.counter('upstream_closes_total', 'Upstream sockets closed, by node and close code.'),
      inflight: this.counter('session_inflight_rehomed_total', 'Calls in flight on a socket that went away: resent or failed.'),
      apart: this.counter(
        'session_calls_apart_total',
        'Calls sent again on a socket of their own after an answer too large failed the socket they were on (sent); of those, answered FRAME_TOO_LARGE as their answer failed that one too (too-large).',
      ),
      errors: this.counter('session_errors_total', 'Problems a session handled, by error code.'),
      overflows: this.counter('session_queue_overflows_total', 'Client messages refused because the queue was full: calls answered QUEUE_FULL, notifications dropped.'),
      opened: this.counter('sessions_opened_total', 'Sessions opened.'),
      backfill: this.counter('session_backfill_total', 'Heads and logs fetched after a switch and delivered; gaps skipped; backfills failed.'),
      reorgs: this.counter('session_reorgs_total', 'Switches that found the new node on another branch, announced as reorgs; deep: the fork reached below the kept history.'),
      behind: this.counter('session_behind_reads_total', 'Client reads answered by a node behind what the client had seen: held for a node that caught up, or failed with BEHIND.'),
      limits: this.counter('session_limit_rejections_total', 'Client calls refused with LIMIT_EXCEEDED, by cap (maxInFlight, maxSubscriptions).'),
      durations: this.histogram(
        'upstream_connection_duration_seconds',
        'How long upstream sockets had been open when the node or the network closed them, by node (short ones: a flapping node or path).',
        CONNECTION_DURATION_BUCKETS,
      ),
    };
    c.opened.inc();
    let overflows = 0;
    const handlers = {
      switch: ({ to, reason }: { to: string; reason: string }) => c.switches.inc({ to, reason }),
      reconnecting: () => c.reconnects.inc(),
      replay: ({ node, ok }: { node: string; ok: boolean }) => c.replays.inc({ node, result: ok ? 'ok' : 'failed' }),
      upstreamClose: ({ node, code, openMs }: { node: string; code: number; openMs?: number }) => {
        c.closes.inc({ node, code: String(code) });
        if (openMs !== undefined) c.durations.observe({ node }, openMs / 1000);
      },
      inflight: ({ node, resent, failed }: { node: string; resent: number; failed: number }) => {
        if (resent > 0) c.inflight.inc({ node, outcome: 'resent' }, resent);
        if (failed > 0) c.inflight.inc({ node, outcome: 'failed' }, failed);
      },
      apart: ({ node, outcome }: { node: string; outcome: string }) => c.apart.inc({ node, outcome }),
      error: ({ code }: { code: string }) => c.errors.inc({ code }),
      backfill: ({ node, delivered, skipped, error }: { node: string; delivered: number; skipped: boolean; error?: unknown }) => {
        if (delivered > 0) c.backfill.inc({ node, outcome: 'delivered' }, delivered);
        if (skipped) c.backfill.inc({ node, outcome: 'skipped' });
        if (error) c.backfill.inc({ node, outcome: 'failed' });
      },
      reorg: ({ from, to, deep }: { from?: string; to: string; deep: boolean }) => c.reorgs.inc({ from: from ?? '', to, deep: String(deep) }),
      behind: ({ node, outcome }: { node: string; outcome: string }) => c.behind.inc({ node, outcome }),
      limit: ({ limit }: { limit: string }) => c.limits.inc({ limit }),
      queue: () => {
        const now = session.stats().queueOverflows;
        if (now > overflows) c.overflows.inc({}, now - overflows);
        overflows = now;
      },
    };
    this.#sessions.add(session);
    for (const [event, handler] of Object.entries(handlers)) session.on(event as 'switch', handler as never);
    const dispose = () => {
      this.#sessions.delete(session);
      for (const [event, handler] of Object.entries(handlers)) session.off(event as 'switch', handler as never);
    };
    session.once('closed', dispose);
    return dispose;
  }

  /**
   * Counts how a client socket served by `serveSocket` ends (slow readers closed with 1013, ping
   * timeouts, drains) and gauges the bytes queued for open ones, until it closes (or the returned
   * function is called). Its session is tracked separately, with {@link trackSession}.
   */
  trackServedSocket(served: ServedSocket): Dispose {
    const c = {
      closes: this.counter('client_closes_total', 'Served client sockets closed, by cause.'),
      slowReaders: this.counter('client_slow_reader_closes_total', 'Client sockets closed with 1013 because more than maxBufferedBytes was queued for them.'),
      pingTimeouts: this.counter('client_ping_timeouts_total', 'Client sockets terminated after answering no ping for a whole interval.'),
      drains: this.counter('client_drains_total', 'Client sockets closed with 1012 by drain(), by outcome (answered: nothing owed; deadline).'),
      durations: this.histogram('client_connection_duration_seconds', 'How long served client sockets stayed connected, observed as they close.', CONNECTION_DURATION_BUCKETS),
    };
    // From zero, so rate() and increase() see the first one.
    c.slowReaders.inc({}, 0);
    c.pingTimeouts.inc({}, 0);
    this.addGauge('client_buffered_bytes', 'Bytes queued for served client sockets, not yet taken by the kernel.', () => {
      let total = 0;
      for (const socket of this.#served) total += socket.bufferedAmount;
      return total;
    });
    this.#served.add(served);
    let tracking = true;
    const dispose = () => {
      tracking = false;
      this.#served.delete(served);
    };
    void served.closed.then(({ cause, openMs }) => {
      if (!tracking) return;
      dispose();
      c.closes.inc({ cause });
      c.durations.observe({}, openMs / 1000);
      if (cause === 'slow-reader') c.slowReaders.inc();
      if (cause === 'ping-timeout') c.pingTimeouts.inc();
      if (cause === 'drained') c.drains.inc({ outcome: 'answered' });
      if (cause === 'drain-deadline') c.drains.inc({ outcome: 'deadline' });
    });
    return dispose;
  }

  families(): MetricFamily[] {
    const read = [...this.#read].map(([name, { help, read, type }]): MetricFamily => {
      const value = read();
      return { name, help, type, samples: typeof value === 'number' ? [[{}, value]] : value };
    });
    return [...read, ...[...this.#counters.values(), ...this.#histograms.values()].map((family) => family.family())];
  }

  /** The Prometheus text exposition of every metric. */
  render(): string {
    return renderPrometheus(this.families());
  }

  #perNode(read: (node: ReturnType<NodePool['snapshot']>['nodes'][number]) => number | undefined) {
    const samples: Array<readonly [Labels, number]> = [];
    for (const pool of this.#pools) {
      for (const node of pool.snapshot().nodes) {
        const value = read(node);
        if (value !== undefined) samples.push([{ node: node.name, tier: node.tier }, value]);
      }
    }
    return samples;
  }

  #sessionGauge() {
    const counts = new Map<string, number>();
    for (const session of this.#sessions) {
      const key = JSON.stringify([session.node ?? '', session.state]);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return [...counts].map(([key, value]) => {
      const [node, state] = JSON.parse(key) as [string, string];
      return [{ node, state }, value] as const;
    });
  }

  #sum(read: (stats: ReturnType<UpstreamSession['stats']>) => number): number {
    let total = 0;
    for (const session of this.#sessions) total += read(session.stats());
    return total;
  }
}
