import { describe, expect, it } from 'vitest';
import { HealthChecker, Metrics, RpcErrorCode } from '../../src/index.js';
import { renderPrometheus } from '../../src/metrics/prometheus.js';
import { fakeCluster } from '../helpers/pool.js';
import { rpc, sessionHarness } from '../helpers/session.js';

describe('Prometheus text', () => {
  it('renders HELP, TYPE and escaped labels', () => {
    const text = renderPrometheus([
      { name: 'x_total', help: 'A "quoted"\nhelp', type: 'counter', samples: [[{ node: 'a"b\\c' }, 3]] },
      { name: 'y', help: 'plain', type: 'gauge', samples: [[{}, Number.NaN]] },
    ]);
    expect(text).toBe('# HELP x_total A "quoted"\\nhelp\n# TYPE x_total counter\nx_total{node="a\\"b\\\\c"} 3\n# HELP y plain\n# TYPE y gauge\ny NaN\n');
  });
});

describe('Metrics read at render time', () => {
  it('renders a gauge and a counter whose values are kept elsewhere, read anew each time', () => {
    const metrics = new Metrics({ prefix: 'x_' });
    let total = 2;
    metrics.addGauge('open', 'Open now.', () => 1);
    metrics.addCounter('done_total', 'Done so far.', () => total);
    expect(metrics.render()).toContain('# HELP x_done_total Done so far.\n# TYPE x_done_total counter\nx_done_total 2\n');
    total = 5;
    expect(metrics.render()).toContain('x_done_total 5\n');
    expect(metrics.render()).toContain('# TYPE x_open gauge\nx_open 1\n');
  });
});

describe('Prometheus histograms', () => {
  it('renders cumulative buckets (bounds inclusive), +Inf, _sum and _count per label set', () => {
    const metrics = new Metrics({ prefix: 'x_' });
    const h = metrics.histogram('d_seconds', 'Durations.', [10, 1]);
    for (const value of [0.5, 1, 3, 20]) h.observe({ node: 'a' }, value);
    h.observe({ node: 'b' }, 10);
    expect(metrics.histogram('d_seconds', 'ignored', [5])).toBe(h);
    expect(h.get({ node: 'a' })).toEqual({ count: 4, sum: 24.5 });
    expect(metrics.render()).toContain(
      [
        '# HELP x_d_seconds Durations.',
        '# TYPE x_d_seconds histogram',
        'x_d_seconds_bucket{node="a",le="1"} 2',
        'x_d_seconds_bucket{node="a",le="10"} 3',
        'x_d_seconds_bucket{node="a",le="+Inf"} 4',
        'x_d_seconds_sum{node="a"} 24.5',
        'x_d_seconds_count{node="a"} 4',
        'x_d_seconds_bucket{node="b",le="1"} 0',
        'x_d_seconds_bucket{node="b",le="10"} 1',
        'x_d_seconds_bucket{node="b",le="+Inf"} 1',
        'x_d_seconds_sum{node="b"} 10',
        'x_d_seconds_count{node="b"} 1',
      ].join('\n'),
    );
  });
});

