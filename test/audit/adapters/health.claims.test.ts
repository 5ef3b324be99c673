/**
 * Audit of docs/guides/health.md against src/health and src/pool: claims no existing test pinned.
 * Fake nodes over the fake clock (test/helpers/pool.ts); nothing sleeps.
 */
import { describe, expect, it } from 'vitest';
import type { ProbeEvent } from '../../../src/index.js';
import { HealthChecker, NodePool } from '../../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../../src/testing/index.js';
import { fakeCluster } from '../../helpers/pool.js';

function checked(cluster: ReturnType<typeof fakeCluster>, options?: ConstructorParameters<typeof HealthChecker>[1]) {
  const checker = new HealthChecker(cluster.pool, options);
  const probes: Array<ProbeEvent & { at: number }> = [];
  checker.on('probe', (event) => probes.push({ ...event, at: cluster.clock.now() }));
  return { checker, probes };
}

describe('health guide: the defaults (1 s rounds, failuresToDown 3, successesToUp 2)', () => {
  it('with no options: probes every node every 1 s, up after 2 good probes, down after 3 failed ones, back up after 2', async () => {
    const cluster = fakeCluster([{ name: 'a' }, { name: 'b', tier: 'backup' }]);
    const { checker, probes } = checked(cluster);
    checker.start();
    await cluster.clock.advance(0);
    expect(cluster.pool.health('a').status).toBe('unknown'); // one good probe: not yet
    await cluster.clock.advance(1_000);
    expect(probes.filter((p) => p.name === 'a').map((p) => p.at)).toEqual([0, 1_000]);
    expect(cluster.pool.health('a').status).toBe('healthy');
    expect(cluster.pool.preferred()).toBe('a');
    cluster.nodes.a!.setMode('down'); // refuses: probes fail at 2, 3 and 4 s
    await cluster.clock.advance(2_000);
    expect(cluster.pool.health('a')).toMatchObject({ status: 'healthy', consecutiveFailures: 2 });
    await cluster.clock.advance(1_000);
    expect(cluster.pool.health('a').status).toBe('unhealthy');
    expect(cluster.pool.preferred()).toBe('b');
    cluster.nodes.a!.setMode('ok'); // good probes at 5 and 6 s
    await cluster.clock.advance(1_000);
    expect(cluster.pool.preferred()).toBe('b');
    await cluster.clock.advance(1_000);
    expect(cluster.pool.preferred()).toBe('a');
    expect(cluster.switches.at(-1)).toEqual({ from: 'b', to: 'a', reason: 'recovered' });
    checker.close();
  });

  it('with no options, a blackholed node goes down timeoutMs + intervalMs × (failuresToDown − 1) = 7 s after its first unanswered probe', async () => {
    const cluster = fakeCluster([{ name: 'a' }, { name: 'b', tier: 'backup' }]);
    const { checker } = checked(cluster);
    checker.start();
    await cluster.clock.advance(1_000);
    cluster.nodes.a!.blackhole(); // the probe of 2 s is the first left unanswered
    await cluster.clock.advance(7_999);
    expect(cluster.pool.health('a').status).toBe('healthy');
    await cluster.clock.advance(1);
    expect(cluster.pool.health('a').status).toBe('unhealthy');
    checker.close();
  });
});

/**
 * health.md said the pool prefers the first healthy primary, and that failback takes
 * ≈ intervalMs × successesToUp after the node answers again. With `failbackCatchUp` (default true,
 * documented in reference.md and consistency.md) the pool stays on the node in use until the
 * primary's probed head has caught up with it; the guide now says so.
 */
describe('health guide: the pool prefers the first healthy primary that is not behind the node in use', () => {
  it('a healthy primary behind the backup in use is not failed back to until it has caught up (failbackCatchUp, on by default)', async () => {
    const cluster = fakeCluster([{ name: 'a' }, { name: 'b', tier: 'backup' }]);
    const { checker } = checked(cluster, { intervalMs: 1_000, failuresToDown: 1, successesToUp: 2 });
    checker.start();
    await cluster.clock.advance(1_000);
    expect(cluster.pool.preferred()).toBe('a');
    cluster.nodes.a!.setMode('down');
    await cluster.clock.advance(1_000);
    expect(cluster.pool.preferred()).toBe('b');
    cluster.nodes.b!.advance(3); // b moves on while a is down
    cluster.nodes.a!.setMode('ok'); // a answers again, 3 blocks behind b: within maxLagBlocks (5)
    await cluster.clock.advance(2_000);
    expect(cluster.pool.health('a')).toMatchObject({ status: 'healthy', lag: 3 });
    // Healthy, but behind the node in use: the traffic stays on b.
    await cluster.clock.advance(3_000);
    expect(cluster.pool.preferred()).toBe('b');
    // Caught up: failed back at the next probe.
    cluster.nodes.a!.advance(3);
    await cluster.clock.advance(1_000);
    expect(cluster.pool.preferred()).toBe('a');
    checker.close();
  });
});

