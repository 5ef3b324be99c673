import { describe, expect, it } from 'vitest';
import type { MetricFamily } from '../../../src/index.js';
import { CONNECTION_DURATION_BUCKETS, HealthChecker, Metrics, UpstreamSession, serveSocket } from '../../../src/index.js';
import { fakeCluster } from '../../helpers/pool.js';
import { rpc, sessionHarness } from '../../helpers/session.js';
import { FakeServerSocket } from '../../server/FakeServerSocket.js';

/**
 * Audit of docs/guides/metrics.md:248-279 and 322-324: the table of metrics (name and type), the
 * buckets of the two histograms, the shape of `families()`, and the rows no test checked:
 * `node_up` -1 for unknown, `node_latency_ms`, `session_queue_depth`, `session_inflight_requests`,
 * `session_reconnect_rounds_total`, `session_errors_total`, `session_inflight_rehomed_total`
 * {outcome="failed"} and `client_drains_total{outcome="deadline"}`.
 */

/** metrics.md:250-275, row by row (without the `steadyrpc_` prefix). */
const DOCUMENTED: Record<string, MetricFamily['type']> = {
  node_up: 'gauge', node_head_block: 'gauge', node_lag_blocks: 'gauge', node_latency_ms: 'gauge', node_preferred: 'gauge', node_quarantined: 'gauge',
  node_rate_limited: 'gauge', node_circuit_state: 'gauge',
  pool_switches_total: 'counter',
  node_rate_limits_total: 'counter',
  node_circuit_opens_total: 'counter',
  http_hedges_total: 'counter',
  probes_total: 'counter',
  sessions: 'gauge',
  session_subscriptions: 'gauge', session_queue_depth: 'gauge', session_inflight_requests: 'gauge', session_duplicates_suppressed: 'gauge', session_retained_log_bytes: 'gauge',
  session_switches_total: 'counter',
  session_reconnect_rounds_total: 'counter', session_queue_overflows_total: 'counter', sessions_opened_total: 'counter',
  session_replays_total: 'counter',
  upstream_closes_total: 'counter',
  session_inflight_rehomed_total: 'counter',
  session_calls_apart_total: 'counter',
  session_backfill_total: 'counter',
  session_errors_total: 'counter',
  session_limit_rejections_total: 'counter',
  session_reorgs_total: 'counter',
  session_behind_reads_total: 'counter',
  client_slow_reader_closes_total: 'counter',
  client_ping_timeouts_total: 'counter',
  client_drains_total: 'counter',
  client_closes_total: 'counter',
  client_buffered_bytes: 'gauge',
  client_connection_duration_seconds: 'histogram',
  upstream_connection_duration_seconds: 'histogram',
};

const family = (metrics: Metrics, name: string) => metrics.families().find((f) => f.name === `steadyrpc_${name}`);
const sample = (metrics: Metrics, name: string, labels: Record<string, string> = {}) =>
  family(metrics, name)?.samples.find(([l, , suffix]) => suffix === undefined && JSON.stringify(Object.entries(l).sort()) === JSON.stringify(Object.entries(labels).sort()))?.[1];

describe('the metrics table', () => {
  it('names every family a pool, a checker, a session and a served socket produce, each with its documented type, and nothing else', async () => {
    const h = await sessionHarness();
    const metrics = new Metrics();
    metrics.trackPool(h.pool);
    metrics.trackHealth(new HealthChecker(h.pool, { clock: h.clock }));
    metrics.trackSession(h.session);
    const socket = new FakeServerSocket();
    const other = new UpstreamSession({ pool: h.pool, transport: h.sockets, clock: h.clock });
    metrics.trackServedSocket(serveSocket(socket.asWebSocket(), other, { clock: h.clock }));
    const produced = Object.fromEntries(metrics.families().map((f) => [f.name, f.type]));
    const documented = Object.fromEntries(Object.entries(DOCUMENTED).map(([name, type]) => [`steadyrpc_${name}`, type]));
    expect(produced).toEqual(documented);
    other.close();
    h.session.close();
  });

  it('the histograms share CONNECTION_DURATION_BUCKETS: 1, 5, 30 and 60 s; 5, 15 and 30 min; 1, 2, 4 and 12 h; a day', () => {
    expect([...CONNECTION_DURATION_BUCKETS]).toEqual([1, 5, 30, 60, 5 * 60, 15 * 60, 30 * 60, 3_600, 2 * 3_600, 4 * 3_600, 12 * 3_600, 86_400]);
  });

  it('families(): { name, help, type, samples: [[labels, value]] }; a histogram sample names its series third (_bucket with le, _sum, _count)', () => {
    const metrics = new Metrics();
    metrics.counter('c_total', 'A counter.').inc({ k: 'v' }, 2);
    metrics.histogram('h_seconds', 'A histogram.', [1]).observe({}, 0.5);
    const families = metrics.families().filter((f) => f.name.startsWith('steadyrpc_c_') || f.name.startsWith('steadyrpc_h_'));
    expect(families).toEqual([
      { name: 'steadyrpc_c_total', help: 'A counter.', type: 'counter', samples: [[{ k: 'v' }, 2]] },
      {
        name: 'steadyrpc_h_seconds',
        help: 'A histogram.',
        type: 'histogram',
        samples: [
          [{ le: '1' }, 1, '_bucket'],
          [{ le: '+Inf' }, 1, '_bucket'],
          [{}, 0.5, '_sum'],
          [{}, 1, '_count'],
        ],
      },
    ]);
  });
});

