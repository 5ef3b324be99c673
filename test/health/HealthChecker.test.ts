import { describe, expect, it } from 'vitest';
import type { ProbeEvent } from '../../src/index.js';
import { HealthChecker, SteadyRpcError } from '../../src/index.js';
import { fakeCluster } from '../helpers/pool.js';

function checked(cluster: ReturnType<typeof fakeCluster>, options: ConstructorParameters<typeof HealthChecker>[1] = {}) {
  const checker = new HealthChecker(cluster.pool, options);
  const probes: Array<ProbeEvent & { at: number }> = [];
  checker.on('probe', (event) => probes.push({ ...event, at: cluster.clock.now() }));
  return { checker, probes };
}

describe('HealthChecker rounds', () => {
  it('probes every node at once, then once per interval', async () => {
    const cluster = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    const { checker, probes } = checked(cluster, { intervalMs: 1_000 });
    checker.start();
    await cluster.clock.advance(0);
    expect(probes.map((p) => [p.name, p.at])).toEqual([
      ['a', 0],
      ['b', 0],
    ]);
    await cluster.clock.advance(2_000);
    expect(probes.filter((p) => p.name === 'a').map((p) => p.at)).toEqual([0, 1_000, 2_000]);
    checker.close();
  });

  it('brings nodes up after successesToUp good probes and prefers the first primary', async () => {
    const cluster = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    const { checker } = checked(cluster, { successesToUp: 2 });
    checker.start();
    await cluster.clock.advance(0);
    expect(cluster.pool.health('a').status).toBe('unknown');
    expect(cluster.pool.preferred()).toBeUndefined();
    await cluster.clock.advance(1_000);
    expect(cluster.pool.health('a')).toMatchObject({ status: 'healthy', head: 100, lag: 0, chainId: 1 });
    expect(cluster.pool.preferred()).toBe('a');
    checker.close();
  });

  it('a probe that never answers times out at the configured timeout and does not delay other nodes', async () => {
    const cluster = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    cluster.nodes.a!.setMode('stall');
    const { checker, probes } = checked(cluster, { intervalMs: 1_000, timeoutMs: 3_500 });
    checker.start();
    await cluster.clock.advance(3_499);
    expect(probes.filter((p) => p.name === 'a')).toEqual([]);
    expect(probes.filter((p) => p.name === 'b').map((p) => p.at)).toEqual([0, 1_000, 2_000, 3_000]);
    await cluster.clock.advance(1);
    const a = probes.filter((p) => p.name === 'a');
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({ ok: false, at: 3_500 });
    expect(a[0]!.error).toBeInstanceOf(SteadyRpcError);
    expect(a[0]!.error!.code).toBe('ERR_TIMEOUT');
    // The stalled node was probed every round all the same, each probe with its own timeout.
    await cluster.clock.advance(3_000);
    expect(probes.filter((p) => p.name === 'a').map((p) => [p.at, p.ok])).toEqual([
      [3_500, false],
      [4_500, false],
      [5_500, false],
      [6_500, false],
    ]);
    checker.close();
  });

  it('keeps at most ceil(timeoutMs / intervalMs) probes of a node in flight', async () => {
    const cluster = fakeCluster([{ name: 'a' }]);
    cluster.nodes.a!.setMode('stall');
    const { checker } = checked(cluster, { intervalMs: 1_000, timeoutMs: 3_500 });
    checker.start();
    await cluster.clock.advance(3_400);
    const blockNumberCalls = () => cluster.http.requests.filter((r) => String(r.body).includes('eth_blockNumber')).length;
    expect(blockNumberCalls()).toBe(4); // rounds at 0, 1, 2 and 3 s: 4 in flight
    await cluster.clock.advance(5_600); // from now on one ends (times out) per round and one starts
    expect(blockNumberCalls()).toBe(10); // rounds at 4 to 9 s
    expect(cluster.clock.now()).toBe(9_000);
    checker.close();
    expect(cluster.clock.pendingTimers).toBe(0);
  });

  it('sees a node back from a blackhole at the next round, not when the probe stuck in it times out', async () => {
    const cluster = fakeCluster([{ name: 'a' }, { name: 'b', tier: 'backup' }]);
    const { checker, probes } = checked(cluster, { intervalMs: 1_000, timeoutMs: 5_000, successesToUp: 2, failuresToDown: 3 });
    checker.start();
    await cluster.clock.advance(1_000);
    expect(cluster.pool.preferred()).toBe('a');
    cluster.nodes.a!.blackhole();
    await cluster.clock.advance(8_000); // probes from 2 s on hang; the first times out at 7 s
    expect(cluster.pool.health('a').status).toBe('unhealthy'); // 3 timeouts: 7, 8 and 9 s
    expect(cluster.pool.preferred()).toBe('b');
    cluster.nodes.a!.restore(); // at 9 s, with probes of 5, 6, 7, 8 and 9 s still stuck
    await cluster.clock.advance(1_000); // the 10 s probe answers
    await cluster.clock.advance(1_000); // and the 11 s probe: two successes
    expect(cluster.pool.preferred()).toBe('a');
    expect(cluster.switches.at(-1)).toEqual({ from: 'b', to: 'a', reason: 'recovered' });
    // The stuck probes time out later; once a newer probe succeeded they are out of date and dropped.
    await cluster.clock.advance(5_000);
    expect(cluster.pool.health('a').status).toBe('healthy');
    const after = probes.filter((p) => p.name === 'a' && p.at > 9_000);
    const firstOk = after.findIndex((p) => p.ok);
    expect(after.slice(firstOk).every((p) => p.ok)).toBe(true);
    expect(after.slice(firstOk).map((p) => p.at)).toEqual([10_000, 11_000, 12_000, 13_000, 14_000, 15_000, 16_000]);
    checker.close();
  });

  it('honours the concurrency bound', async () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    const cluster = fakeCluster(names.map((name) => ({ name })));
    for (const name of names) cluster.nodes[name]!.setMode('stall');
    const { checker } = checked(cluster, { concurrency: 2, timeoutMs: 500, intervalMs: 10_000 });
    checker.start();
    await cluster.clock.advance(0);
    const started = () => new Set(cluster.http.requests.map((r) => r.url)).size;
    expect(started()).toBe(2);
    await cluster.clock.advance(500);
    expect(started()).toBe(4);
    await cluster.clock.advance(500);
    expect(started()).toBe(5);
    checker.close();
  });
});

