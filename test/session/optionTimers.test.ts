import { describe, expect, it } from 'vitest';
import { SESSION_DEFAULTS, type SessionSwitchEvent, type SteadyRpcError } from '../../src/index.js';
import type { FakeNode, FakeSocket } from '../../src/testing/index.js';
import { onBackup, rpc, sessionHarness, subscribeNewHeads, type SessionHarness } from '../helpers/session.js';

// The session options of docs/reference.md that set a deadline or a period: each is checked at its
// boundary (nothing happens 1 ms before it, and it has happened at it), with the default and with
// a value of one's own, so that a changed default or an off-by-one fails here.

/**
 * Serves `url` as `node` would, except that it never answers `eth_subscribe` (a node that accepts
 * the socket, answers calls, and leaves every replayed subscription unanswered).
 */
function routeWithoutSubscribeAnswers(h: SessionHarness, url: string, node: FakeNode): void {
  h.sockets.route(url, (socket: FakeSocket) => {
    socket.onSend((text) => {
      const request = JSON.parse(text) as { method: string; id: number };
      if (request.method === 'eth_subscribe') return;
      socket.receiveJson(node.answer(request as never));
    });
    socket.accept();
  });
}

const subscribes = (socket: FakeSocket) => socket.sentJson().filter((frame: any) => frame.method === 'eth_subscribe');
const socketsTo = (h: SessionHarness, name: string) => h.sockets.sockets.filter((s) => s.endpoint.url === `ws://${name}.test/`);

describe('replayTimeoutMs: the deadline of one subscription replay', () => {
  const cases: Array<[string, number | undefined, number]> = [
    ['the default (5 s)', undefined, 5_000],
    ['a custom value', 1_234, 1_234],
  ];

  it('defaults to 5 000 ms, as docs/reference.md says', () => {
    expect(SESSION_DEFAULTS.replayTimeoutMs).toBe(5_000);
  });

  it.each(cases)(
    'failover (%s): a node that never answers the replayed eth_subscribe holds the queue until exactly replayTimeoutMs, then the session gives up on the replay, takes the node and retries the replay',
    async (_, replayTimeoutMs, deadline) => {
      const h = await sessionHarness(replayTimeoutMs === undefined ? {} : { replayTimeoutMs });
      const subscription = await subscribeNewHeads(h);
      routeWithoutSubscribeAnswers(h, 'ws://b.test/', h.nodes.b!);
      const replays: Array<{ at: number; ok: boolean; node: string; subscription: string; error?: SteadyRpcError }> = [];
      const switches: Array<SessionSwitchEvent & { at: number }> = [];
      h.session.on('replay', (event) => replays.push({ ...event, at: h.clock.now() }));
      h.session.on('switch', (event) => switches.push({ ...event, at: h.clock.now() }));

      const start = h.clock.now();
      h.nodes.a!.cut();
      await h.settle();
      const b = h.sockets.last()!;
      expect(b.endpoint.url).toBe('ws://b.test/');
      expect(b.state).toBe('open');
      expect(subscribes(b)).toHaveLength(1); // the replay, sent at `start`
      h.send(rpc(1, 'eth_chainId')); // queued: no upstream is ready while the replay is pending
      await h.settle();
      expect(h.session.state).toBe('reconnecting');
      expect(h.session.stats().queued).toBe(1);

      await h.clock.advance(deadline - 1);
      expect(replays).toEqual([]);
      expect(switches).toEqual([]);
      expect(h.session.state).toBe('reconnecting');
      expect(h.answers(1)).toEqual([]);

      await h.clock.advance(1);
      expect(replays).toEqual([
        { at: start + deadline, ok: false, node: 'b', subscription, error: expect.objectContaining({ code: 'ERR_TIMEOUT', message: `replay request got no answer within ${deadline} ms` }) },
      ]);
      // With no upstream to stay on, the node is taken without the subscription for now…
      expect(switches).toEqual([{ at: start + deadline, from: 'a', to: 'b', reason: 'failover' }]);
      expect(h.session.state).toBe('ready');
      expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x1' }]);
      expect(b.state).toBe('open');
      // …and the replay is tried again on it (replay events say "retried, never forwarded").
      await h.clock.advance(1_000);
      expect(subscribes(b)).toHaveLength(2);
      expect(h.received.filter((m) => m.id !== 1 && m.id !== 's')).toEqual([]);
    },
  );

  it.each(cases)(
    'make-before-break (%s): a failback whose replay is never answered is abandoned at exactly replayTimeoutMs, and the session stays where it is',
    async (_, replayTimeoutMs, deadline) => {
      const { h, subscription } = await onBackup(replayTimeoutMs === undefined ? {} : { replayTimeoutMs });

      h.nodes.a!.restore();
      routeWithoutSubscribeAnswers(h, 'ws://a.test/', h.nodes.a!);
      const replays: Array<{ at: number; ok: boolean; node: string; error?: SteadyRpcError }> = [];
      const errors: Array<{ at: number; error: SteadyRpcError }> = [];
      const switches: SessionSwitchEvent[] = [];
      h.session.on('replay', ({ ok, node, error }) => replays.push({ at: h.clock.now(), ok, node, ...(error ? { error } : {}) }));
      h.session.on('error', (error) => errors.push({ at: h.clock.now(), error }));
      h.session.on('switch', (event) => switches.push(event));

      const start = h.clock.now();
      h.mark('a', 'healthy'); // the pool prefers a again: make-before-break to it
      await h.settle();
      const a = h.sockets.last()!;
      expect(a.endpoint.url).toBe('ws://a.test/');
      expect(subscribes(a)).toHaveLength(1);
      expect(h.session.state).toBe('switching');

      await h.clock.advance(deadline - 1);
      expect(replays).toEqual([]);
      expect(errors).toEqual([]);
      expect(h.session.state).toBe('switching');
      expect(a.state).toBe('open');

      await h.clock.advance(1);
      expect(replays).toEqual([{ at: start + deadline, ok: false, node: 'a', error: expect.objectContaining({ code: 'ERR_TIMEOUT' }) }]);
      expect(errors).toEqual([{ at: start + deadline, error: expect.objectContaining({ code: 'ERR_TIMEOUT', message: `replay request got no answer within ${deadline} ms` }) }]);
      expect(a.state).toBe('closed');
      expect(a.closedWith).toEqual({ code: 1000, reason: 'steadyrpc: replay-failed' });
      expect(h.session.state).toBe('ready');
      expect(h.session.node).toBe('b');
      expect(switches).toEqual([]);
      // The subscription still flows from b, under the client's id.
      h.nodes.b!.advance(1);
      expect(h.notifications(subscription).map((n) => n.params.result.number)).toEqual(['0x65']);
    },
  );
});

