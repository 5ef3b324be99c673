import { describe, expect, it } from 'vitest';
import { PROXY_HEALTH_DEFAULTS } from '../../../examples/proxy-server.js';

import { checkedCluster } from '../../helpers/checkedCluster.js';

// README.md, "Use 1": "Its defaults (health probes every 500 ms; a `HealthChecker` with the
// library's defaults probes every second, so fails back later) fail back to a primary that was cut
// within 2 s of it answering again [...]. After a *blackhole* it is the same: the health checker
// probes again every round while the probe caught in the blackhole hangs."
// test/health/HealthChecker.test.ts shows the mechanism with 1 s rounds and a 5 s timeout, and
// test/audit/proxy/proxyDefaults.test.ts the failback after a cut; nothing ran the blackhole case
// with the proxy's own defaults against the 2 s bound. The checker is built as the proxy builds it.

describe('README Use 1: failback with the proxy health defaults', () => {
  it('a primary back from a blackhole is preferred again within 2 s, however many probes are still stuck in it', async () => {
    const c = checkedCluster([{ name: 'a' }, { name: 'b', tier: 'backup' }], { ...PROXY_HEALTH_DEFAULTS });
    c.checker.start();
    await c.clock.advance(999); // rounds at 0 and 500 answered
    c.nodes.a!.blackhole(); // from the round at 1 000 on, every probe of a hangs (2 s timeout)
    for (let t = 0; t < 20_000 && c.pool.health('a').status !== 'unhealthy'; t += 10) await c.clock.advance(10);
    expect(c.pool.health('a').status).toBe('unhealthy'); // at 4 000 (proxyDefaults.test.ts)
    expect(c.pool.preferred()).toBe('b');
    await c.clock.advance(500 - (c.clock.now() % 500) + 1); // a round has just sent a probe into the blackhole
    const restoredAt = c.clock.now();
    c.nodes.a!.restore(); // the probes of the last rounds still hang (up to 2 s each)
    let backAt: number | undefined;
    for (let t = 0; t < 5_000 && backAt === undefined; t += 10) {
      await c.clock.advance(10);
      if (c.pool.preferred() === 'a') backAt = c.clock.now();
    }
    expect(backAt).toBeDefined();
    expect(backAt! - restoredAt).toBeLessThan(2_000);
    c.checker.close();
  });

  it('the proxy probes every 500 ms, a HealthChecker with the library defaults every second', async () => {
    const proxy = checkedCluster([{ name: 'a' }], { ...PROXY_HEALTH_DEFAULTS });
    proxy.checker.start();
    await proxy.clock.advance(2_000);
    expect(proxy.probes.map((p) => p.at)).toEqual([0, 500, 1_000, 1_500, 2_000]);
    proxy.checker.close();

    const library = checkedCluster([{ name: 'a' }]);
    library.checker.start();
    await library.clock.advance(3_000);
    expect(library.probes.map((p) => p.at)).toEqual([0, 1_000, 2_000, 3_000]);
    library.checker.close();
  });
});
