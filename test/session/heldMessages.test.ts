import { describe, expect, it, vi } from 'vitest';
import { SessionClient } from '../../src/adapters/SessionClient.js';
import { HeldMessages } from '../../src/session/HeldMessages.js';
import { FakeSocketTransport } from '../../src/testing/index.js';
import { WsSocketTransport } from '../../src/transport/WsSocketTransport.js';
import { expectNothingLeft, rpc, sessionHarness, subscribeNewHeads } from '../helpers/session.js';

const microtask = () => new Promise<void>((resolve) => queueMicrotask(resolve));
const rethrow = (error: unknown) => {
  throw error;
};

describe('HeldMessages', () => {
  it('passes on what it holds in a microtask, in order, and holds nothing after', async () => {
    const out: string[] = [];
    const held = new HeldMessages((text) => out.push(text), rethrow);
    held.push('a');
    held.push('b');
    expect(out).toEqual([]);
    await microtask();
    expect(out).toEqual(['a', 'b']);
    held.release();
    held.push('c');
    await microtask();
    expect(out).toEqual(['a', 'b', 'c']);
  });

  it('release() passes it all on at once; a later microtask finds nothing', async () => {
    const out: string[] = [];
    const held = new HeldMessages((text) => out.push(text), rethrow);
    held.push('a');
    held.push('b');
    held.release();
    expect(out).toEqual(['a', 'b']);
    await microtask();
    expect(out).toEqual(['a', 'b']);
  });

  it('a listener that releases from within (the session emits again) gets the rest out first', () => {
    const out: string[] = [];
    const held: HeldMessages = new HeldMessages((text) => {
      out.push(text);
      if (text === 'a') {
        held.release();
        out.push('after a');
      }
    }, rethrow);
    for (const text of ['a', 'b', 'c']) held.push(text);
    held.release();
    expect(out).toEqual(['a', 'b', 'c', 'after a']);
  });

  it('nothing is held while its listeners run, and holding resumes after', () => {
    const seen: boolean[] = [];
    const held: HeldMessages = new HeldMessages(() => seen.push(held.holding), rethrow);
    held.holding = true;
    held.push('a');
    held.push('b');
    held.release();
    expect(seen).toEqual([false, false]);
    expect(held.holding).toBe(true);
    expect(held.outside(() => held.holding)).toBe(false);
    expect(held.holding).toBe(true);
  });

  it('a listener that throws stops neither the rest nor the caller: what it threw is handed on', () => {
    const out: string[] = [];
    const thrown: unknown[] = [];
    const held = new HeldMessages(
      (text) => {
        out.push(text);
        if (text === 'a') throw new Error('listener');
      },
      (error) => thrown.push(error),
    );
    held.push('a');
    held.push('b');
    expect(() => held.release()).not.toThrow();
    expect(out).toEqual(['a', 'b']);
    expect(thrown).toEqual([new Error('listener')]);
  });

  it("drop(): a subscription's held notifications are left out, the rest kept in order", async () => {
    const out: string[] = [];
    const held = new HeldMessages((text) => out.push(text), rethrow);
    held.push('n1', 'sub');
    held.push('answer');
    held.push('other', 'other-sub');
    held.push('n2', 'sub');
    expect(held.drop('sub')).toBe(2);
    expect(held.drop('sub')).toBe(0);
    await microtask();
    expect(out).toEqual(['answer', 'other']);
  });
});

