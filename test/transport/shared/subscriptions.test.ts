import { describe, expect, it } from 'vitest';
import type { SocketListener } from '../../../src/index.js';
import { SharedSocketTransport } from '../../../src/index.js';
import { FakeClock, FakeSocketTransport } from '../../../src/testing/index.js';
import { normalizedWithSubs, rpc, world, type Mode } from '../../helpers/sharedWorld.js';

/**
 * The node loses one session's eth_subscribe (a short stall: FakeNode drops what it gets while
 * blackholed) and then answers again. A second session subscribes to the same params a second later,
 * to a node that answers. On its own socket its subscribe is answered at once; on the shared socket
 * it must not wait on the lost one until its request deadline (30 s).
 */
async function lostSubscribe(mode: Mode) {
  const w = await world(mode, 2);
  const [a, b] = w.clients as [any, any];
  w.nodes.a.blackhole();
  a.send(rpc(1, 'eth_subscribe', ['newHeads'])); // lost
  await w.settle();
  w.nodes.a.restore();
  await w.clock.advance(1_000);
  b.send(rpc(1, 'eth_subscribe', ['newHeads']));
  await w.clock.advance(1_000);
  w.nodes.a.advance(1);
  w.nodes.b.advance(1);
  await w.clock.advance(1_000);
  return { answer: b.answers(1), heads: b.notes(b.subId(1) ?? '-').map((h: any) => Number(h.number)), node: b.session.node, first: a.answers(1), upstream: w.nodes.a.subscriptionCount };
}

describe('a subscribe the node lost', () => {
  it('does not hold up another session’s subscribe to the same params', async () => {
    const own = await lostSubscribe('own');
    expect(own.answer).toHaveLength(1);
    expect(own.heads).toEqual([101]);
    const shared = await lostSubscribe('shared');
    expect(shared.node).toBe(own.node);
    expect(shared.answer).toHaveLength(1);
    expect(shared.heads).toEqual([101]);
    // Asked again for both: the first session is served too (on its own socket it would wait for
    // its deadline), by one upstream subscription.
    expect(shared.first).toHaveLength(1);
    expect(shared.upstream).toBe(1);
  });
});

/**
 * A client that subscribes again (same params) from inside its handler for a notification: the
 * notification being handed out was sent by the node before that subscribe existed, so on its own
 * socket the new subscription never gets it.
 */
async function reentrant(mode: Mode, sessions: number) {
  const w = await world(mode, sessions);
  const last = w.clients.at(-1)!;
  for (const c of w.clients) c.send(rpc(1, 'eth_subscribe', ['newHeads']));
  await w.settle();
  let again = false;
  last.session.on('message', (text) => {
    if (!again && text.includes('eth_subscription')) {
      again = true;
      last.send(rpc(2, 'eth_subscribe', ['newHeads']));
    }
  });
  w.nodes.a.advance(1);
  await w.settle();
  w.nodes.a.advance(1);
  await w.settle();
  const sub2 = last.subId(2);
  return { seen: w.clients.map((c) => normalizedWithSubs(c.received, [1, 2])), second: last.notes(sub2).map((h) => Number(h.number)) };
}

describe('a subscribe made while a notification is being fanned out', () => {
  it.each([1, 2])('does not get that (earlier) notification, as on its own socket (%i sessions)', async (sessions) => {
    const own = await reentrant('own', sessions);
    const shared = await reentrant('shared', sessions);
    expect(own.second).toEqual([102]);
    expect(shared.second).toEqual(own.second);
    expect(shared.seen).toEqual(own.seen);
  });

  it.each([
    ['in the common shape', (id: string) => `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"${id}","result":"0x1"}}`],
    ['in another shape (parsed)', (id: string) => `{ "jsonrpc": "2.0", "method": "eth_subscription", "params": { "subscription": "${id}", "result": "0x1" } }`],
  ])('whichever path the frame takes: %s', async (_, frame) => {
    const clock = new FakeClock();
    const fake = new FakeSocketTransport();
    const shared = new SharedSocketTransport({ transport: fake, clock });
    const seen: string[] = [];
    let subscribeAgain = () => {};
    const listener: SocketListener = {
      onOpen: () => {},
      onMessage: (text) => {
        seen.push(text);
        if (text.includes('eth_subscription') && seen.length === 2) subscribeAgain();
      },
      onClose: () => {},
      onError: () => {},
    };
    const socket = shared.open({ url: 'ws://a.test/' }, listener);
    await clock.flush();
    fake.last()!.accept();
    socket.send(JSON.stringify(rpc(1, 'eth_subscribe', ['newHeads'])));
    fake.last()!.receiveJson({ jsonrpc: '2.0', id: (fake.last()!.sentJson()[0] as { id: number }).id, result: '0xup' });
    subscribeAgain = () => socket.send(JSON.stringify(rpc(2, 'eth_subscribe', ['newHeads'])));
    fake.last()!.receive(frame('0xup'));
    await clock.flush();
    // The answer to the first subscribe, the notification, the answer to the second: nothing for it.
    expect(seen.map((text) => JSON.parse(text)).map((m) => m.id ?? m.method)).toEqual([1, 'eth_subscription', 2]);
    fake.last()!.receive(frame('0xup'));
    expect(seen.slice(3).map((text) => JSON.parse(text).params.subscription)).toEqual([JSON.parse(seen[0]!).result, JSON.parse(seen[2]!).result]);
  });
});
