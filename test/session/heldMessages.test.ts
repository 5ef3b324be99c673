import { describe, expect, it } from 'vitest';
import { HeldMessages } from '../../src/session/HeldMessages.js';
import { FakeSocketTransport } from '../../src/testing/index.js';
import { WsSocketTransport } from '../../src/transport/WsSocketTransport.js';
import { expectNothingLeft, rpc, sessionHarness, subscribeNewHeads } from '../helpers/session.js';

const microtask = () => new Promise<void>((resolve) => queueMicrotask(resolve));

describe('HeldMessages', () => {
  it('passes on what it holds in a microtask, in order, and holds nothing after', async () => {
    const out: string[] = [];
    const held = new HeldMessages((text) => out.push(text));
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
    const held = new HeldMessages((text) => out.push(text));
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
    });
    for (const text of ['a', 'b', 'c']) held.push(text);
    held.release();
    expect(out).toEqual(['a', 'b', 'c', 'after a']);
  });

  it('a listener that throws leaves the rest for a microtask of its own', async () => {
    const out: string[] = [];
    const held = new HeldMessages((text) => {
      out.push(text);
      if (text === 'a') throw new Error('listener');
    });
    held.push('a');
    held.push('b');
    expect(() => held.release()).toThrow('listener');
    expect(out).toEqual(['a']);
    await microtask();
    expect(out).toEqual(['a', 'b']);
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
