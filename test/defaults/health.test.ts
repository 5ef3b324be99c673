import { describe, expect, it } from 'vitest';
import { HealthChecker } from '../../src/index.js';
import { fakeCluster } from '../helpers/pool.js';

// HealthChecker defaults that docs/reference.md and docs/guides/health.md state, each used without
// passing the option and checked at its boundary.

describe('HealthChecker maxLagBlocks defaults to 5', () => {
  it.each([
    [5, 'healthy'],
    [6, 'unhealthy'],
  ] as const)('a node %i blocks behind the best head is %s', async (behind, status) => {
    const cluster = fakeCluster([{ name: 'a', head: 200 }, { name: 'b', head: 200 - behind }]);
    const checker = new HealthChecker(cluster.pool);
    // Enough rounds for the default hysteresis (2 good probes up, 3 failed down) either way.
    for (let i = 0; i < 3; i++) await checker.checkNow();
    expect(cluster.pool.health('b')).toMatchObject({ status, lag: behind, head: 200 - behind });
    expect(cluster.pool.health('a')).toMatchObject({ status: 'healthy', lag: 0 });
    checker.close();
  });
});

describe('HealthChecker concurrency defaults to 16', () => {
  it('with 17 nodes that never answer, 16 probes start at once and the 17th when the first of them times out (5 s)', async () => {
    const names = Array.from({ length: 17 }, (_, i) => `n${i}`);
    const cluster = fakeCluster(names.map((name) => ({ name })));
    for (const name of names) cluster.nodes[name]!.setMode('stall');
    const checker = new HealthChecker(cluster.pool, { intervalMs: 60_000 }); // one round in this test
    const probed = () => new Set(cluster.http.requests.map((r) => r.url)).size;
    checker.start();
    await cluster.clock.advance(0);
    expect(probed()).toBe(16);
    expect(cluster.http.requests.map((r) => r.url)).not.toContain('http://n16.test/');
    await cluster.clock.advance(5_000 - 1);
    expect(probed()).toBe(16);
    await cluster.clock.advance(1);
    expect(probed()).toBe(17);
    expect(cluster.http.requests.map((r) => r.url)).toContain('http://n16.test/');
    checker.close();
  });
});
