import { describe, expect, it } from 'vitest';
import { PROXY_DEADLINE_DEFAULTS, PROXY_HEALTH_DEFAULTS, PROXY_LIMIT_DEFAULTS } from '../../../examples/proxy-server.js';
import { HealthChecker } from '../../../src/index.js';
import { fakeCluster } from '../../helpers/pool.js';

/**
 * Audit of docs/guides/proxy.md:30-33 ("Defaults: health rounds every 500 ms, 2 good probes to come
 * back, 3 failed probes to go down, 2 s probe timeout. With them the proxy fails back to a
 * recovered primary in under 2 s and ... the health checker usually marks it down first, after
 * 2 s + 2 × 500 ms") and of the default columns of the Limits and Deadlines tables
 * (proxy.md:69-92, 126). test/integration/proxy.test.ts measures failback against anvil with a
 * loose bound; nothing pinned the numbers themselves. The checker is built as startProxyServer
 * builds it (examples/proxy-server.ts:123: `{ ...PROXY_HEALTH_DEFAULTS, ...health }`).
 */

function proxyChecker() {
  const cluster = fakeCluster([{ name: 'a' }, { name: 'b', tier: 'backup' }]);
  const checker = new HealthChecker(cluster.pool, { ...PROXY_HEALTH_DEFAULTS, clock: cluster.clock });
  return { ...cluster, checker };
}

describe('the reference proxy health defaults (proxy.md:30)', () => {
  it('are 500 ms rounds, 2 s probe timeout, 3 failures to go down, 2 successes to come back', () => {
    expect(PROXY_HEALTH_DEFAULTS).toMatchObject({ intervalMs: 500, timeoutMs: 2_000, failuresToDown: 3, successesToUp: 2 });
  });

  it('a blackholed primary is marked down 2 s + 2 × 500 ms after the first probe it swallowed, not 1 ms before', async () => {
    const { clock, nodes, pool, checker } = proxyChecker();
    checker.start();
    await clock.advance(999); // rounds at 0 and 500: both nodes up
    expect(pool.health('a').status).toBe('healthy');
    expect(pool.preferred()).toBe('a');
    nodes.a!.blackhole(); // the round at 1 000 is the first whose probe it swallows
    await clock.advance(1 + 2_000 + 2 * 500 - 1);
    expect(pool.health('a').status).toBe('healthy');
    await clock.advance(1);
    expect(pool.health('a').status).toBe('unhealthy');
    expect(pool.preferred()).toBe('b');
    checker.close();
  });

  it('a recovered primary is preferred again at its second good probe: within 2 rounds (1 s), under the 2 s the guide promises', async () => {
    const { clock, nodes, pool, checker } = proxyChecker();
    checker.start();
    await clock.advance(999);
    nodes.a!.setMode('down');
    await clock.advance(5_000);
    expect(pool.preferred()).toBe('b');
    const recoveredAt = clock.now(); // just before the round at 6 000
    nodes.a!.restore();
    await clock.advance(1); // first good probe, at the round of 6 000
    expect(pool.health('a').status).toBe('unhealthy');
    await clock.advance(499);
    expect(pool.preferred()).toBe('b');
    await clock.advance(1); // second good probe, one round later
    expect(pool.preferred()).toBe('a');
    expect(clock.now() - recoveredAt).toBeLessThan(2_000);
    checker.close();
  });
});

describe('the reference proxy limit and deadline defaults (proxy.md:69-92, 126)', () => {
  it('client HTTP deadlines: headers 20 s, request 30 s, keep-alive 5 s, checked every 5 s', () => {
    expect(PROXY_DEADLINE_DEFAULTS).toEqual({ headersTimeoutMs: 20_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000, checkIntervalMs: 5_000 });
  });

  it('10,000 clients, 1,000 POSTs in progress, a 10 s drain, Retry-After: 1', () => {
    expect(PROXY_LIMIT_DEFAULTS).toEqual({ maxClients: 10_000, maxHttpInFlight: 1_000, drainMs: 10_000, retryAfterSec: 1 });
  });
});