describe('lag', () => {
  it.each([
    [5, 'healthy'],
    [6, 'unhealthy'],
  ])('a node %i blocks behind the best head with maxLagBlocks 5 is %s', async (behind, status) => {
    const cluster = fakeCluster([{ name: 'a', head: 200 }, { name: 'b', head: 200 - behind }]);
    const { checker } = checked(cluster, { maxLagBlocks: 5, failuresToDown: 2, successesToUp: 2 });
    for (let i = 0; i < 3; i++) await checker.checkNow();
    expect(cluster.pool.health('b')).toMatchObject({ status, lag: behind, head: 200 - behind });
  });

  it('measures lag against the best head of any node, so a stalled head falls behind', async () => {
    const cluster = fakeCluster([{ name: 'a', head: 100 }, { name: 'b', head: 100 }]);
    const { checker } = checked(cluster, { maxLagBlocks: 2, failuresToDown: 1, successesToUp: 1 });
    await checker.checkNow();
    expect(cluster.pool.preferred()).toBe('a');
    cluster.nodes.b!.advance(3); // a stops producing blocks
    await checker.checkNow(); // a is probed before b's new head is known: a round later it is
    await checker.checkNow();
    expect(cluster.pool.health('a')).toMatchObject({ status: 'unhealthy', lag: 3, lastError: expect.stringMatching(/3 blocks behind/) });
    expect(cluster.pool.preferred()).toBe('b');
  });
});

describe('hysteresis', () => {
  it('marks a node down only after failuresToDown failures and back up only after successesToUp successes', async () => {
    const cluster = fakeCluster([{ name: 'p' }, { name: 'b', tier: 'backup' }]);
    const { checker } = checked(cluster, { failuresToDown: 3, successesToUp: 2 });
    await checker.checkNow();
    await checker.checkNow();
    expect(cluster.pool.preferred()).toBe('p');
    cluster.nodes.p!.setMode('down');
    await checker.checkNow();
    await checker.checkNow();
    expect(cluster.pool.health('p')).toMatchObject({ status: 'healthy', consecutiveFailures: 2 });
    expect(cluster.pool.preferred()).toBe('p');
    await checker.checkNow();
    expect(cluster.pool.health('p').status).toBe('unhealthy');
    expect(cluster.pool.preferred()).toBe('b');
    cluster.nodes.p!.setMode('ok');
    await checker.checkNow();
    expect(cluster.pool.health('p')).toMatchObject({ status: 'unhealthy', consecutiveSuccesses: 1 });
    expect(cluster.pool.preferred()).toBe('b');
    await checker.checkNow();
    expect(cluster.pool.preferred()).toBe('p');
  });

  it('fires the failback event exactly once when the primary has recovered', async () => {
    const cluster = fakeCluster([{ name: 'p' }, { name: 'b', tier: 'backup' }]);
    const { checker } = checked(cluster, { failuresToDown: 1, successesToUp: 2 });
    await checker.checkNow();
    await checker.checkNow();
    cluster.nodes.p!.setMode('down');
    await checker.checkNow();
    cluster.nodes.p!.setMode('ok');
    for (let i = 0; i < 5; i++) await checker.checkNow();
    expect(cluster.switches).toEqual([
      { from: undefined, to: 'p', reason: 'initial' },
      { from: 'p', to: 'b', reason: 'unhealthy' },
      { from: 'b', to: 'p', reason: 'recovered' },
    ]);
  });

  it('a flapping node does not pull traffic back and forth', async () => {
    const cluster = fakeCluster([{ name: 'p' }, { name: 'b', tier: 'backup' }]);
    const { checker } = checked(cluster, { failuresToDown: 1, successesToUp: 3 });
    await checker.checkNow();
    await checker.checkNow();
    await checker.checkNow();
    cluster.nodes.p!.setMode('down');
    await checker.checkNow();
    for (let i = 0; i < 10; i++) {
      cluster.nodes.p!.setMode(i % 3 === 2 ? 'down' : 'ok'); // never three good probes in a row
      await checker.checkNow();
    }
    expect(cluster.switches.map((s) => s.to)).toEqual(['p', 'b']);
  });
});

