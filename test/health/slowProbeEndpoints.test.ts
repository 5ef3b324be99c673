import { describe, expect, it } from 'vitest';
import { HealthChecker, NodePool } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeSocketTransport } from '../../src/testing/index.js';

/**
 * "close(): stops for good; no timer or probe is left behind", and a probe does not outlive its
 * timeout, also when the node's endpoint is a function (fresh credentials) that takes a while.
 */
describe('probes whose endpoint function is slow', () => {
  function world(endpointDelayMs: number, intervalMs = 1_000, kind: 'ws' | 'http' = 'ws') {
    const clock = new FakeClock();
    const sockets = new FakeSocketTransport(); // no route: a ws node never accepts (blackholed)
    const http = new FakeHttpTransport(); // no route either
    const endpoint = (url: string) => () => new Promise<{ url: string }>((resolve) => clock.setTimeout(() => resolve({ url }), endpointDelayMs));
    const pool = new NodePool({
      nodes: [kind === 'ws' ? { name: 'a', ws: endpoint('ws://a.test/') } : { name: 'a', http: endpoint('http://a.test/') }],
      clock,
      httpTransport: http,
    });
    const checker = new HealthChecker(pool, { socketTransport: sockets, intervalMs, timeoutMs: 5_000 });
    const probes: Array<{ ok: boolean; at: number }> = [];
    checker.on('probe', (e) => probes.push({ ok: e.ok, at: clock.now() }));
    return { clock, sockets, http, pool, checker, probes };
  }

  it('ws-only node: no probe socket is opened (or left open) after the checker was closed', async () => {
    const w = world(2_000);
    w.checker.start();
    await w.clock.advance(500); // the first probe waits for its endpoint
    w.checker.close();
    w.pool.close();
    await w.clock.advance(10_000);
    expect(w.sockets.sockets).toHaveLength(0);
  });

  it('ws-only node: a probe that timed out while its endpoint resolved opens no socket', async () => {
    const w = world(6_000, 60_000); // the endpoint takes longer than timeoutMs; one round in the window
    w.checker.start();
    await w.clock.advance(30_000);
    expect(w.probes).toEqual([{ ok: false, at: 5_000 }]); // timed out
    expect(w.sockets.sockets).toHaveLength(0);
    w.checker.close();
    w.pool.close();
  });

  it('ws-only node: a probe that times out once its socket is open closes it', async () => {
    const w = world(1_000, 60_000);
    w.checker.start();
    await w.clock.advance(30_000);
    expect(w.probes).toEqual([{ ok: false, at: 5_000 }]);
    expect(w.sockets.sockets.length).toBeGreaterThan(0);
    expect(w.sockets.sockets.filter((s) => s.state !== 'closed')).toHaveLength(0);
    w.checker.close();
    w.pool.close();
  });

  it('http node: a probe that timed out while its endpoint resolved sends nothing', async () => {
    const w = world(6_000, 60_000, 'http');
    w.checker.start();
    await w.clock.advance(30_000);
    expect(w.probes).toEqual([{ ok: false, at: 5_000 }]);
    expect(w.http.requests).toHaveLength(0);
    w.checker.close();
    w.pool.close();
  });
});
