import { describe, expect, it } from 'vitest';
import type { ProbeEvent } from '../../src/index.js';
import { HealthChecker } from '../../src/index.js';
import { fakeCluster } from '../helpers/pool.js';

// Found in review: a host that closed its pool but not the HealthChecker started on it left the
// checker probing every node each interval for good (its results dropped): timers and requests
// to nodes nobody uses any more. A closed pool now ends its checker at the next round.
describe('a pool closed under a running HealthChecker', () => {
  it('ends the checker at its next round: no more probes, no timer left', async () => {
    const c = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    const checker = new HealthChecker(c.pool, { intervalMs: 1_000 });
    const probes: ProbeEvent[] = [];
    checker.on('probe', (p) => probes.push(p));
    checker.start();
    await c.clock.advance(2_500);
    const before = probes.length;
    expect(before).toBeGreaterThan(0);
    c.pool.close();
    await c.clock.advance(10_000);
    expect(probes.length).toBe(before);
    expect(c.clock.pendingTimers).toBe(0);
    expect(() => checker.start()).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
  });
});
