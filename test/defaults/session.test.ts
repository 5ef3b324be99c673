import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../src/index.js';
import type { FakeNode, FakeSocket } from '../../src/testing/index.js';
import { rpc, sessionHarness, subscribeNewHeads, type SessionHarness } from '../helpers/session.js';

// UpstreamSession defaults that docs/reference.md and the JSDoc of UpstreamSessionOptions state,
// each used without passing the option and checked at its boundary, so a changed default fails
// here. The harness draws random() = 0.5: jitter adds nothing, delays are exact.

const MiB = 1024 * 1024;

/** Serves `url` as `node` does, except that calls to `method` are never answered. */
function routeIgnoring(h: SessionHarness, url: string, node: FakeNode, method: string): void {
  h.sockets.route(url, (socket: FakeSocket) => {
    socket.onSend((text) => {
      const request = JSON.parse(text) as { method: string; id: number };
      if (request.method !== method) socket.receiveJson(node.answer(request as never));
    });
    socket.accept();
  });
}

/** Serves `url` as `node` does, except that every `eth_subscribe` is refused with an error; records when each came. */
function routeRefusingSubscribes(h: SessionHarness, url: string, node: FakeNode): number[] {
  const at: number[] = [];
  h.sockets.route(url, (socket: FakeSocket) => {
    socket.onSend((text) => {
      const request = JSON.parse(text) as { method: string; id: number };
      if (request.method !== 'eth_subscribe') return socket.receiveJson(node.answer(request as never));
      at.push(h.clock.now());
      socket.receiveJson({ jsonrpc: '2.0', id: request.id, error: { code: -32000, message: 'too many subscriptions' } });
    });
    socket.accept();
  });
  return at;
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

/** A frame calling eth_chainId, padded with trailing whitespace to exactly `bytes` bytes. */
function chainIdFrame(id: number, bytes: number): string {
  const call = JSON.stringify(rpc(id, 'eth_chainId'));
  return call + ' '.repeat(bytes - call.length);
}

describe('requestTimeoutMs defaults to 30 s', () => {
  it('a call the node never answers gets REQUEST_TIMEOUT exactly 30 000 ms after it was sent, not 1 ms before', async () => {
    const h = await sessionHarness();
    // Node b takes over and answers everything (keepalives too, so it stays in use) but eth_call.
    routeIgnoring(h, 'ws://b.test/', h.nodes.b!, 'eth_call');
    h.nodes.a!.cut();
    await h.settle();
    expect(h.session.node).toBe('b');
    await h.clock.advance(1_234); // the deadline counts from the send, whatever the time
    const sentAt = h.clock.now();
    h.send(rpc(1, 'eth_call', [{ to: '0x0000000000000000000000000000000000000001' }, 'latest']));
    await h.settle();

    await h.clock.advance(30_000 - 1);
    expect(h.answers(1)).toEqual([]);
    expect(h.session.node).toBe('b');

    await h.clock.advance(1);
    expect(h.clock.now()).toBe(sentAt + 30_000);
    expect(h.answers(1)).toEqual([
      { jsonrpc: '2.0', id: 1, error: { code: RpcErrorCode.REQUEST_TIMEOUT, message: 'No answer from node "b" within 30000 ms' } },
    ]);
  });
});

describe('maxFrameBytes defaults to 5 MiB', () => {
  it('a client frame of exactly 5 MiB is read and answered', async () => {
    const h = await sessionHarness();
    const frame = chainIdFrame(1, 5 * MiB);
    expect(Buffer.byteLength(frame)).toBe(5 * MiB);
    h.session.send(frame);
    await h.settle();
    expect(h.received).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x1' }]);
  });

  it('a client frame of 5 MiB + 1 byte gets FRAME_TOO_LARGE naming the limit, and the session stays open', async () => {
    const h = await sessionHarness();
    h.session.send(chainIdFrame(1, 5 * MiB + 1));
    await h.settle();
    expect(h.received).toEqual([
      {
        jsonrpc: '2.0',
        id: null,
        error: { code: RpcErrorCode.FRAME_TOO_LARGE, message: `Frame too large: the limit is ${5 * MiB} bytes`, data: { maxFrameBytes: 5 * MiB } },
      },
    ]);
    h.send(rpc(2, 'eth_chainId'));
    await h.settle();
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: '0x1' }]);
  });
});

describe('the reconnect backoff defaults to 250 ms doubling, capped at 30 s', () => {
  it('with every node down, the waits are 250, 500 … 16 000 ms, then 30 000 ms each; the next round opens at exactly 30 s, not 1 ms before', async () => {
    const h = await sessionHarness();
    const delays: Array<{ at: number; delayMs: number }> = [];
    h.session.on('reconnecting', ({ delayMs }) => delays.push({ at: h.clock.now(), delayMs }));
    h.nodes.a!.cut();
    h.nodes.b!.cut();
    await h.settle();
    await h.clock.advance(250 + 500 + 1_000 + 2_000 + 4_000 + 8_000 + 16_000); // seven waits
    expect(delays.map((d) => d.delayMs)).toEqual([250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000]);

    // The first capped wait: no socket is opened before it is over, one is at its end.
    const cappedFrom = delays.at(-1)!.at;
    expect(h.clock.now()).toBe(cappedFrom);
    const opened = h.sockets.sockets.length;
    await h.clock.advance(30_000 - 1);
    expect(h.sockets.sockets.length).toBe(opened);
    await h.clock.advance(1);
    expect(h.sockets.sockets.length).toBeGreaterThan(opened);

    await h.clock.advance(3 * 30_000);
    expect(delays.slice(7).map((d) => d.delayMs)).toEqual([30_000, 30_000, 30_000, 30_000, 30_000]);
    expect(gaps(delays.slice(7).map((d) => d.at))).toEqual([30_000, 30_000, 30_000, 30_000]);
    h.session.close();
  });
});

