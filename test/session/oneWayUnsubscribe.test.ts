import { describe, expect, it } from 'vitest';
import { rpc, sessionHarness } from '../helpers/session.js';

/** What the session wrote upstream on its socket to node `a`, parsed. */
function upstreamFrames(h: Awaited<ReturnType<typeof sessionHarness>>): any[] {
  const frames: any[] = [];
  h.sockets.onSend((text) => frames.push(JSON.parse(text)));
  return frames;
}

describe('an eth_unsubscribe without an id', () => {
  it('ends the client subscription it names, upstream under the session own id, and gets no answer', async () => {
    const h = await sessionHarness();
    const sent = upstreamFrames(h);
    h.send(rpc('s', 'eth_subscribe', ['newHeads']));
    await h.settle();
    const subscription = h.answers('s')[0]!.result as string;
    h.nodes.a!.advance(1);
    await h.settle();
    expect(h.notifications(subscription)).toHaveLength(1);
    h.send({ jsonrpc: '2.0', method: 'eth_unsubscribe', params: [subscription] });
    await h.settle();
    const unsubscribe = sent.find((f) => f.method === 'eth_unsubscribe');
    expect(unsubscribe).toMatchObject({ params: [subscription] });
    expect(typeof unsubscribe.id).toBe('number'); // the session's own call, its answer swallowed
    h.nodes.a!.advance(1);
    await h.settle();
    expect(h.notifications(subscription)).toHaveLength(1);
    expect(h.received.filter((m) => 'id' in m && m.id !== 's')).toEqual([]);
    expect(h.session.stats().subscriptions).toBe(0);
  });

  it('naming an id the client does not have is never passed on (on a shared socket it may be another session subscription)', async () => {
    const h = await sessionHarness();
    const sent = upstreamFrames(h);
    h.send({ jsonrpc: '2.0', method: 'eth_unsubscribe', params: ['0x1'] });
    h.send({ jsonrpc: '2.0', method: 'eth_unsubscribe', params: [] });
    await h.settle();
    expect(sent.filter((f) => f.method === 'eth_unsubscribe')).toEqual([]);
    expect(h.received).toEqual([]);
  });
});

describe('subscription ids a node hands out again', () => {
  it('get fresh ids for the client even when the injected random repeats itself', async () => {
    const h = await sessionHarness({ random: () => 0.5 });
    // The node numbers every subscription 0x1 again once the last one ended (a node that reuses ids).
    h.sockets.last()!.onSend((text, socket) => {
      const request = JSON.parse(text);
      const own = request.method === 'eth_subscribe' ? '0x1' : request.method === 'eth_unsubscribe' ? true : undefined;
      socket.receiveJson(own === undefined ? h.nodes.a!.answer(request) : { jsonrpc: '2.0', id: request.id, result: own });
    });
    const ids: string[] = [];
    for (const n of [1, 2, 3, 4]) {
      h.send(rpc(`s${n}`, 'eth_subscribe', ['newHeads']));
      await h.settle();
      const id = h.answers(`s${n}`)[0]!.result as string;
      ids.push(id);
      h.send(rpc(`u${n}`, 'eth_unsubscribe', [id]));
      await h.settle();
      expect(h.answers(`u${n}`)[0]).toMatchObject({ result: true });
    }
    expect(ids[0]).toBe('0x1');
    expect(new Set(ids).size).toBe(4);
  });
});
