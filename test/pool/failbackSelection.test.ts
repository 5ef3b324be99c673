import { describe, expect, it } from 'vitest';
import { HealthChecker } from '../../src/index.js';
import { fakeCluster } from '../helpers/pool.js';

/**
 * Promise (reference, nodes[].tier): "'backup' nodes come after every primary: the pool prefers one
 * only while no primary is usable"; failbackCatchUp only keeps the pool from moving to a node whose
 * head is behind the node in use.
 */
describe('selection with failbackCatchUp', () => {
  it('a caught-up primary recovering while an earlier primary is behind takes the traffic off the backup', () => {
    const c = fakeCluster([{ name: 'p1' }, { name: 'p2' }, { name: 'b', tier: 'backup' }]);
    const { pool } = c;
    for (const name of ['p1', 'p2', 'b']) pool.update(name, { status: 'healthy', head: 100 });
    pool.update('p1', { status: 'unhealthy' });
    pool.update('p2', { status: 'unhealthy' });
    expect(pool.preferred()).toBe('b');
    pool.update('b', { head: 110 });
    // p1 is back first, 2 blocks behind b (healthy: within maxLagBlocks), then p2, caught up.
    pool.update('p1', { status: 'healthy', head: 108 });
    expect(pool.preferred()).toBe('b'); // fine: p1 is behind the node in use
    pool.update('p2', { status: 'healthy', head: 110 });
    // p2 is a usable primary, caught up with b: the backup must not keep the traffic.
    expect(pool.preferred()).toBe('p2');
    expect(c.switches.at(-1)).toMatchObject({ from: 'b', to: 'p2', reason: 'recovered' });
  });

  it('with a real HealthChecker: two primaries back from an outage, one 2 blocks behind, and the pool stays on the backup for good', async () => {
    const cluster = fakeCluster([
      { name: 'p1', head: 108 }, // a steady 2 blocks behind: healthy (maxLagBlocks 5)
      { name: 'p2', head: 110 },
      { name: 'b', head: 110, tier: 'backup' },
    ]);
    const c = { ...cluster, checker: new HealthChecker(cluster.pool) };
    c.checker.start();
    await c.clock.advance(3_000);
    expect(c.pool.preferred()).toBe('p1');
    c.nodes.p1!.setMode('down');
    c.nodes.p2!.setMode('down');
    await c.clock.advance(5_000);
    expect(c.pool.preferred()).toBe('b');
    c.nodes.p1!.setMode('ok');
    c.nodes.p2!.setMode('ok');
    await c.clock.advance(60_000);
    expect(c.pool.health('p1').status).toBe('healthy');
    expect(c.pool.health('p2').status).toBe('healthy');
    // (It stayed on b for as long as p1 was behind b.)
    expect(c.pool.preferred()).toBe('p2');
    c.checker.close();
  });
});