describe('stableAfterMs: uptime after which the reconnect backoff starts over', () => {
  // Deterministic backoff: 100, 200, 400, 800 … ms, no jitter.
  const backoff = { initialDelayMs: 100, maxDelayMs: 100_000, factor: 2, jitter: 0 };

  /** One node; it fails three rounds (backoff 100, 200, 400 ms), then is connected again at 700 ms. */
  async function afterGrownBackoff(stableAfterMs: number | undefined) {
    const h = await sessionHarness({ names: [['a', 'primary']], backoff, ...(stableAfterMs === undefined ? {} : { stableAfterMs }) });
    const delays: number[] = [];
    h.session.on('reconnecting', ({ delayMs }) => delays.push(delayMs));
    h.nodes.a!.cut();
    await h.settle();
    await h.clock.advance(300); // the attempts at 100 and 300 ms fail
    h.nodes.a!.restore();
    await h.clock.advance(400); // the attempt at 700 ms opens
    expect(delays).toEqual([100, 200, 400]);
    expect(h.session.state).toBe('ready');
    expect(h.clock.now()).toBe(700);
    return { h, delays };
  }

  /** Drops the socket in use (1006) and checks the session reconnects after exactly `delay` ms. */
  async function dropAndExpectReconnectAfter(h: SessionHarness, delays: number[], delay: number) {
    const before = h.sockets.sockets.length;
    h.sockets.last()!.serverClose(1006);
    await h.settle();
    expect(delays.at(-1)).toBe(delay);
    expect(h.session.state).toBe('reconnecting');
    await h.clock.advance(delay - 1);
    expect(h.sockets.sockets).toHaveLength(before);
    expect(h.session.state).toBe('reconnecting');
    await h.clock.advance(1);
    expect(h.sockets.sockets).toHaveLength(before + 1);
    expect(h.session.state).toBe('ready');
  }

  const cases: Array<[string, number | undefined, number]> = [
    ['the default (10 s)', undefined, 10_000],
    ['a custom value', 3_000, 3_000],
  ];

  it('defaults to 10 000 ms, as docs/reference.md says', () => {
    expect(SESSION_DEFAULTS.stableAfterMs).toBe(10_000);
  });

  it.each(cases)('%s: a socket up for exactly stableAfterMs that drops reconnects after the initial delay', async (_, stableAfterMs, stable) => {
    const { h, delays } = await afterGrownBackoff(stableAfterMs);
    await h.clock.advance(stable);
    await dropAndExpectReconnectAfter(h, delays, 100);
  });

  it.each(cases)('%s: a socket that drops 1 ms before stableAfterMs keeps the grown delay', async (_, stableAfterMs, stable) => {
    const { h, delays } = await afterGrownBackoff(stableAfterMs);
    await h.clock.advance(stable - 1);
    await dropAndExpectReconnectAfter(h, delays, 800);
    // And the next short-lived one grows it further.
    await dropAndExpectReconnectAfter(h, delays, 1_600);
  });
});