/**
 * health.md: "A probe answered HTTP 429 [...] says the node is alive but busy: the node cools down
 * [...], the probe event has `rateLimited: true` [...] and the health record is left as it was". A
 * node with only a `ws` endpoint is probed over a short-lived socket (src/health/nodeCall.ts
 * socketCall): a 429 refusing that socket's upgrade reaches `onClose` with `httpStatus: 429`.
 * Found by the audit: it was thrown as a plain ERR_TRANSPORT and counted against the node, which
 * went down after failuresToDown such probes (providers do answer WebSocket handshakes 429).
 */
describe('health guide: a probe answered HTTP 429 does not count against the node', () => {
  it('ws-only node whose probe socket upgrade is refused with HTTP 429: rate-limited, not failed; stays healthy and preferred', async () => {
    const clock = new FakeClock();
    const sockets = new FakeSocketTransport();
    const nodes = { a: new FakeNode({ name: 'a', head: 100 }), b: new FakeNode({ name: 'b', head: 100 }) };
    for (const [name, node] of Object.entries(nodes)) sockets.route(`ws://${name}.test/`, node.socket);
    const pool = new NodePool({ nodes: [{ name: 'a', ws: 'ws://a.test/' }, { name: 'b', ws: 'ws://b.test/' }], clock, httpTransport: new FakeHttpTransport() });
    const checker = new HealthChecker(pool, { socketTransport: sockets, intervalMs: 1_000, failuresToDown: 3, successesToUp: 2 });
    const probes: ProbeEvent[] = [];
    checker.on('probe', (event) => probes.push(event));
    checker.start();
    await clock.advance(1_000);
    expect(pool.preferred()).toBe('a');
    nodes.a.refuseStatus = 429; // every new socket to a: upgrade refused, HTTP 429
    await clock.advance(5_000);
    const limited = probes.filter((p) => p.name === 'a').slice(2);
    expect(limited).toHaveLength(5);
    expect(limited.every((p) => p.rateLimited === true)).toBe(true);
    expect(pool.health('a')).toMatchObject({ status: 'healthy', consecutiveFailures: 0 });
    expect(pool.preferred()).toBe('a');
    checker.close();
    pool.close();
  });

  it('control: the same node over HTTP answered 429 is rate-limited (test/health/rateLimitedProbes.test.ts)', async () => {
    const cluster = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    cluster.http.route('http://a.test/', () => Promise.resolve({ status: 429, body: 'Too Many Requests' }));
    const { checker, probes } = checked(cluster, { intervalMs: 1_000 });
    await checker.checkNow();
    expect(probes[0]).toMatchObject({ name: 'a', rateLimited: true });
    checker.close();
  });
});

/**
 * health.md counts as a rate limit "a JSON-RPC error the pool's `classifyError` calls
 * `rate-limited`", whatever the status it comes with, "as after a request's rate limit". request()
 * reads the JSON-RPC error in a non-2xx body (src/pool/httpAnswers.ts judgeReply). Found by the
 * audit: a probe (src/health/nodeCall.ts httpCall) looked only at the status (429, or 503 with
 * Retry-After), so the same answer counted against the node when it was a probe's.
 */
describe('health guide: a rate-limit error under a non-2xx status', () => {
  const limitedBody = (body: string) =>
    JSON.stringify({ jsonrpc: '2.0', id: (JSON.parse(body) as { id: number }).id, error: { code: -32005, message: 'daily request count exceeded, request rate limited', data: { backoff_seconds: 7 } } });

  it('control: request() answered HTTP 500 with Infura\'s -32005 (backoff_seconds 7) cools the node down for 7 s', async () => {
    const cluster = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    for (const name of ['a', 'b']) cluster.pool.update(name, { status: 'healthy', head: 100 });
    cluster.http.route('http://a.test/', (body) => Promise.resolve({ status: 500, body: limitedBody(body) }));
    const limits: unknown[] = [];
    cluster.pool.on('rateLimited', (event) => limits.push(event));
    await cluster.pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] });
    expect(limits).toMatchObject([{ name: 'a', ms: 7_000 }]);
    cluster.pool.close();
  });

  it('a probe answered the same is rate-limited: probe event rateLimited, 7 s cool-down, the node stays healthy', async () => {
    const cluster = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    const { checker, probes } = checked(cluster, { intervalMs: 1_000, failuresToDown: 3, successesToUp: 2 });
    const limits: unknown[] = [];
    cluster.pool.on('rateLimited', (event) => limits.push(event));
    await checker.checkNow();
    await checker.checkNow();
    expect(cluster.pool.preferred()).toBe('a');
    cluster.http.route('http://a.test/', (body) => Promise.resolve({ status: 500, body: limitedBody(body) }));
    for (let i = 0; i < 3; i++) await checker.checkNow();
    expect(probes.filter((p) => p.name === 'a').slice(2).map((p) => p.rateLimited)).toEqual([true, true, true]);
    expect(limits[0]).toMatchObject({ name: 'a', ms: 7_000 });
    expect(cluster.pool.health('a').status).toBe('healthy');
    checker.close();
  });
});
