import { describe, expect, it } from 'vitest';
import { SESSION_DEFAULTS, type SessionSwitchEvent } from '../../src/index.js';
import { rpc, sessionHarness } from '../helpers/session.js';

// README.md:74-75: "one whose connect hangs after `connectTimeoutMs` (5 s)" is left for the next
// node. src/session/SessionOptions.ts:30 (@default 5_000), SESSION_DEFAULTS (SessionOptions.ts:146),
// timer in src/session/LinkOpener.ts:48. The existing test named "a connect attempt that hangs
// times out and the next node is tried" (test/session/failover.test.ts:208) never lets a connect
// hang: it closes the socket (1006), so nothing pins the deadline or its default.

describe('a hanging connect is given up after connectTimeoutMs (README Use 2)', () => {
  it('defaults to 5 000 ms', () => {
    expect(SESSION_DEFAULTS.connectTimeoutMs).toBe(5_000);
  });

  it.each([
    { label: 'the default', options: {}, deadline: 5_000 },
    { label: 'a custom value', options: { connectTimeoutMs: 1_234 }, deadline: 1_234 },
  ])('$label: a node whose connect hangs is left at exactly $deadline ms for the next node', async ({ options, deadline }) => {
    const h = await sessionHarness({ ...options, names: [['a', 'primary'], ['b', 'backup'], ['c', 'backup']] });
    expect(h.session.node).toBe('a');
    const switches: Array<SessionSwitchEvent & { at: number }> = [];
    h.session.on('switch', (event) => switches.push({ ...event, at: h.clock.now() }));
    h.nodes.b!.blackhole(); // b accepts no connection: its connect hangs
    const start = h.clock.now();
    h.nodes.a!.cut();
    await h.settle();
    const toB = h.sockets.sockets.filter((s) => s.endpoint.url === 'ws://b.test/');
    expect(toB).toHaveLength(1);
    expect(toB[0]!.state).toBe('connecting');
    h.send(rpc(1, 'eth_chainId')); // queued while no upstream is ready
    await h.clock.advance(deadline - 1);
    expect(h.session.node).toBeUndefined();
    expect(h.sockets.sockets.filter((s) => s.endpoint.url === 'ws://c.test/')).toHaveLength(0);
    expect(h.answers(1)).toEqual([]);

    await h.clock.advance(1);
    expect(h.session.node).toBe('c');
    expect(switches).toEqual([{ at: start + deadline, from: 'a', to: 'c', reason: 'failover' }]);
    expect(toB[0]!.state).not.toBe('connecting'); // the hanging attempt was abandoned
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: expect.any(String) }]);
    await h.session.close();
  });
});
