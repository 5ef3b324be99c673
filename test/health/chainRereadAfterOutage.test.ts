import { describe, expect, it } from 'vitest';
import { HealthChecker } from '../../src/index.js';
import { fakeCluster } from '../helpers/pool.js';

/**
 * Found in review (docs/guides/health.md: eth_chainId is read once per healthy stretch; a node on
 * another chain is unhealthy at once and never a candidate). The chain was read again only when a
 * node turned unhealthy: one that answered once while down and then went down again (already
 * unhealthy) came back on another chain unread, healthy and preferred.
 */
describe('the chain id, read again after an outage', () => {
  it('a node that answers once while down, goes down again and comes back on another chain is found on it', async () => {
    const c = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    const checker = new HealthChecker(c.pool, { chainId: 1, intervalMs: 1_000, failuresToDown: 3, successesToUp: 2 });
    const chainReads: number[] = [];
    checker.start();
    await c.clock.advance(1_500);
    expect(c.pool.preferred()).toBe('a');
    const a = c.nodes.a!;
    a.setMode('down'); // probes at 2,000, 3,000, 4,000 fail: unhealthy
    await c.clock.advance(3_000); // t = 4,500
    expect(c.pool.health('a').status).toBe('unhealthy');
    a.setMode('ok'); // one good probe at 5,000 (reads the chain id: still 1)
    await c.clock.advance(1_000); // t = 5,500
    chainReads.push(a.calls.get('eth_chainId') ?? 0);
    a.setMode('down'); // 6,000 fails: still unhealthy
    await c.clock.advance(1_000); // t = 6,500
    a.chainId = 5; // redeployed on another chain
    a.setMode('ok'); // 7,000 and 8,000 good
    await c.clock.advance(3_000); // t = 9,500
    chainReads.push(a.calls.get('eth_chainId') ?? 0);
    checker.close();
    expect.soft(chainReads[1], 'eth_chainId was not read again after the second outage').toBeGreaterThan(chainReads[0]!);
    expect.soft(c.pool.health('a')).toMatchObject({ wrongChain: true, status: 'unhealthy' });
    expect(c.pool.preferred()).toBe('b');
  });
});