describe('a session over a transport that reads in tasks of its own', () => {
  it('ws says so; the fake says so when told to, and refuses a value that is not a boolean', () => {
    expect(new WsSocketTransport().readsInTasks).toBe(true);
    expect(new FakeSocketTransport().readsInTasks).toBe(false);
    expect(new FakeSocketTransport({ readsInTasks: true }).readsInTasks).toBe(true);
    expect(() => new FakeSocketTransport({ readsInTasks: 'yes' as unknown as boolean })).toThrow(/readsInTasks/);
  });

  it("passes on a read's notifications together at the end of the task, in order", async () => {
    const h = await sessionHarness({ readsInTasks: true });
    const subscription = await subscribeNewHeads(h);
    h.nodes.a!.advance(3);
    expect(h.notifications(subscription)).toHaveLength(0);
    await h.clock.flush();
    expect(h.notifications(subscription).map((n) => n.params.result.number)).toEqual(['0x65', '0x66', '0x67']);
  });

  it('without it, each frame\'s message goes out while the frame is handled', async () => {
    const h = await sessionHarness();
    const subscription = await subscribeNewHeads(h);
    h.nodes.a!.advance(3);
    expect(h.notifications(subscription)).toHaveLength(3);
  });

  it('anything else the session emits comes after the messages of the frames before it, and before the rest', async () => {
    const h = await sessionHarness({ readsInTasks: true });
    const subscription = await subscribeNewHeads(h);
    const seen: string[] = [];
    h.session.on('message', (text) => seen.push(`message ${JSON.parse(text).params?.result?.number ?? ''}`));
    h.session.on('error', (error) => seen.push(`error ${error.code}`));
    const socket = h.sockets.last()!;
    h.nodes.a!.advance(1);
    socket.receive('not json');
    h.nodes.a!.advance(1);
    expect(seen).toEqual(['message 0x65', 'error ERR_BAD_RESPONSE']);
    await h.clock.flush();
    expect(seen).toEqual(['message 0x65', 'error ERR_BAD_RESPONSE', 'message 0x66']);
    expect(h.notifications(subscription)).toHaveLength(2);
  });

  it('a listener that closes the session on the first of a read\'s messages: the rest come before closed, each call answered once', async () => {
    const h = await sessionHarness({ readsInTasks: true });
    const subscription = await subscribeNewHeads(h);
    const order: string[] = [];
    h.session.on('message', (text) => {
      const m = JSON.parse(text);
      order.push(m.id === undefined ? 'notification' : `answer ${m.id}`);
      if (order.length === 1) h.session.close();
    });
    h.session.on('closed', () => order.push('closed'));
    h.send(rpc(1, 'eth_blockNumber'));
    h.send(rpc(2, 'eth_chainId'));
    h.nodes.a!.advance(1);
    await h.clock.flush();
    // Closed from the first message of the read: the others were handled before it, and go out before 'closed'.
    expect(order).toHaveLength(4);
    expect(order.slice(0, 3).sort()).toEqual(['answer 1', 'answer 2', 'notification']);
    expect(order[3]).toBe('closed');
    // The node's own answers, not close()'s "Session closed": their frames were handled before it.
    expect(h.answers(1)).toEqual([expect.objectContaining({ result: '0x65' })]);
    expect(h.answers(2)).toEqual([expect.objectContaining({ result: expect.any(String) })]);
    expect(h.notifications(subscription)).toHaveLength(1);
    expectNothingLeft(h);
  });
});

const noId = (method: string, params: unknown[] = []) => ({ jsonrpc: '2.0', method, params });

