import { describe, expect, it } from 'vitest';
import { UpstreamSession, type RateLimitEvent } from '../../src/index.js';
import type { FakeSocket } from '../../src/testing/index.js';
import { rpc, sessionHarness } from '../helpers/session.js';

const ALCHEMY = 'Your app has exceeded its compute units per second capacity. If you have retries enabled, you can safely ignore this message.';

/** Makes the node behind `socket` answer every call with Alchemy's WebSocket rate-limit error. */
function rateLimit(socket: FakeSocket): void {
  socket.onSend((text, s) => {
    const { id } = JSON.parse(text) as { id: number };
    s.receiveJson({ jsonrpc: '2.0', id, error: { code: 429, message: ALCHEMY } });
  });
}

describe('a node answering rate-limit errors on a socket', () => {
  it('cools down in the pool: the client gets the answer as it is, new sessions open another node until the cool-down ends', async () => {
    const h = await sessionHarness();
    const events: RateLimitEvent[] = [];
    h.pool.on('rateLimited', (event) => events.push(event));
    expect(h.session.node).toBe('a');
    rateLimit(h.sockets.last()!);
    h.send(rpc(1, 'eth_getBalance', ['0x0', 'latest']));
    await h.settle();
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, error: { code: 429, message: ALCHEMY } }]);
    expect(events).toEqual([{ name: 'a', until: 1_000, ms: 1_000, source: 'rpc-error' }]);
    expect(h.pool.snapshot().nodes[0]).toMatchObject({ name: 'a', rateLimited: true, preferred: true });
    // This session stays where it is (minimal: nothing moves for a one-second limit) ...
    expect(h.session.node).toBe('a');
    // ... and a new one opens b.
    const second = new UpstreamSession({ pool: h.pool, transport: h.sockets, clock: h.clock, random: () => 0.5 });
    await h.settle();
    expect(second.node).toBe('b');
    await h.clock.advance(1_000);
    const third = new UpstreamSession({ pool: h.pool, transport: h.sockets, clock: h.clock, random: () => 0.5 });
    await h.settle();
    expect(third.node).toBe('a');
    second.close();
    third.close();
    h.session.close();
  });

  it("Infura's backoff_seconds sets the cool-down", async () => {
    const h = await sessionHarness();
    const events: RateLimitEvent[] = [];
    h.pool.on('rateLimited', (event) => events.push(event));
    h.sockets.last()!.onSend((text, s) => {
      const { id } = JSON.parse(text) as { id: number };
      s.receiveJson({ jsonrpc: '2.0', id, error: { code: -32005, message: 'project ID request rate exceeded', data: { backoff_seconds: 30 } } });
    });
    h.send(rpc(1, 'eth_call', [{}, 'latest']));
    await h.settle();
    expect(events).toEqual([{ name: 'a', until: 30_000, ms: 30_000, source: 'rpc-error' }]);
    h.session.close();
  });

  it('other errors cool nothing down', async () => {
    const h = await sessionHarness();
    h.send(rpc(1, 'eth_foo'));
    await h.settle();
    expect(h.answers(1)[0]).toMatchObject({ error: { code: -32601 } });
    expect(h.pool.available('a')).toBe(true);
    h.session.close();
  });

  it('a session on a backup does not fail back to the preferred node while it cools down; it does once that ends', async () => {
    const h = await sessionHarness();
    const switches: string[] = [];
    h.session.on('switch', ({ to, reason }) => switches.push(`${to}:${reason}`));
    h.mark('a', 'unhealthy');
    await h.settle();
    expect(h.session.node).toBe('b');
    h.pool.coolDown('a', 10_000);
    h.mark('a', 'healthy'); // the pool prefers a again
    await h.settle();
    expect(h.pool.preferred()).toBe('a');
    await h.clock.advance(9_000);
    expect(h.session.node).toBe('b');
    expect(h.sockets.sockets.filter((s) => s.endpoint.url === 'ws://a.test/')).toHaveLength(1);
    // Its keepalive's failback check moves it once the cool-down is over.
    await h.clock.advance(3_000);
    expect(h.session.node).toBe('a');
    expect(switches).toEqual(['b:unhealthy', 'a:failback']);
    h.session.close();
  });
});

