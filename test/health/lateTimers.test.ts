import { describe, expect, it } from 'vitest';
import type { HttpResponse, ProbeEvent } from '../../src/index.js';
import { HealthChecker } from '../../src/index.js';
import { FakeClock } from '../../src/testing/index.js';
import { FreezableClock } from '../helpers/freezableClock.js';
import { fakeCluster } from '../helpers/pool.js';

/**
 * A healthy node a, probed every second with a 3 s timeout, on a page's clock. Its answers can be
 * held (`hold()`): they wait until `release()`, as a network event waits in the event queue behind
 * the timers of a page that was frozen.
 */
function frozenPage() {
  const clock = new FreezableClock(new FakeClock());
  const cluster = fakeCluster([{ name: 'a' }], { clock });
  const { inner } = clock;
  let held: Array<() => void> | undefined;
  const answer = cluster.nodes.a!.http;
  cluster.http.route('http://a.test/', (body, signal, endpoint) => {
    const queue = held;
    if (!queue) return answer(body, signal, endpoint);
    return new Promise<HttpResponse>((resolve, reject) => queue.push(() => answer(body, signal, endpoint).then(resolve, reject)));
  });
  const checker = new HealthChecker(cluster.pool, { intervalMs: 1_000, timeoutMs: 3_000, successesToUp: 1, failuresToDown: 1 });
  const probes: ProbeEvent[] = [];
  checker.on('probe', (event) => probes.push(event));
  return {
    clock,
    cluster,
    checker,
    probes,
    hold: () => void (held = []),
    release: () => {
      const queue = held ?? [];
      held = undefined;
      for (const deliver of queue) deliver();
    },
    advance: (ms: number) => inner.advance(ms),
  };
}

/**
 * `a` healthy; a probe is on its way when the page is frozen for a minute, its answer held behind
 * the timers; then the page thaws: the overdue timers run first (the probe timeout 57 s late).
 */
async function frozenAMinute() {
  const page = frozenPage();
  page.checker.start();
  await page.advance(1_000);
  expect(page.cluster.pool.health('a').status).toBe('healthy');
  page.hold();
  await page.advance(1_000);
  page.clock.freeze();
  await page.advance(60_000);
  page.clock.thaw();
  return page;
}

describe('background tabs: a probe timeout that fires late does not mark a live node down', () => {
  it('a page frozen for a minute: the probes waiting on it get one more timeout, their answers come, the node stays healthy', async () => {
    const page = await frozenAMinute();
    page.release();
    await page.advance(0);
    expect(page.probes.filter((p) => !p.ok)).toEqual([]);
    expect(page.cluster.pool.health('a').status).toBe('healthy');
    page.checker.close();
    page.cluster.pool.close();
  });

  it('the extra timeout is bounded: a node that stays silent is still found down, one timeout later', async () => {
    const page = await frozenAMinute(); // a's answers never released: the node is gone
    await page.advance(0);
    expect(page.cluster.pool.health('a').status).toBe('healthy');
    await page.advance(3_000);
    const failed = page.probes.filter((p) => !p.ok);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]!.error!.code).toBe('ERR_TIMEOUT');
    expect(page.cluster.pool.health('a').status).toBe('unhealthy');
    page.checker.close();
    page.cluster.pool.close();
  });

  it('a timer on time still times out at once (the rule is for timers over a second late)', async () => {
    const page = frozenPage();
    page.checker.start();
    await page.advance(1_000);
    page.hold();
    await page.advance(1_000 + 3_000);
    expect(page.probes.filter((p) => !p.ok).map((p) => p.error!.code)).toContain('ERR_TIMEOUT');
    page.checker.close();
    page.cluster.pool.close();
  });
});