// What a host does from its listeners while a frame is handled, or while messages are held, comes
// out as it does when the session emits each frame's messages at once (found by a review of the
// first form, which held what the listeners caused too).
describe.each([false, true])('listeners that act while a frame is handled (readsInTasks: %s)', (readsInTasks) => {
  it('a batch sent from an error listener, the session closed by a listener of what its first item causes: the batch is answered', async () => {
    const h = await sessionHarness({ readsInTasks });
    await subscribeNewHeads(h);
    const batches: unknown[] = [];
    h.session.on('message', (text) => {
      const m = JSON.parse(text);
      if (Array.isArray(m)) batches.push(m);
    });
    let sent = false;
    h.session.on('error', (error) => {
      if (error.code === 'ERR_BAD_RESPONSE' && !sent) {
        sent = true;
        // An eth_subscribe without an id: 'error' ERR_ABORTED, whose listener closes the session.
        h.session.send(JSON.stringify([noId('eth_subscribe', ['newHeads']), rpc(7, 'eth_chainId')]));
      }
      if (error.code === 'ERR_ABORTED') h.session.close();
    });
    h.sockets.last()!.receive('not json');
    await h.clock.flush();
    expect(batches).toEqual([[expect.objectContaining({ id: 7, error: expect.objectContaining({ code: -32050 }) })]]);
    expectNothingLeft(h);
  });

  it('closed from a listener while a frame is handled: a listener of an answer close() gives may still send, and is answered', async () => {
    const h = await sessionHarness({ readsInTasks });
    await subscribeNewHeads(h);
    h.nodes.a!.blackhole();
    h.send(rpc(1, 'eth_blockNumber'));
    h.nodes.a!.restore();
    let sentWhileClosing = false;
    h.session.on('message', (text) => {
      if (JSON.parse(text).id !== 1 || sentWhileClosing) return;
      sentWhileClosing = true;
      h.session.send(JSON.stringify(rpc('while-closing', 'eth_blockNumber')));
    });
    h.session.on('error', (error) => {
      if (error.code === 'ERR_BAD_RESPONSE') h.session.close();
    });
    h.sockets.last()!.receive('not json');
    await h.clock.flush();
    expect(h.answers(1)).toHaveLength(1);
    expect(h.answers('while-closing')).toEqual([expect.objectContaining({ error: expect.objectContaining({ code: -32050 }) })]);
    expectNothingLeft(h);
  });

  it("SessionClient's batch refused whole, sent from a listener while a frame is handled: every call settles", async () => {
    const h = await sessionHarness({ readsInTasks, maxBatchSize: 2 });
    const client = new SessionClient(h.session);
    const settled: string[] = [];
    h.session.on('error', (error) => {
      if (error.code !== 'ERR_BAD_RESPONSE') return;
      for (const call of client.batch([{ method: 'eth_chainId' }, { method: 'eth_chainId' }, { method: 'eth_chainId' }])) {
        call.then(
          () => settled.push('resolved'),
          (e: { code: number }) => settled.push(`rejected ${e.code}`),
        );
      }
    });
    h.sockets.last()!.receive('not json');
    await h.clock.flush();
    expect(settled).toEqual(['rejected -32600', 'rejected -32600', 'rejected -32600']);
    expect(client.pending).toBe(0);
  });

  it("a client that unsubscribes on the first of a read's notifications gets none of the rest", async () => {
    const h = await sessionHarness({ readsInTasks });
    const subscription = await subscribeNewHeads(h);
    const after: string[] = [];
    let unsubscribed = false;
    h.session.on('message', (text) => {
      const m = JSON.parse(text);
      if (m.method !== 'eth_subscription') return;
      if (unsubscribed) return void after.push(m.params.result.number);
      unsubscribed = true;
      h.session.send(JSON.stringify(rpc('u', 'eth_unsubscribe', [subscription])));
    });
    const dropped = h.session.stats().droppedNotifications;
    h.nodes.a!.advance(3);
    await h.clock.flush();
    expect(after).toEqual([]);
    expect(h.answers('u')).toEqual([expect.objectContaining({ result: true })]);
    // Dropped as they came (without it), or taken out of what was held (with it).
    expect(h.session.stats().droppedNotifications - dropped).toBe(2);
  });

  it('an answer given at once to a listener of a held message, the session closed by a listener of a later one: answered before closed', async () => {
    const h = await sessionHarness({ readsInTasks });
    await subscribeNewHeads(h);
    const order: string[] = [];
    let n = 0;
    h.session.on('message', (text) => {
      const m = JSON.parse(text);
      if (Array.isArray(m)) return void order.push(`batch ${m.map((a: { id: string }) => a.id).join(',')}`);
      if (m.method !== 'eth_subscription') return void order.push(`answer ${m.id}`);
      n += 1;
      order.push(`n${n}`);
      // Answered at once (an id the client does not have), alone and in a batch.
      if (n === 1) h.send(rpc('x', 'eth_unsubscribe', ['0xnotmine']));
      if (n === 1) h.send([rpc('y', 'eth_unsubscribe', ['0xa']), rpc('z', 'eth_unsubscribe', ['0xb'])]);
      if (n === 2) h.session.close();
    });
    h.session.on('closed', () => order.push('closed'));
    h.nodes.a!.advance(3);
    await h.clock.flush();
    expect(h.answers('x')).toEqual([expect.objectContaining({ result: false })]);
    expect(order).toContain('batch y,z');
    expect(order.at(-1)).toBe('closed');
    // At once, within the send, either way; with it, the read's last notification was handled
    // before the close, and goes out before 'closed'.
    expect(order).toEqual(readsInTasks ? ['n1', 'answer x', 'batch y,z', 'n2', 'n3', 'closed'] : ['n1', 'answer x', 'batch y,z', 'n2', 'closed']);
    expectNothingLeft(h);
  });

  it('a pool listener that unsubscribes while a frame is handled: the notifications read before it are delivered', async () => {
    const h = await sessionHarness({ readsInTasks });
    const subscription = await subscribeNewHeads(h);
    h.nodes.a!.blackhole();
    h.send(rpc(1, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', 'latest']));
    await h.clock.flush();
    h.nodes.a!.restore();
    const socket = h.sockets.last()!;
    const upstream = socket.sentJson().find((m) => (m as { method?: string }).method === 'eth_getBalance') as { id: number };
    h.pool.on('rateLimited', () => h.send(rpc('u', 'eth_unsubscribe', [subscription])));
    const dropped = h.session.stats().droppedNotifications;
    h.nodes.a!.advance(1);
    // In the same read: the call's answer, a rate limit the pool is told of while the frame is handled.
    socket.receive(JSON.stringify({ jsonrpc: '2.0', id: upstream.id, error: { code: 429, message: 'Too many requests' } }));
    await h.clock.flush();
    expect(h.notifications(subscription).map((m) => m.params.result.number)).toEqual(['0x65']);
    expect(h.answers('u')).toEqual([expect.objectContaining({ result: true })]);
    expect(h.session.stats().droppedNotifications - dropped).toBe(0);
  });

  it('a message listener that throws: the next frame still has its error event', async () => {
    const caught: unknown[] = [];
    const original = globalThis.queueMicrotask;
    // The throw comes out of the frame's handling (without it), or in a microtask of its own (with it).
    vi.stubGlobal('queueMicrotask', (callback: () => void) =>
      original(() => {
        try {
          callback();
        } catch (error) {
          caught.push(error);
        }
      }),
    );
    try {
      const h = await sessionHarness({ readsInTasks });
      await subscribeNewHeads(h);
      let threw = false;
      h.session.on('message', () => {
        if (threw) return;
        threw = true;
        throw new Error('listener bug');
      });
      const errors: string[] = [];
      h.session.on('error', (e) => errors.push(e.code));
      try {
        h.nodes.a!.advance(1);
      } catch (error) {
        caught.push(error);
      }
      h.sockets.last()!.receive('not json');
      await h.clock.flush();
      expect(errors).toEqual(['ERR_BAD_RESPONSE']);
      expect(caught).toEqual([new Error('listener bug')]);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