describe("a session's answers are the node's answers to the pool (NodePool.answered)", () => {
  it('with no health checker: after a cool-down, an answered call starts the backoff over, so the next limit naming no wait is 1 s again, not 2 s', async () => {
    const h = await sessionHarness();
    const events: RateLimitEvent[] = [];
    h.pool.on('rateLimited', (event) => events.push(event));
    const socket = h.sockets.last()!;
    let limited = true;
    socket.onSend((text, s) => {
      const { id } = JSON.parse(text) as { id: number };
      s.receiveJson(limited ? { jsonrpc: '2.0', id, error: { code: 429, message: ALCHEMY } } : { jsonrpc: '2.0', id, result: '0x1' });
    });
    h.send(rpc(1, 'eth_getBalance', ['0x0', 'latest']));
    await h.settle();
    await h.clock.advance(1_500);
    limited = false;
    h.send(rpc(2, 'eth_getBalance', ['0x0', 'latest']));
    await h.settle();
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: '0x1' }]);
    limited = true;
    h.send(rpc(3, 'eth_getBalance', ['0x0', 'latest']));
    await h.settle();
    expect(events.map((e) => e.ms)).toEqual([1_000, 1_000]);
    h.session.close();
  });

  it('an error that is the call\'s own (a revert) is an answer too; with none in between, limits in a row double', async () => {
    const h = await sessionHarness();
    const events: RateLimitEvent[] = [];
    h.pool.on('rateLimited', (event) => events.push(event));
    let answer: 'limit' | 'revert' = 'limit';
    h.sockets.last()!.onSend((text, s) => {
      const { id } = JSON.parse(text) as { id: number };
      s.receiveJson(answer === 'limit' ? { jsonrpc: '2.0', id, error: { code: 429, message: ALCHEMY } } : { jsonrpc: '2.0', id, error: { code: 3, message: 'execution reverted', data: '0x' } });
    });
    h.send(rpc(1, 'eth_call', [{}, 'latest']));
    await h.settle();
    await h.clock.advance(1_500);
    h.send(rpc(2, 'eth_call', [{}, 'latest']));
    await h.settle();
    await h.clock.advance(2_500);
    expect(events.map((e) => e.ms)).toEqual([1_000, 2_000]);
    answer = 'revert';
    h.send(rpc(3, 'eth_call', [{}, 'latest']));
    await h.settle();
    expect(h.answers(3)[0]).toMatchObject({ error: { code: 3 } });
    answer = 'limit';
    h.send(rpc(4, 'eth_call', [{}, 'latest']));
    await h.settle();
    expect(events.map((e) => e.ms)).toEqual([1_000, 2_000, 1_000]);
    h.session.close();
  });
});

describe("a session's own calls answered count too", () => {
  it('an idle session: its keepalive answered after the cool-down starts the backoff over', async () => {
    const h = await sessionHarness();
    const events: RateLimitEvent[] = [];
    h.pool.on('rateLimited', (event) => events.push(event));
    h.pool.coolDown('a');
    h.pool.coolDown('a'); // while cooling down, a limit naming no wait changes nothing
    await h.clock.advance(1_000);
    h.pool.coolDown('a');
    expect(events.map((e) => e.ms)).toEqual([1_000, 2_000]);
    // Past the cool-down, and past a keepalive interval with no traffic: the keepalive is answered.
    await h.clock.advance(35_000);
    h.pool.coolDown('a');
    expect(events.map((e) => e.ms)).toEqual([1_000, 2_000, 1_000]);
    h.session.close();
  });
});

describe('a rate limit of a call sent before the cool-down began', () => {
  it('arriving after the cool-down ended is no new strike; a call sent after it began is one', async () => {
    const h = await sessionHarness();
    const events: RateLimitEvent[] = [];
    h.pool.on('rateLimited', (event) => events.push(event));
    const sent: number[] = [];
    const socket = h.sockets.last()!;
    socket.onSend((text) => {
      const { id } = JSON.parse(text) as { id: number };
      sent.push(id);
    });
    const limit = (id: number) => socket.receiveJson({ jsonrpc: '2.0', id, error: { code: 429, message: ALCHEMY } });
    h.send(rpc(1, 'eth_call', [{}, 'latest']));
    h.send(rpc(2, 'eth_call', [{}, 'latest']));
    await h.settle();
    expect(sent).toHaveLength(2);
    limit(sent[0]!);
    await h.settle();
    expect(events.map((e) => e.ms)).toEqual([1_000]);
    await h.clock.advance(1_500); // the cool-down is over; call 2's limit arrives late
    limit(sent[1]!);
    await h.settle();
    expect(h.answers(2)[0]).toMatchObject({ error: { code: 429 } });
    expect(events.map((e) => e.ms)).toEqual([1_000]);
    h.send(rpc(3, 'eth_call', [{}, 'latest']));
    await h.settle();
    limit(sent[2]!);
    await h.settle();
    expect(events.map((e) => e.ms)).toEqual([1_000, 2_000]);
    h.session.close();
  });

  it('NodePool.coolDown checks sentAt', async () => {
    const h = await sessionHarness();
    expect(() => h.pool.coolDown('a', undefined, 'rpc-error', Number.NaN)).toThrow(/Expected sentAt to be a finite number, got NaN/);
    h.session.close();
  });
});
