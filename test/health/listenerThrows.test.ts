import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HealthChecker, type SwitchEvent } from '../../src/index.js';
import { fakeCluster } from '../helpers/pool.js';

/**
 * Found in review: `NodePool.update()` emits `health`, then `switch` when the choice changed. A
 * `health` listener that threw stopped the `switch`; the choice was made already, so no later update
 * told it, and sessions (which follow `switch`) stayed on the node that had gone. Each event is
 * emitted now, and the listener's error is thrown after them, to the caller of `update()` (under the
 * health checker, as any throw from a listener on a timer, it surfaces unhandled).
 */
describe('a pool listener that throws', () => {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  beforeEach(() => void process.on('unhandledRejection', onRejection));
  afterEach(() => {
    process.off('unhandledRejection', onRejection);
    rejections.length = 0;
  });

  it('update(): the switch is emitted all the same, and the error is thrown after it', () => {
    const c = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    const { pool } = c;
    pool.update('a', { status: 'healthy', head: 100 });
    pool.update('b', { status: 'healthy', head: 100 });
    expect(pool.preferred()).toBe('a');
    let armed = true;
    pool.on('health', () => {
      if (armed) {
        armed = false;
        throw new Error('a bug in an app listener');
      }
    });
    expect(() => pool.update('a', { status: 'unhealthy' })).toThrow('a bug in an app listener');
    expect(pool.preferred()).toBe('b');
    expect(c.switches.at(-1)).toMatchObject({ from: 'a', to: 'b' });
    pool.close();
  });

  it('under the health checker: the preferred node dies and a health listener throws: the switch is told, the error surfaces, the probes go on', async () => {
    const c = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    const switches: SwitchEvent[] = [];
    c.pool.on('switch', (e) => switches.push(e));
    const checker = new HealthChecker(c.pool, { intervalMs: 1_000 });
    checker.start();
    await c.clock.advance(2_000);
    expect(c.pool.preferred()).toBe('a');
    const thrown = new Error('a bug in an app listener');
    c.pool.on('health', (e) => {
      if (e.name === 'a' && e.previous === 'healthy' && e.health.status === 'unhealthy') throw thrown;
    });
    c.nodes.a!.setMode('down');
    await c.clock.advance(5_000);
    await new Promise((resolve) => setImmediate(resolve));
    expect(c.pool.preferred()).toBe('b');
    expect(switches.at(-1)).toMatchObject({ from: 'a', to: 'b', reason: 'unhealthy' });
    expect(rejections).toEqual([thrown]);
    // The rounds go on: a comes back.
    c.nodes.a!.setMode('ok');
    await c.clock.advance(5_000);
    expect(c.pool.preferred()).toBe('a');
    checker.close();
    c.pool.close();
  });
});
