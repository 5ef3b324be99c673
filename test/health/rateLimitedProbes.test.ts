import { describe, expect, it } from 'vitest';
import type { ProbeEvent, RateLimitEvent } from '../../src/index.js';
import { HealthChecker, Metrics } from '../../src/index.js';
import type { HttpResponse } from '../../src/transport/HttpTransport.js';
import { fakeCluster } from '../helpers/pool.js';

type Reply = (body: string) => HttpResponse | undefined;

/** Node `a` answers its probes with `reply` while it returns one; otherwise as the fake node does. */
function cluster(reply: { current: Reply }) {
  const c = fakeCluster([{ name: 'a' }, { name: 'b' }]);
  const node = c.nodes.a!;
  c.http.route('http://a.test/', (body, signal, endpoint) => {
    const answer = reply.current(body);
    return answer ? Promise.resolve(answer) : node.http(body, signal, endpoint);
  });
  const checker = new HealthChecker(c.pool, { intervalMs: 1_000, failuresToDown: 3, successesToUp: 2 });
  const probes: ProbeEvent[] = [];
  const limits: RateLimitEvent[] = [];
  checker.on('probe', (event) => probes.push(event));
  c.pool.on('rateLimited', (event) => limits.push(event));
  return { ...c, checker, probes, limits };
}

const pass: Reply = () => undefined;
const rpcError = (code: number, message: string, data?: unknown): Reply => (body) => ({
  status: 200,
  body: JSON.stringify({ jsonrpc: '2.0', id: (JSON.parse(body) as { id: number }).id, error: { code, message, ...(data === undefined ? {} : { data }) } }),
});