describe('authQuarantineMs: how long a node that refused us is kept out', () => {
  const cases: Array<[string, number | undefined, number]> = [
    ['the default (60 s)', undefined, 60_000],
    ['a custom value', 7_000, 7_000],
  ];

  it('defaults to 60 000 ms, as docs/reference.md says', () => {
    expect(SESSION_DEFAULTS.authQuarantineMs).toBe(60_000);
  });

  it.each(cases)('%s: after a 4401 close, the session goes back to the node at exactly authQuarantineMs, not before', async (_, authQuarantineMs, quarantine) => {
    const h = await sessionHarness(authQuarantineMs === undefined ? {} : { authQuarantineMs });
    const switches: Array<SessionSwitchEvent & { at: number }> = [];
    h.session.on('switch', (event) => switches.push({ ...event, at: h.clock.now() }));
    h.sockets.last()!.serverClose(4401, 'token expired');
    await h.settle();
    expect(h.session.node).toBe('b');
    expect(socketsTo(h, 'a')).toHaveLength(1);

    await h.clock.advance(quarantine - 1);
    expect(h.pool.snapshot().nodes[0]).toMatchObject({ name: 'a', quarantined: true });
    expect(socketsTo(h, 'a')).toHaveLength(1);
    expect(h.session.node).toBe('b');

    await h.clock.advance(1);
    expect(h.pool.snapshot().nodes[0]).toMatchObject({ name: 'a', quarantined: false });
    expect(socketsTo(h, 'a')).toHaveLength(2);
    expect(h.session.node).toBe('a');
    expect(switches.at(-1)).toEqual({ at: quarantine, from: 'b', to: 'a', reason: 'failback' });
  });

  it.each(cases)('%s: with every other node dead too, the refusing node is not opened before authQuarantineMs, and is at it', async (_, authQuarantineMs, quarantine) => {
    const h = await sessionHarness(authQuarantineMs === undefined ? {} : { authQuarantineMs });
    h.sockets.last()!.serverClose(4401, 'token expired');
    await h.settle();
    expect(h.session.node).toBe('b');
    h.nodes.b!.cut(); // the session now backs off, trying b alone round after round
    await h.settle();

    await h.clock.advance(quarantine - 1);
    expect(socketsTo(h, 'a')).toHaveLength(1);
    expect(socketsTo(h, 'b').length).toBeGreaterThan(3); // it did keep trying, just not a
    expect(h.session.state).toBe('reconnecting');

    await h.clock.advance(1);
    expect(socketsTo(h, 'a')).toHaveLength(2);
    expect(h.session.state).toBe('ready');
    expect(h.session.node).toBe('a');
  });
});