describe('chain id', () => {
  it('refuses a node on a different chain than the others, at once', async () => {
    const cluster = fakeCluster([{ name: 'a' }, { name: 'b' }, { name: 'c', chainId: 5 }]);
    const { checker } = checked(cluster, { successesToUp: 1 });
    await checker.checkNow();
    expect(cluster.pool.health('c')).toMatchObject({ status: 'unhealthy', chainId: 5, lastError: 'Node "c" is on chain 5, expected 1' });
    expect(cluster.pool.usable()).toEqual(['a', 'b']);
  });

  it('refuses a node on a chain other than the configured one', async () => {
    const cluster = fakeCluster([{ name: 'a' }, { name: 'b', chainId: 10 }]);
    const { checker } = checked(cluster, { successesToUp: 1, chainId: 10 });
    await checker.checkNow();
    expect(cluster.pool.preferred()).toBe('b');
    expect(cluster.pool.health('a').status).toBe('unhealthy');
  });

  it('reads eth_chainId once per healthy stretch, again after the node was down', async () => {
    const cluster = fakeCluster([{ name: 'a' }]);
    const { checker } = checked(cluster, { successesToUp: 1, failuresToDown: 1 });
    for (let i = 0; i < 4; i++) await checker.checkNow();
    expect(cluster.nodes.a!.calls.get('eth_chainId')).toBe(1);
    expect(cluster.nodes.a!.calls.get('eth_blockNumber')).toBe(4);
    cluster.nodes.a!.setMode('down');
    await checker.checkNow();
    cluster.nodes.a!.setMode('ok');
    await checker.checkNow();
    expect(cluster.nodes.a!.calls.get('eth_chainId')).toBe(2);
  });
});

describe('custom probes', () => {
  it('can replace the EL probe, e.g. with a beacon-node health endpoint', async () => {
    const cluster = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    const slots: Record<string, number> = { a: 1_000, b: 990 };
    const { checker } = checked(cluster, {
      successesToUp: 1,
      failuresToDown: 1,
      maxLagBlocks: 4,
      probe: async ({ node }) => ({ head: slots[node.name]! }),
    });
    await checker.checkNow();
    expect(cluster.pool.health('a')).toMatchObject({ status: 'healthy', head: 1_000 });
    expect(cluster.pool.health('b')).toMatchObject({ status: 'unhealthy', lag: 10 });
  });

  it('counts a probe that throws as a failure with its reason', async () => {
    const cluster = fakeCluster([{ name: 'a' }]);
    const { checker, probes } = checked(cluster, { failuresToDown: 1, probe: async () => { throw new Error('beacon says syncing'); } });
    await checker.checkNow();
    expect(probes[0]).toMatchObject({ ok: false });
    expect(cluster.pool.health('a')).toMatchObject({ status: 'unhealthy', lastError: 'Probe of "a" failed: beacon says syncing' });
  });
});

describe('lifecycle', () => {
  it('close() leaves no timer, aborts probes in flight and ignores their late results', async () => {
    const cluster = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    cluster.nodes.a!.setMode('stall');
    const { checker, probes } = checked(cluster);
    checker.start();
    await cluster.clock.advance(1_500);
    const before = probes.length;
    checker.close();
    checker.close();
    expect(cluster.clock.pendingTimers).toBe(0);
    await cluster.clock.advance(10_000);
    expect(probes.length).toBe(before);
    expect(() => checker.start()).toThrow(/closed/);
  });

  it('stop() then start() resumes probing', async () => {
    const cluster = fakeCluster([{ name: 'a' }]);
    const { checker, probes } = checked(cluster);
    checker.start();
    await cluster.clock.advance(0);
    checker.stop();
    expect(checker.running).toBe(false);
    await cluster.clock.advance(5_000);
    expect(probes).toHaveLength(1);
    checker.start();
    await cluster.clock.advance(0);
    expect(probes).toHaveLength(2);
    checker.close();
  });

  it('validates its options with precise messages', () => {
    const cluster = fakeCluster([{ name: 'a' }]);
    expect(() => new HealthChecker(cluster.pool, { intervalMs: 0 })).toThrow('Expected intervalMs to be an integer >= 1, got 0');
    expect(() => new HealthChecker(cluster.pool, { failuresToDown: 1.5 })).toThrow('Expected failuresToDown to be an integer >= 1, got 1.5');
  });
});
