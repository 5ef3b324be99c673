import { describe, expect, it } from 'vitest';
import { NodePool } from '../../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode } from '../../../src/testing/index.js';
import { fakeCluster, outcome } from '../../helpers/pool.js';

// docs/reference.md, `new NodePool(options)`.

const call = { jsonrpc: '2.0' as const, id: 1, method: 'eth_chainId', params: [] };

describe('nodes[].weight: default 1, ignored by the default selector', () => {
  it('snapshots show weight 1 when none is given, and a far heavier second node is not preferred', () => {
    const { pool } = fakeCluster([{ name: 'a' }, { name: 'b', weight: 1_000 }]);
    expect(pool.snapshot().nodes.map((n) => [n.name, n.weight])).toEqual([['a', 1], ['b', 1_000]]);
    pool.update('a', { status: 'healthy' });
    pool.update('b', { status: 'healthy' });
    expect(pool.preferred()).toBe('a'); // first usable in preference order, whatever the weights
    expect(pool.usable()).toEqual(['a', 'b']);
  });
});

describe('headOf(name) is the probed head, health(name).head', () => {
  it('undefined before any head was written, then the head written', () => {
    const { pool } = fakeCluster([{ name: 'a' }]);
    expect(pool.headOf('a')).toBeUndefined();
    pool.update('a', { head: 1_234 });
    expect(pool.headOf('a')).toBe(1_234);
    expect(pool.headOf('a')).toBe(pool.health('a').head);
  });
});

// The doc said "`available(name)` (not cooling down, circuit not open)" (found by the audit). Once a
// cool-down has ended, one request goes first (the trial, as the `rateLimit.cooldownMs` row says),
// and while it is under way available() is false, though the node is not cooling down and its
// circuit is closed: the doc now says so.
describe('available(name) (not cooling down, circuit not open, no trial under way)', () => {
  it('is false while the first request after its cool-down is under way, though the snapshot shows no cool-down and a closed circuit', async () => {
    const { pool, nodes, clock } = fakeCluster([{ name: 'a' }, { name: 'b' }], { http: { retryDelayMs: 0 } });
    pool.update('a', { status: 'healthy' });
    pool.update('b', { status: 'healthy' });
    pool.coolDown('a'); // 1 s, naming no wait
    expect(pool.available('a')).toBe(false);
    await clock.advance(1_000);
    expect(pool.available('a')).toBe(true);
    nodes.a!.setMode('stall');
    const pending = outcome(pool.request(call)); // the trial, to a
    await clock.advance(0);
    const snap = pool.snapshot().nodes.find((n) => n.name === 'a')!;
    expect(snap).toMatchObject({ rateLimited: false, circuit: 'closed' });
    expect(pool.available('a')).toBe(false);
    pool.close();
    await clock.flush();
    expect(pending.done).toBe(true);
  });
});

// The doc said `nodes[].revealPath` shows the path in "error messages" too (found by the audit):
// the errors request() rejects with (and the probe errors, from the same transports) quote the URL
// through SteadyRpcError.forUrl, which always uses the short form (src/pool/NodeConfig.ts says so).
// The doc now says so.
describe('nodes[].revealPath', () => {
  function pool() {
    const clock = new FakeClock();
    const http = new FakeHttpTransport();
    const node = new FakeNode({ name: 'a', clock });
    http.route('http://a.test/v2/mainnet', node.http);
    node.setMode('down');
    return { clock, p: new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/v2/mainnet', revealPath: true }], clock, httpTransport: http, http: { retryDelayMs: 0 } }) };
  }

  it('control: the snapshot shows the path', () => {
    expect(pool().p.snapshot().nodes[0]!.http).toBe('http://a.test/v2/mainnet');
  });

  it('an error message of request() shows the short form, not the path', async () => {
    const { p } = pool();
    const error = (await p.request(call).catch((e: unknown) => e)) as Error & { details?: string };
    expect(`${error.message} ${error.details}`).not.toContain('/v2/mainnet');
    expect(`${error.message} ${error.details}`).toContain('http://a.test/***');
    p.close();
  });
});