describe('rows no other test checks', () => {
  it('node_up is -1 for a node not yet probed; node_latency_ms is the last good probe’s round trip, per node and tier', async () => {
    const cluster = fakeCluster([{ name: 'a' }, { name: 'b', tier: 'backup' }]);
    const metrics = new Metrics();
    metrics.trackPool(cluster.pool);
    expect(sample(metrics, 'node_up', { node: 'a', tier: 'primary' })).toBe(-1);
    expect(sample(metrics, 'node_latency_ms', { node: 'a', tier: 'primary' })).toBeUndefined();
    cluster.nodes.a!.latencyMs = 40;
    const checker = new HealthChecker(cluster.pool, { clock: cluster.clock });
    const round = checker.checkNow();
    await cluster.clock.advance(40);
    await round;
    expect(sample(metrics, 'node_latency_ms', { node: 'a', tier: 'primary' })).toBe(40);
    expect(sample(metrics, 'node_latency_ms', { node: 'b', tier: 'backup' })).toBe(0);
    checker.close();
    cluster.pool.close();
  });

  it('session_inflight_requests and session_queue_depth gauge what open sessions hold; session_reconnect_rounds_total counts rounds with every node failing', async () => {
    const h = await sessionHarness();
    const metrics = new Metrics();
    metrics.trackSession(h.session);
    h.nodes.a!.blackhole();
    h.send(rpc(1, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', 'latest']));
    h.send(rpc(2, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', 'latest']));
    await h.settle();
    expect(sample(metrics, 'session_inflight_requests')).toBe(2);
    expect(sample(metrics, 'session_queue_depth')).toBe(0);
    h.nodes.b!.blackhole();
    h.nodes.a!.cut();
    h.nodes.b!.cut();
    await h.settle();
    h.send(rpc(3, 'eth_chainId'));
    await h.settle();
    expect(sample(metrics, 'session_queue_depth')).toBe(h.session.stats().queued);
    expect(sample(metrics, 'session_queue_depth')).toBeGreaterThan(0);
    await h.clock.advance(1_000);
    expect(sample(metrics, 'session_reconnect_rounds_total')).toBeGreaterThanOrEqual(1);
    h.session.close();
  });

  it('session_errors_total counts the problems a session handled by error code; session_inflight_rehomed_total{outcome="failed"} a write in flight on a socket the session had to leave', async () => {
    const h = await sessionHarness();
    const metrics = new Metrics();
    metrics.trackSession(h.session);
    const codes: string[] = [];
    h.session.on('error', (e) => codes.push(e.code));
    h.nodes.a!.blackhole();
    h.send(rpc(1, 'eth_sendTransaction', [{ from: '0x0000000000000000000000000000000000000001' }]));
    await h.settle();
    await h.clock.advance(6_000); // the keepalive deadline: the session leaves the silent socket
    expect(h.answers(1)).toEqual([expect.objectContaining({ error: expect.objectContaining({ code: -32053 }) })]);
    expect(sample(metrics, 'session_inflight_rehomed_total', { node: 'a', outcome: 'failed' })).toBe(1);
    expect(codes.length).toBeGreaterThan(0);
    for (const code of new Set(codes)) expect(sample(metrics, 'session_errors_total', { code })).toBe(codes.filter((c) => c === code).length);
    h.session.close();
  });

  it('client_drains_total{outcome="deadline"}: a drain whose deadline passed with a call still owed', async () => {
    const h = await sessionHarness();
    h.nodes.a!.blackhole();
    const socket = new FakeServerSocket();
    const served = serveSocket(socket.asWebSocket(), h.session, { clock: h.clock });
    const metrics = new Metrics();
    metrics.trackServedSocket(served);
    socket.clientSend(rpc(1, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', 'latest']));
    await h.clock.flush();
    const drained = served.drain(1_000);
    await h.clock.advance(1_000);
    socket.finishClose(1012);
    await drained;
    await h.clock.flush();
    expect(socket.frames()).toEqual([expect.objectContaining({ id: 1, error: expect.objectContaining({ code: -32050 }) })]);
    expect(sample(metrics, 'client_drains_total', { outcome: 'deadline' })).toBe(1);
    expect(sample(metrics, 'client_closes_total', { cause: 'drain-deadline' })).toBe(1);
  });
});
