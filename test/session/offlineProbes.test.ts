import { describe, expect, it } from 'vitest';
import { HealthChecker, StandardWebSocketTransport } from '../../src/index.js';
import { FakeEnvironment } from '../../src/testing/index.js';
import type { FakeWebSocketClass } from '../helpers/fakeWebSocket.js';
import { fakeWebSocketClass } from '../helpers/fakeWebSocket.js';
import { sessionHarness } from '../helpers/session.js';

/**
 * Found in review (issue 14, docs/guides/browser.md "Offline and online"): offline, the session
 * makes no reconnect attempt of its own, and only a health probe that reaches a node ends its wait
 * for the network. The wait ended on any pool `health` event with the status 'healthy', which is
 * also what a failed probe reports until `failuresToDown` failures in a row mark the node down.
 */
describe('waiting for the network while probes fail', () => {
  it('a probe that fails (the device is offline) does not end the wait for the network: no socket opens while offline', async () => {
    const environment = new FakeEnvironment();
    let WebSocket!: FakeWebSocketClass;
    const h = await sessionHarness({
      environment,
      transportOver: (server) => new StandardWebSocketTransport({ WebSocket: (WebSocket = fakeWebSocketClass({ server })) }),
    });
    // Probes fail while the device is offline (fetch rejects at once), default hysteresis (3 failures to down).
    const checker = new HealthChecker(h.pool, {
      intervalMs: 1_000,
      probe: async () => {
        if (!environment.online()) throw new Error('Failed to fetch');
        return { head: 100 };
      },
    });
    checker.start();
    await h.clock.advance(2_500);
    expect(h.session.node).toBe('a');
    const opened: string[] = [];
    environment.goOffline();
    // Offline, the socket in use dies (a browser closes it, or the node does) and new ones fail at once.
    h.nodes.a!.cut();
    h.nodes.b!.cut();
    await h.settle();
    const before = WebSocket.instances.length;
    await h.clock.advance(5_000);
    for (const ws of WebSocket.instances.slice(before)) opened.push(ws.url);
    checker.close();
    expect(environment.online()).toBe(false);
    expect(opened).toEqual([]);
    h.session.close();
  });
});
