import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProbeEvent } from '../../src/index.js';
import { HealthChecker } from '../../src/index.js';
import { fakeCluster } from '../helpers/pool.js';

/**
 * Found in review: a pool listener may close the pool (NodePool.update() and quarantine() allow for
 * it). A probe answered with a rate limit cools the node down (`rateLimited`, and a `health` event
 * for its `rateLimitedUntil`), then wrote the probe into the node's record: with the pool closed by
 * a listener of either event, that write threw ERR_CLOSED from the checker's timer, an unhandled
 * rejection. The record is not written into a closed pool.
 */
describe('a pool listener closes the pool while a rate-limited probe is recorded', () => {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  beforeEach(() => void process.on('unhandledRejection', onRejection));
  afterEach(() => {
    process.off('unhandledRejection', onRejection);
    rejections.length = 0;
  });

  it.each(['rateLimited', 'health'] as const)('from its %s event: no unhandled rejection, nothing left running', async (event) => {
    const c = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    c.http.route('http://a.test/', async () => ({ status: 429, body: 'slow down' }));
    const checker = new HealthChecker(c.pool, { intervalMs: 1_000 });
    const probes: ProbeEvent[] = [];
    checker.on('probe', (p) => probes.push(p));
    c.pool.on(event, () => c.pool.close());
    checker.start();
    await c.clock.advance(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(c.pool.closed).toBe(true);
    expect(rejections).toEqual([]);
    checker.close();
    expect(c.clock.pendingTimers).toBe(0);
  });
});
