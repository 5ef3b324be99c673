/**
 * Testing your own failover logic with steadyrpc/testing: no nodes, no sockets, no sleeping.
 * `PrimaryWatchdog` stands for code of yours — here, an alert when traffic has been off the primary
 * for too long — and the tests drive real NodePool, HealthChecker and UpstreamSession objects with a
 * fake clock and scriptable fake nodes.
 */
import { describe, expect, it } from 'vitest';
import { HealthChecker, NodePool, UpstreamSession, type Clock, type SwitchEvent } from 'steadyrpc';
import { FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from 'steadyrpc/testing';

/** Your code: calls `alert` once traffic has been off the primary for `limitMs`. */
class PrimaryWatchdog {
  #timer: unknown;
  constructor(pool: NodePool, clock: Clock, limitMs: number, alert: (event: SwitchEvent) => void) {
    pool.on('switch', (event) => {
      clock.clearTimeout(this.#timer);
      if (event.to !== pool.nodes[0]!.name) this.#timer = clock.setTimeout(() => alert(event), limitMs);
    });
  }
}

function cluster() {
  const clock = new FakeClock();
  const http = new FakeHttpTransport();
  const sockets = new FakeSocketTransport();
  const primary = new FakeNode({ name: 'primary', head: 100, balance: 1n });
  const backup = new FakeNode({ name: 'backup', head: 100, balance: 2n });
  for (const node of [primary, backup]) {
    http.route(`http://${node.name}/`, node.http);
    sockets.route(`ws://${node.name}/`, node.socket);
  }
  const pool = new NodePool({
    nodes: [
      { name: 'primary', http: 'http://primary/', ws: 'ws://primary/' },
      { name: 'backup', http: 'http://backup/', ws: 'ws://backup/', tier: 'backup' },
    ],
    clock,
    httpTransport: http,
  });
  const health = new HealthChecker(pool, { intervalMs: 1_000, failuresToDown: 3, successesToUp: 2 });
  return { clock, sockets, primary, backup, pool, health };
}

describe('my primary watchdog', () => {
  it('alerts when the primary has been down for 30 s, and not before', async () => {
    const { clock, primary, pool, health } = cluster();
    const alerts: SwitchEvent[] = [];
    new PrimaryWatchdog(pool, clock, 30_000, (event) => alerts.push(event));
    health.start();
    await clock.advance(2_000); // two good rounds: both nodes up, primary preferred
    expect(pool.preferred()).toBe('primary');

    primary.setMode('down'); // refuse connections
    await clock.advance(3_000); // three failed rounds: the pool moves to the backup
    expect(pool.preferred()).toBe('backup');
    await clock.advance(29_000);
    expect(alerts).toEqual([]);
    await clock.advance(1_000);
    expect(alerts).toEqual([{ from: 'primary', to: 'backup', reason: 'unhealthy' }]);
    health.close();
    pool.close();
  });

  it('does not alert when the primary comes back in time', async () => {
    const { clock, primary, pool, health } = cluster();
    const alerts: SwitchEvent[] = [];
    new PrimaryWatchdog(pool, clock, 30_000, (event) => alerts.push(event));
    health.start();
    await clock.advance(2_000);
    primary.setMode('stall'); // answers nothing: every probe times out (5 s)
    await clock.advance(20_000);
    expect(pool.preferred()).toBe('backup');
    primary.setMode('ok');
    await clock.advance(60_000);
    expect(pool.preferred()).toBe('primary');
    expect(alerts).toEqual([]);
    health.close();
    pool.close();
  });
});

describe('a client session through a cut, with the same fakes', () => {
  it('keeps its subscription id and gets blocks from the backup', async () => {
    const { clock, sockets, primary, backup, pool } = cluster();
    const session = new UpstreamSession({ pool, transport: sockets, clock });
    const received: any[] = [];
    session.on('message', (text) => received.push(JSON.parse(text)));
    await clock.flush();
    session.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
    await clock.flush();
    const subscription = received[0].result;

    primary.advance(1);
    primary.cut(); // close every socket and refuse new ones
    backup.advance(2); // the same chain: block 101 again (not repeated to the client), then 102
    await clock.flush();
    backup.advance(1);

    const heads = received.filter((m) => m.method === 'eth_subscription');
    expect(heads.map((m) => m.params.subscription)).toEqual([subscription, subscription, subscription]);
    expect(heads.map((m) => Number(m.params.result.number))).toEqual([101, 102, 103]);
    session.close();
    pool.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
