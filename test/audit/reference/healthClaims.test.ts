import { describe, expect, it } from 'vitest';
import type { ProbeEvent } from '../../../src/index.js';
import { HealthChecker } from '../../../src/index.js';
import { FakeClock } from '../../../src/testing/index.js';
import { FreezableClock } from '../../helpers/freezableClock.js';
import { fakeCluster } from '../../helpers/pool.js';

// docs/reference.md, `new HealthChecker(pool, options)`: "A probe whose timeout timer runs more
// than 1 s late (a hidden or frozen browser tab, a machine that slept) gets one more `timeoutMs`
// before it fails." test/health/lateTimers.test.ts shows a timer a minute late; this pins the 1 s
// boundary (the timer 1 000 ms late fails the probe, 1 001 ms late does not).

describe('a probe timeout that runs late', () => {
  async function lateBy(lateMs: number) {
    const clock = new FreezableClock(new FakeClock());
    const cluster = fakeCluster([{ name: 'a' }], { clock });
    cluster.nodes.a!.setMode('stall'); // never answers
    const checker = new HealthChecker(cluster.pool, { timeoutMs: 3_000, failuresToDown: 1 });
    const probes: ProbeEvent[] = [];
    checker.on('probe', (event) => probes.push(event));
    void checker.checkNow();
    await clock.inner.advance(3_000 - 1);
    clock.freeze();
    await clock.inner.advance(1 + lateMs); // the timeout falls due while frozen
    clock.thaw(); // it runs lateMs late
    await clock.inner.advance(0);
    return { clock, checker, probes };
  }

  it('1 000 ms late: the probe fails then, with the timeout', async () => {
    const { checker, probes } = await lateBy(1_000);
    expect(probes).toHaveLength(1);
    expect(probes[0]).toMatchObject({ name: 'a', ok: false });
    expect(probes[0]!.error?.code).toBe('ERR_TIMEOUT');
    checker.close();
  });

  it('1 001 ms late: one more timeoutMs (3 s), and it fails at its end, not 1 ms before', async () => {
    const { clock, checker, probes } = await lateBy(1_001);
    expect(probes).toEqual([]);
    await clock.inner.advance(3_000 - 1);
    expect(probes).toEqual([]);
    await clock.inner.advance(1);
    expect(probes).toHaveLength(1);
    expect(probes[0]!.error?.code).toBe('ERR_TIMEOUT');
    checker.close();
  });
});
