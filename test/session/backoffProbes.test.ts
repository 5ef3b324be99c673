import { describe, expect, it } from 'vitest';
import { HealthChecker, StandardWebSocketTransport } from '../../src/index.js';
import type { FakeWebSocketClass } from '../helpers/fakeWebSocket.js';
import { fakeWebSocketClass } from '../helpers/fakeWebSocket.js';
import { sessionHarness } from '../helpers/session.js';

/**
 * Found in review (issue 14; docs/guides/browser.md: "A 401/403 on the upgrade reaches the page as
 * an error and close 1006, so it is retried with backoff"). With the pool's health probes passing
 * (the node's HTTP side answers; only its WebSocket upgrade is refused), every probe ended the
 * backoff's wait: the session opened a socket at every probe, for ever, whatever the backoff said.
 */
describe('a backoff while the probes of the node keep passing', () => {
  it('an upgrade refused (401, seen as 1006 in a browser) is retried with a growing backoff while HTTP probes pass', async () => {
    let WebSocket!: FakeWebSocketClass;
    const h = await sessionHarness({
      names: [['a', 'primary']],
      backoff: { initialDelayMs: 1_000, maxDelayMs: 30_000, jitter: 0 },
      transportOver: (server) => new StandardWebSocketTransport({ WebSocket: (WebSocket = fakeWebSocketClass({ server })) }),
    });
    // The node's HTTP side answers every probe; its WebSocket gateway refuses the upgrade.
    const checker = new HealthChecker(h.pool, { intervalMs: 1_000, probe: async () => ({ head: 100 }) });
    checker.start();
    const delays: number[] = [];
    h.session.on('reconnecting', ({ delayMs }) => delays.push(delayMs));
    h.nodes.a!.refuseStatus = 401;
    h.sockets.last()!.serverClose(1006);
    const before = WebSocket.instances.length;
    await h.clock.advance(60_000);
    checker.close();
    const opened = WebSocket.instances.length - before;
    // Backoff 1, 2, 4, 8, 16, 30 s: 6 attempts in a minute (7 with the one at once).
    expect(delays.slice(0, 6)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000]);
    expect(opened).toBeLessThanOrEqual(8);
    h.session.close();
  });
});
