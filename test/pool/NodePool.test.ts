import { describe, expect, it } from 'vitest';
import type { NodeHealth } from '../../src/index.js';
import { NodeHttpTransport, NodePool, SteadyRpcError } from '../../src/index.js';
import { FakeClock } from '../../src/testing/index.js';
import { fakeCluster } from '../helpers/pool.js';

const healthy: Partial<NodeHealth> = { status: 'healthy', head: 100 };
const down: Partial<NodeHealth> = { status: 'unhealthy' };
const unknown: Partial<NodeHealth> = { status: 'unknown' };

function poolOf(spec: Array<[name: string, tier: 'primary' | 'backup']>) {
  return new NodePool({
    nodes: spec.map(([name, tier]) => ({ name, tier, http: `http://${name}.test/` })),
    clock: new FakeClock(),
  });
}

describe('which node now', () => {
  const layout: Array<[string, 'primary' | 'backup']> = [
    ['p1', 'primary'],
    ['p2', 'primary'],
    ['b1', 'backup'],
    ['b2', 'backup'],
  ];
  it.each<[string, Record<string, Partial<NodeHealth>>, string | undefined]>([
    ['all healthy: the first primary', { p1: healthy, p2: healthy, b1: healthy, b2: healthy }, 'p1'],
    ['first primary down: the next primary', { p1: down, p2: healthy, b1: healthy, b2: healthy }, 'p2'],
    ['all primaries down: the first healthy backup', { p1: down, p2: down, b1: healthy, b2: healthy }, 'b1'],
    ['all primaries and the first backup down: the second backup', { p1: down, p2: down, b1: down, b2: healthy }, 'b2'],
    ['everything down: none', { p1: down, p2: down, b1: down, b2: down }, undefined],
    ['heads never read (unknown) never count as healthy', { p1: unknown, p2: unknown, b1: unknown, b2: unknown }, undefined],
    ['unknown primaries do not beat a healthy backup', { p1: unknown, p2: unknown, b1: healthy, b2: unknown }, 'b1'],
    [
      'a primary back but not yet past hysteresis stays out',
      { p1: { status: 'unhealthy', consecutiveSuccesses: 1 }, p2: down, b1: healthy, b2: healthy },
      'b1',
    ],
    [
      'a node on the wrong chain (marked unhealthy by the checker) is skipped',
      { p1: { status: 'unhealthy', chainId: 5 }, p2: healthy, b1: healthy, b2: healthy },
      'p2',
    ],
  ])('%s', (_case, states, expected) => {
    const pool = poolOf(layout);
    for (const [name, state] of Object.entries(states)) pool.update(name, state);
    expect(pool.preferred()).toBe(expected);
    expect(pool.snapshot().preferred).toBe(expected);
    // usable(): the chosen node, then every other healthy one in preference order (what sessions try).
    const healthyNow = pool.snapshot().nodes.filter((n) => n.status === 'healthy' && !n.quarantined).map((n) => n.name);
    expect(pool.usable()).toEqual(expected === undefined ? healthyNow : [expected, ...healthyNow.filter((n) => n !== expected)]);
  });

  it('usable() leaves quarantined nodes out until their time is up', async () => {
    const { pool, clock } = fakeCluster([{ name: 'p' }, { name: 'q' }, { name: 'b', tier: 'backup' }]);
    for (const name of ['p', 'q', 'b']) pool.update(name, healthy);
    pool.quarantine('q', 1_000);
    expect(pool.usable()).toEqual(['p', 'b']);
    expect(pool.candidates()).toEqual(['p', 'b']);
    await clock.advance(1_000);
    expect(pool.usable()).toEqual(['p', 'q', 'b']);
  });
});