describe('Metrics', () => {
  it('exposes per-node health, head, lag and switches from the pool and health checker', async () => {
    const cluster = fakeCluster([{ name: 'a', head: 110 }, { name: 'b', head: 100, tier: 'backup' }]);
    const metrics = new Metrics();
    metrics.trackPool(cluster.pool);
    const checker = new HealthChecker(cluster.pool, { successesToUp: 1, failuresToDown: 1 });
    metrics.trackHealth(checker);
    await checker.checkNow();
    await checker.checkNow();
    const text = metrics.render();
    expect(text).toContain('steadyrpc_node_up{node="a",tier="primary"} 1');
    expect(text).toContain('steadyrpc_node_up{node="b",tier="backup"} 0');
    expect(text).toContain('steadyrpc_node_head_block{node="a",tier="primary"} 110');
    expect(text).toContain('steadyrpc_node_lag_blocks{node="b",tier="backup"} 10');
    expect(text).toContain('steadyrpc_pool_switches_total{from="",to="a",reason="initial"} 1');
    expect(text).toContain('steadyrpc_probes_total{node="b",result="ERR_LAGGING"} 2');
    expect(text).toContain('steadyrpc_node_preferred{node="a",tier="primary"} 1');
  });

  it('gauges rate-limited nodes and circuit states, and counts rate limits and circuits opened', async () => {
    const cluster = fakeCluster([{ name: 'a' }, { name: 'b' }], { breaker: { failures: 1 }, http: { attemptTimeoutMs: 1_000 } });
    const { pool, nodes, clock } = cluster;
    pool.nodes.forEach((n) => pool.update(n.name, { status: 'healthy', head: 100 }));
    const metrics = new Metrics();
    metrics.trackPool(pool);
    pool.coolDown('b', 5_000);
    nodes.a!.setMode('stall');
    const answer = pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }).catch(() => undefined);
    // a's three attempts (its circuit open, it is the only node not cooling down), 250 ms apart (http.retryDelayMs).
    await clock.advance(3_500);
    await answer;
    const text = metrics.render();
    expect(text).toContain('steadyrpc_node_rate_limited{node="a",tier="primary"} 0');
    expect(text).toContain('steadyrpc_node_rate_limited{node="b",tier="primary"} 1');
    expect(text).toContain('steadyrpc_node_circuit_state{node="a",tier="primary"} 2');
    expect(text).toContain('steadyrpc_node_circuit_state{node="b",tier="primary"} 0');
    expect(text).toContain('steadyrpc_node_rate_limits_total{node="b",source="rpc-error"} 1');
    expect(text).toContain('steadyrpc_node_circuit_opens_total{node="a"} 1');
    await clock.advance(30_000);
    expect(metrics.render()).toContain('steadyrpc_node_circuit_state{node="a",tier="primary"} 1');
  });

  it('counts session switches, replays, closes and re-sent calls, and gauges sessions per node', async () => {
    const h = await sessionHarness();
    const metrics = new Metrics();
    metrics.trackSession(h.session);
    metrics.addGauge('client_connections', 'Client sockets open.', () => 7);
    h.send(rpc(1, 'eth_subscribe', ['newHeads']));
    await h.settle();
    h.nodes.a!.blackhole();
    h.send(rpc(2, 'eth_blockNumber'));
    await h.settle();
    h.sockets.sockets[0]!.serverClose(1006);
    await h.settle();
    const text = metrics.render();
    expect(text).toContain('steadyrpc_sessions{node="b",state="ready"} 1');
    expect(text).toContain('steadyrpc_session_switches_total{to="b",reason="failover"} 1');
    expect(text).toContain('steadyrpc_session_replays_total{node="b",result="ok"} 1');
    expect(text).toContain('steadyrpc_upstream_closes_total{node="a",code="1006"} 1');
    // The socket to a had been open since the harness settled, at 0 on its clock.
    expect(text).toContain('steadyrpc_upstream_connection_duration_seconds_count{node="a"} 1');
    expect(text).toContain('steadyrpc_session_inflight_rehomed_total{node="a",outcome="resent"} 1');
    expect(text).toContain('steadyrpc_session_subscriptions 1');
    expect(text).toContain('steadyrpc_client_connections 7');
    h.session.close();
    expect(metrics.render()).not.toContain('steadyrpc_sessions{');
    expect(metrics.render()).toContain('steadyrpc_sessions_opened_total 1');
  });
});

describe('upstream connection duration', () => {
  it('the upstreamClose event says how long the socket was open; Metrics observes it per node', async () => {
    const h = await sessionHarness();
    const metrics = new Metrics();
    metrics.trackSession(h.session);
    const closes: unknown[] = [];
    h.session.on('upstreamClose', (event) => closes.push(event));
    const openedAt = h.clock.now();
    await h.clock.advance(90_000); // keepalives answered all along
    h.sockets.last()!.serverClose(1006);
    await h.settle();
    expect(closes).toEqual([{ node: 'a', code: 1006, reason: '', auth: false, openMs: h.clock.now() - openedAt }]);
    expect(h.session.node).toBe('b');
    const text = metrics.render();
    expect(text).toContain('steadyrpc_upstream_connection_duration_seconds_bucket{node="a",le="60"} 0\n');
    expect(text).toContain('steadyrpc_upstream_connection_duration_seconds_bucket{node="a",le="300"} 1\n');
    expect(text).toContain('steadyrpc_upstream_connection_duration_seconds_sum{node="a"} 90\n');
    h.session.close();
  });

  it('a socket that closes before it opens is counted as a close but has no duration', async () => {
    const h = await sessionHarness();
    const metrics = new Metrics();
    metrics.trackSession(h.session);
    const closes: Array<{ openMs?: number }> = [];
    h.session.on('upstreamClose', (event) => closes.push(event));
    h.nodes.a!.refuseStatus = 503;
    h.nodes.b!.refuseStatus = 503;
    h.sockets.last()!.serverClose(1006);
    await h.clock.advance(5_000);
    expect(closes.length).toBeGreaterThanOrEqual(2);
    expect(closes[0]!.openMs).toBeDefined();
    expect(closes.slice(1).every((close) => close.openMs === undefined)).toBe(true);
    expect(metrics.render()).toContain('steadyrpc_upstream_connection_duration_seconds_count{node="a"} 1\n');
    h.session.close();
  });
});