describe('health probes answered with a rate limit', () => {
  it('an HTTP 429 cools the node down instead of counting against it: it stays healthy and preferred', async () => {
    const reply = { current: pass };
    const c = cluster(reply);
    c.checker.start();
    await c.clock.advance(1_000);
    expect(c.pool.health('a').status).toBe('healthy');
    expect(c.pool.preferred()).toBe('a');
    reply.current = () => ({ status: 429, body: 'Too Many Requests' });
    // Five rounds of 429s: more than failuresToDown (3).
    await c.clock.advance(5_000);
    const limited = c.probes.filter((p) => p.name === 'a' && p.rateLimited);
    expect(limited).toHaveLength(5);
    expect(limited.every((p) => !p.ok)).toBe(true);
    expect(c.pool.health('a')).toMatchObject({ status: 'healthy', consecutiveFailures: 0 });
    expect(c.pool.preferred()).toBe('a');
    expect(c.switches.map((s) => s.to)).toEqual(['a']);
    expect(c.limits[0]).toMatchObject({ name: 'a', source: 'http-status', ms: 1_000 });
    expect(c.pool.available('a')).toBe(false);
    expect(c.pool.snapshot().nodes[0]).toMatchObject({ name: 'a', rateLimited: true, status: 'healthy' });
    c.checker.close();
  });

  it('the wait a 429 names (Retry-After in seconds, or as a date) is the cool-down', async () => {
    const reply = { current: pass };
    const c = cluster(reply);
    await c.checker.checkNow();
    reply.current = () => ({ status: 429, body: '', retryAfter: '7' });
    await c.checker.checkNow();
    expect(c.limits.at(-1)).toMatchObject({ name: 'a', ms: 7_000, until: c.clock.now() + 7_000 });
    await c.clock.advance(10_000);
    reply.current = () => ({ status: 429, body: '', retryAfter: new Date(c.clock.now() + 12_000).toUTCString() });
    await c.checker.checkNow();
    // An HTTP date has whole seconds: the wait is within one second of the one named.
    expect(c.limits.at(-1)!.ms).toBeGreaterThan(11_000);
    expect(c.limits.at(-1)!.ms).toBeLessThanOrEqual(12_000);
    c.checker.close();
  });

  it('a 503 with Retry-After is a rate limit; a 503 without one, or a 500, counts against the node', async () => {
    const reply = { current: pass };
    const c = cluster(reply);
    await c.checker.checkNow();
    await c.checker.checkNow();
    reply.current = () => ({ status: 503, body: '', retryAfter: '2' });
    await c.checker.checkNow();
    expect(c.probes.at(-2)).toMatchObject({ name: 'a', rateLimited: true });
    expect(c.pool.health('a').consecutiveFailures).toBe(0);
    reply.current = () => ({ status: 503, body: '' });
    for (let i = 0; i < 3; i++) await c.checker.checkNow();
    expect(c.probes.filter((p) => p.name === 'a').slice(-3).map((p) => p.rateLimited)).toEqual([undefined, undefined, undefined]);
    expect(c.pool.health('a').status).toBe('unhealthy');
    c.checker.close();
  });

  it('a JSON-RPC rate-limit error (Infura -32005 with backoff_seconds) cools the node down for that long', async () => {
    const reply = { current: pass };
    const c = cluster(reply);
    await c.checker.checkNow();
    await c.checker.checkNow();
    reply.current = rpcError(-32005, 'project ID request rate exceeded', { see: 'https://infura.io/dashboard', current_rps: 13.3, allowed_rps: 10, backoff_seconds: 30 });
    for (let i = 0; i < 4; i++) await c.checker.checkNow();
    expect(c.limits[0]).toMatchObject({ name: 'a', source: 'rpc-error', ms: 30_000 });
    expect(c.pool.health('a').status).toBe('healthy');
    c.checker.close();
  });

  it('an error that is not a rate limit still counts against the node', async () => {
    const reply = { current: pass };
    const c = cluster(reply);
    await c.checker.checkNow();
    await c.checker.checkNow();
    reply.current = rpcError(-32000, 'internal error');
    for (let i = 0; i < 3; i++) await c.checker.checkNow();
    expect(c.limits).toEqual([]);
    expect(c.pool.health('a').status).toBe('unhealthy');
    c.checker.close();
  });

  it('counted as probes_total{result="rate-limited"}', async () => {
    const reply = { current: pass };
    const c = cluster(reply);
    const metrics = new Metrics();
    metrics.trackHealth(c.checker);
    reply.current = () => ({ status: 429, body: '' });
    await c.checker.checkNow();
    expect(metrics.render()).toContain('steadyrpc_probes_total{node="a",result="rate-limited"} 1');
    c.checker.close();
  });
});

describe('a probe sent before the cool-down began, limited after it ended', () => {
  it('is no new strike: the next cool-down naming no wait is still 1 s, not 2 s', async () => {
    const c = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    const node = c.nodes.a!;
    let slow = false;
    // While `slow`, a's probes are answered 1.5 s late, with a 429 naming no wait.
    c.http.route('http://a.test/', (body, signal, endpoint) =>
      slow
        ? new Promise<HttpResponse>((resolve) => c.clock.setTimeout(() => resolve({ status: 429, body: 'Too Many Requests' }), 1_500))
        : node.http(body, signal, endpoint),
    );
    const checker = new HealthChecker(c.pool, { intervalMs: 60_000, timeoutMs: 5_000 });
    const limits: number[] = [];
    c.pool.on('rateLimited', (event) => limits.push(event.ms));
    await checker.checkNow();
    slow = true;
    const probe = checker.checkNow();
    await c.clock.advance(100);
    c.pool.coolDown('a'); // a session's call is limited: 1 s from t + 100 ms
    await c.clock.advance(1_400); // the cool-down is over; then the probe's 429 arrives
    await probe;
    expect(limits).toEqual([1_000]);
    // A limit of a request sent after the cool-down began is a strike: the backoff doubles.
    c.pool.coolDown('a');
    expect(limits).toEqual([1_000, 2_000]);
    checker.close();
  });
});