describe('switch events', () => {
  it('describe from, to and why, after the pool is consistent', () => {
    const pool = poolOf([
      ['p', 'primary'],
      ['b', 'backup'],
    ]);
    const seen: unknown[] = [];
    pool.on('switch', (event) => seen.push({ ...event, preferredWhenEmitted: pool.preferred() }));
    pool.update('b', healthy);
    pool.update('p', healthy);
    pool.update('p', down);
    pool.update('b', down);
    pool.update('b', healthy);
    pool.update('p', healthy);
    expect(seen).toEqual([
      { from: undefined, to: 'b', reason: 'initial', preferredWhenEmitted: 'b' },
      { from: 'b', to: 'p', reason: 'better-available', preferredWhenEmitted: 'p' },
      { from: 'p', to: 'b', reason: 'unhealthy', preferredWhenEmitted: 'b' },
      { from: 'b', to: undefined, reason: 'unhealthy', preferredWhenEmitted: undefined },
      { from: undefined, to: 'b', reason: 'recovered', preferredWhenEmitted: 'b' },
      { from: 'b', to: 'p', reason: 'recovered', preferredWhenEmitted: 'p' },
    ]);
  });

  it('are not emitted when an update does not change the choice', () => {
    const pool = poolOf([
      ['p', 'primary'],
      ['b', 'backup'],
    ]);
    pool.update('p', healthy);
    let count = 0;
    pool.on('switch', () => count++);
    pool.update('b', healthy);
    pool.update('b', down);
    pool.update('p', { head: 120 });
    expect(count).toBe(0);
  });
});

describe('quarantine', () => {
  it('keeps a refused node out until its time is up, then it comes back as recovered', async () => {
    const { pool, clock, switches } = fakeCluster([{ name: 'p' }, { name: 'b', tier: 'backup' }]);
    pool.update('p', healthy);
    pool.update('b', healthy);
    pool.quarantine('p', 60_000, new Error('HTTP 401'));
    expect(pool.preferred()).toBe('b');
    expect(pool.snapshot().nodes[0]).toMatchObject({ quarantined: true, lastError: 'HTTP 401' });
    await clock.advance(59_999);
    expect(pool.preferred()).toBe('b');
    await clock.advance(1);
    expect(pool.preferred()).toBe('p');
    expect(switches.slice(-2)).toEqual([
      { from: 'p', to: 'b', reason: 'unhealthy' },
      { from: 'b', to: 'p', reason: 'recovered' },
    ]);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('snapshot', () => {
  it('is a frozen copy that later updates do not change', () => {
    const pool = poolOf([['p', 'primary']]);
    pool.update('p', { ...healthy, latencyMs: 3 });
    const snap = pool.snapshot();
    pool.update('p', { head: 200 });
    expect(Object.isFrozen(snap)).toBe(true);
    expect(Object.isFrozen(snap.nodes[0])).toBe(true);
    expect(snap.nodes[0]).toMatchObject({ name: 'p', status: 'healthy', head: 100, latencyMs: 3, preferred: true });
    expect(snap.bestHead).toBe(100);
  });
});

describe('lifecycle', () => {
  it('close() is idempotent, clears its timer, and later use fails with ERR_CLOSED', async () => {
    const { pool, clock } = fakeCluster([{ name: 'p' }, { name: 'b' }]);
    pool.quarantine('p', 1000);
    pool.close();
    pool.close();
    expect(clock.pendingTimers).toBe(0);
    expect(() => pool.update('p', healthy)).toThrow(SteadyRpcError);
    await expect(pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_chainId' })).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('close() closes the HTTP transport it made itself (NodeHttpTransport in Node), never one it was given', async () => {
    const own = new NodePool({ nodes: [{ name: 'a', http: 'http://127.0.0.1:1/' }], clock: new FakeClock() });
    expect(own.httpTransport).toBeInstanceOf(NodeHttpTransport);
    own.close();
    await expect(own.httpTransport.post({ url: 'http://127.0.0.1:1/' }, '{}', new AbortController().signal)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    const given = new NodeHttpTransport();
    const pool = new NodePool({ nodes: [{ name: 'a', http: 'http://127.0.0.1:1/' }], clock: new FakeClock(), httpTransport: given });
    pool.close();
    await expect(given.post({ url: 'http://127.0.0.1:1/' }, '{}', new AbortController().signal)).rejects.not.toMatchObject({ code: 'ERR_CLOSED' });
    given.close();
  });

  it('supports await using', async () => {
    const { pool } = fakeCluster([{ name: 'p' }]);
    {
      await using _p = pool;
    }
    expect(pool.closed).toBe(true);
  });
});