describe('the replay retry backoff is 500 ms doubling, capped at 10 s', () => {
  it('a subscription the new node keeps refusing is asked again after 500, 1 000, 2 000, 4 000, 8 000 ms, then every 10 000 ms', async () => {
    const h = await sessionHarness();
    await subscribeNewHeads(h);
    const subscribes = routeRefusingSubscribes(h, 'ws://b.test/', h.nodes.b!);
    h.nodes.a!.cut();
    await h.settle();
    // With no node to stay on, b is taken without the subscription, and its replay is retried on it.
    expect(h.session.node).toBe('b');
    expect(subscribes).toHaveLength(1);
    const first = subscribes[0]!;

    await h.clock.advance(500 - 1);
    expect(subscribes).toHaveLength(1);
    await h.clock.advance(1);
    expect(subscribes).toEqual([first, first + 500]);

    await h.clock.advance(1_000 + 2_000 + 4_000 + 8_000 + 3 * 10_000);
    expect(gaps(subscribes)).toEqual([500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000]);
    // The capped wait at its boundary: nothing 1 ms before 10 s, the retry at it.
    const last = subscribes.at(-1)!;
    await h.clock.advance(last + 10_000 - 1 - h.clock.now());
    expect(subscribes.at(-1)).toBe(last);
    await h.clock.advance(1);
    expect(subscribes.at(-1)).toBe(last + 10_000);
    h.session.close();
  });
});

describe('the replay retries are jittered by ±20 % with the session\'s random', () => {
  for (const [random, expected] of [
    [0, [400, 800, 1_600, 3_200, 6_400, 8_000]],
    [1, [600, 1_200, 2_400, 4_800, 9_600, 12_000]],
  ] as const) {
    it(`random() = ${random}: the waits are ${expected.join(', ')} ms`, async () => {
      const h = await sessionHarness({ random: () => random });
      await subscribeNewHeads(h);
      const subscribes = routeRefusingSubscribes(h, 'ws://b.test/', h.nodes.b!);
      h.nodes.a!.cut();
      await h.settle();
      expect(h.session.node).toBe('b');
      await h.clock.advance(expected.reduce((sum, ms) => sum + ms, 0));
      expect(gaps(subscribes)).toEqual(expected);
      h.session.close();
    });
  }
});

describe('failback retries double from failbackRetryMs (1 s), capped at 60 s', () => {
  it('a preferred node that keeps refusing is tried again less and less often, then every 60 s (on the keepalive ticks, every 2 s)', async () => {
    const h = await sessionHarness(); // no health checker: the pool keeps preferring a
    const attempts: number[] = [];
    h.sockets.route('ws://a.test/', (socket) => {
      attempts.push(h.clock.now());
      h.nodes.a!.socket(socket);
    });
    h.nodes.a!.cut(); // failure 1 of a, at 0
    await h.settle();
    expect(h.session.node).toBe('b');
    expect(attempts).toEqual([]);

    // Waits after the cut (failure 1) and each failed attempt: 1, 2, 4, 8, 16, 32 s, then 60 s
    // (64 s capped), checked at the keepalive ticks of the socket in use, every 2 s.
    await h.clock.advance(2_000 + 2_000 + 4_000 + 8_000 + 16_000 + 32_000 + 60_000 - 2_000);
    expect(attempts).toEqual([2_000, 4_000, 8_000, 16_000, 32_000, 64_000]);
    const last = attempts.at(-1)!;
    expect(h.clock.now()).toBe(last + 60_000 - 2_000); // the tick before the capped wait is over: no attempt
    await h.clock.advance(2_000);
    expect(attempts.at(-1)).toBe(last + 60_000);
    await h.clock.advance(60_000);
    expect(gaps(attempts).slice(-2)).toEqual([60_000, 60_000]);
    expect(h.session.node).toBe('b');
    h.session.close();
  });

  // The cap is a constant, not an option: a failbackRetryMs above it is cut to 60 s from the first
  // retry on. Keepalive ticks placed at 60 s − 1 ms, or at 60 s, show the boundary to the ms.
  it.each([
    [59_999, 'not yet'],
    [60_000, 'tried'],
  ] as const)('with failbackRetryMs above the cap, at a keepalive tick %i ms after the failure the preferred node is %s', async (tick, outcome) => {
    const h = await sessionHarness({ failbackRetryMs: 100_000, keepaliveIntervalMs: tick });
    const attempts: number[] = [];
    h.sockets.route('ws://a.test/', (socket) => {
      attempts.push(h.clock.now());
      h.nodes.a!.socket(socket);
    });
    h.nodes.a!.cut(); // the failure, at 0
    await h.settle();
    expect(h.session.node).toBe('b');
    expect(attempts).toEqual([]);
    await h.clock.advance(tick);
    expect(attempts).toEqual(outcome === 'tried' ? [60_000] : []);
    h.session.close();
  });
});