describe('continuity metrics', () => {
  it('gauges the bytes of delivered logs sessions keep for retraction (steadyrpc_session_retained_log_bytes)', async () => {
    const h = await sessionHarness();
    const metrics = new Metrics();
    metrics.trackSession(h.session);
    expect(metrics.render()).toContain('steadyrpc_session_retained_log_bytes 0');
    h.send(rpc(1, 'eth_subscribe', ['logs', {}]));
    await h.settle();
    h.nodes.a!.emitLog();
    h.nodes.a!.emitLog();
    await h.settle();
    const kept = h.session.stats().retainedBytes;
    expect(kept).toBeGreaterThan(0);
    expect(metrics.render()).toContain(`steadyrpc_session_retained_log_bytes ${kept}`);
    h.session.close();
  });
});

describe('refusal metrics', () => {
  it('an upgrade refused with 401 shows in node_quarantined, though upstream_closes_total counts it as 1006', async () => {
    const h = await sessionHarness();
    const metrics = new Metrics();
    metrics.trackPool(h.pool);
    metrics.trackSession(h.session);
    h.nodes.a!.refuseStatus = 401;
    h.sockets.last()!.serverClose(1006);
    await h.settle();
    h.nodes.b!.cut();
    await h.settle();
    const text = metrics.render();
    expect(text).toContain('steadyrpc_node_quarantined{node="a",tier="primary"} 1');
    expect(text).toContain('steadyrpc_node_quarantined{node="b",tier="backup"} 0');
    expect(text).toMatch(/steadyrpc_upstream_closes_total\{node="a",code="1006"\} [1-9]/);
    h.session.close();
  });
});

describe('queue metrics', () => {
  it('counts messages refused by a full queue as they are refused, also when the session closes right after', async () => {
    const h = await sessionHarness({ queue: { maxCount: 1 } });
    const metrics = new Metrics();
    metrics.trackSession(h.session);
    h.nodes.a!.blackhole();
    h.nodes.b!.blackhole();
    h.sockets.last()!.serverClose(1006);
    await h.settle();
    h.send(rpc(1, 'eth_chainId'));
    h.send(rpc(2, 'eth_chainId'));
    h.send({ jsonrpc: '2.0', method: 'eth_chainId', params: [] });
    expect(metrics.render()).toContain('steadyrpc_session_queue_overflows_total 2');
    expect(h.answers(2)[0]).toMatchObject({ error: { code: -32051 } });
    expect(h.session.stats().queueOverflows).toBe(2);
    expect(metrics.render()).toContain('steadyrpc_session_queue_overflows_total 2');
    h.session.close();
    expect(metrics.render()).toContain('steadyrpc_session_queue_overflows_total 2');
  });
});

describe('limit metrics', () => {
  it('counts calls refused with LIMIT_EXCEEDED, by cap', async () => {
    const h = await sessionHarness({ maxInFlight: 1, maxSubscriptions: 1 });
    const metrics = new Metrics();
    metrics.trackSession(h.session);
    h.send(rpc(1, 'eth_subscribe', ['newHeads']));
    await h.settle();
    h.send(rpc(2, 'eth_subscribe', ['newHeads']));
    h.nodes.a!.blackhole();
    h.send(rpc(3, 'eth_chainId'));
    h.send(rpc(4, 'eth_chainId'));
    const text = metrics.render();
    expect(text).toContain('steadyrpc_session_limit_rejections_total{limit="maxSubscriptions"} 1');
    expect(text).toContain('steadyrpc_session_limit_rejections_total{limit="maxInFlight"} 1');
  });
});

describe('continuity metrics', () => {
  it('counts backfilled heads after a switch', async () => {
    const h = await sessionHarness();
    const metrics = new Metrics();
    metrics.trackSession(h.session);
    h.send(rpc(1, 'eth_subscribe', ['newHeads']));
    await h.settle();
    h.nodes.a!.advance(1);
    h.nodes.b!.advance(3);
    h.nodes.a!.cut();
    await h.settle();
    expect(metrics.render()).toContain('steadyrpc_session_backfill_total{node="b",outcome="delivered"} 2');
  });
});

describe('calls sent apart', () => {
  it('counts a call sent again on a socket of its own after an answer too large, and one answered FRAME_TOO_LARGE there', async () => {
    const h = await sessionHarness();
    const metrics = new Metrics();
    metrics.trackSession(h.session);
    h.nodes.a!.oversized.add('eth_getLogs');
    h.nodes.b!.oversized.add('eth_getLogs');
    h.send(rpc(1, 'eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }]));
    await h.settle();
    await h.clock.advance(5_000);
    expect(h.answers(1)[0].error.code).toBe(RpcErrorCode.FRAME_TOO_LARGE);
    const text = metrics.render();
    expect(text).toMatch(/steadyrpc_session_calls_apart_total\{node="[ab]",outcome="sent"\} 1/);
    expect(text).toMatch(/steadyrpc_session_calls_apart_total\{node="[ab]",outcome="too-large"\} 1/);
  });
});
