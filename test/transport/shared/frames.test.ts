import { describe, expect, it } from 'vitest';
import type { SocketListener } from '../../../src/index.js';
import { SharedSocketTransport } from '../../../src/index.js';
import { FakeClock, FakeSocketTransport } from '../../../src/testing/index.js';
import { ANSWER_HEAD, NOTIFICATION_PREFIX, NOTIFICATION_RESULT, notificationId } from '../../../src/frameShapes.js';
import { isCompactJson } from '../../../src/jsonScan.js';
import { normalizedWithSubs, rpc, world, type Mode } from '../../helpers/sharedWorld.js';

/**
 * What a SharedSocketTransport hands a session, which (`framesChecked`) splices it without checking:
 * a frame in the common shape must be exactly that shape with its result one JSON value, and nothing
 * a node adds to a frame may reach a client.
 */

/**
 * A node that adds a member to a frame (valid JSON, one JSON-RPC message, but more than the
 * client asked for). On its own socket a session reads such a frame in full and passes on its
 * JSON-RPC members only.
 */
async function extraMembers(mode: Mode) {
  // Ids counted from 0x1 on each socket: the frame below names the node's first subscription.
  const w = await world(mode, 1, { subscriptionIds: 'per-socket' });
  const [c] = w.clients as [any];
  c.send(rpc(1, 'eth_subscribe', ['newHeads']));
  await w.settle();
  const sockets = w.fake.openSockets;
  for (const socket of sockets) {
    const receive = socket.receive.bind(socket);
    socket.receive = (text: string) => receive(text.endsWith(',"result":"0x0"}') ? `${text.slice(0, -1)},"extra":{"number":"0x999"}}` : text);
  }
  c.send(rpc(2, 'eth_getBalance', ['0x01', 'latest']));
  await w.settle();
  const head = w.nodes.a.block(101);
  for (const socket of sockets) {
    socket.receive(`{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x1","result":${JSON.stringify(head)},"extra":{"number":"0x999"}}}`);
  }
  await w.settle();
  return { seen: normalizedWithSubs(c.received, [1]), texts: c.texts as string[] };
}

describe('a node frame with an extra member', () => {
  it('reaches the client as it does on the session’s own socket', async () => {
    const own = await extraMembers('own');
    const shared = await extraMembers('shared');
    expect(shared.seen).toEqual(own.seen);
    expect(shared.texts.join()).not.toContain('0x999');
  });

  it('never changes the notification the client gets (the result is one JSON value)', async () => {
    const shared = await extraMembers('shared');
    const note = shared.seen.find((m: any) => m.method === 'eth_subscription');
    expect(note.params).toEqual({ subscription: 'S1', result: expect.objectContaining({ number: '0x65' }) });
  });
});

/** One user on an open shared socket, subscribed upstream as 0xup; `texts` is what it is handed. */
async function subscribedUser() {
  const clock = new FakeClock();
  const fake = new FakeSocketTransport();
  const shared = new SharedSocketTransport({ transport: fake, clock });
  const texts: string[] = [];
  const listener: SocketListener = { onOpen: () => {}, onMessage: (text) => texts.push(text), onClose: () => {}, onError: () => {} };
  const socket = shared.open({ url: 'ws://a.test/' }, listener);
  await clock.flush();
  const server = fake.last()!;
  server.accept();
  socket.send(JSON.stringify(rpc(1, 'eth_subscribe', ['newHeads'])));
  server.receiveJson({ jsonrpc: '2.0', id: (server.sentJson()[0] as { id: number }).id, result: '0xup' });
  const subscription = JSON.parse(texts[0]!).result as string;
  texts.length = 0;
  return { clock, shared, server, socket, texts, subscription };
}

/** What a session relies on when it splices a frame of a `framesChecked` transport. */
function expectSpliceable(text: string) {
  const id = notificationId(text);
  if (id !== undefined) {
    expect(text.endsWith('}}')).toBe(true);
    const result = text.slice(NOTIFICATION_PREFIX.length + id.length + NOTIFICATION_RESULT.length, -2);
    expect(() => JSON.parse(result)).not.toThrow();
    expect(JSON.stringify(JSON.parse(result))).toBe(result);
    return;
  }
  const head = ANSWER_HEAD.exec(text);
  if (head) {
    expect(text.endsWith('}')).toBe(true);
    const value = text.slice(head[0].length, -1);
    expect(JSON.stringify(JSON.parse(value))).toBe(value);
  }
}

describe('SharedSocketTransport: frames it writes itself are what a framesChecked session assumes', () => {
  it.each([
    ['an extra member in params', (id: string) => `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"${id}","result":{"number":"0x1"},"x":{"number":"0x9"}}}`, { number: '0x1' }],
    ['an extra member at the top', (id: string) => `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"${id}","result":"0x1"},"x":1}`, '0x1'],
    ['whitespace', (id: string) => `{ "jsonrpc": "2.0", "method": "eth_subscription", "params": { "subscription": "${id}", "result": [1, 2] } }`, [1, 2]],
    ['another key order', (id: string) => `{"params":{"result":"0x1","subscription":"${id}"},"method":"eth_subscription","jsonrpc":"2.0"}`, '0x1'],
    ['escapes in the result', (id: string) => `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"${id}","result":"a\\"b\\u0041"}}`, 'a"bA'],
  ])('a notification with %s: its JSON-RPC members, in the common shape', async (_, frame, result) => {
    const { server, texts, subscription } = await subscribedUser();
    server.receive(frame('0xup'));
    expect(texts).toHaveLength(1);
    expect(JSON.parse(texts[0]!)).toEqual({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription, result } });
    expect(texts[0]!.startsWith(`${NOTIFICATION_PREFIX}${subscription}${NOTIFICATION_RESULT}`)).toBe(true);
    expectSpliceable(texts[0]!);
  });

  it('a notification without a result: no result, and not in the common shape (the session reads it in full)', async () => {
    const { server, texts, subscription } = await subscribedUser();
    server.receive('{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xup"},"x":1}');
    expect(texts).toEqual([`${NOTIFICATION_PREFIX}${subscription}"}}`]);
    expect(notificationId(texts[0]!)).toBeUndefined();
  });

  it.each([
    ['an extra member', '"result":"0x1","x":{"y":2}', { result: '0x1' }],
    ['members in another order', '"result":"0x1","jsonrpc":"1.0"', { result: '0x1' }],
    ['both a result and an error (the error counts, as a session reads it)', '"result":"0x1","error":{"code":-1,"message":"no","data":{"z":1}}', { error: { code: -1, message: 'no', data: { z: 1 } } }],
    ['whitespace and escapes', ' "result" : "a\\u0041" ', { result: 'aA' }],
    ['neither a result nor an error', '"x":1', {}],
  ])('an answer with %s: its JSON-RPC members only', async (_, members, expected) => {
    const { server, socket, texts } = await subscribedUser();
    socket.send(JSON.stringify(rpc('call', 'eth_call')));
    socket.send(JSON.stringify(rpc(7, 'eth_call')));
    const [stringId, numberId] = (server.sentJson() as Array<{ id: number }>).slice(-2).map((m) => m.id);
    server.receive(`{"jsonrpc":"2.0","id":${stringId},${members}}`);
    server.receive(`{"id":${numberId},${members}}`);
    expect(texts.map((t) => JSON.parse(t))).toEqual([
      { jsonrpc: '2.0', id: 'call', ...expected },
      { jsonrpc: '2.0', id: 7, ...expected },
    ]);
    for (const text of texts) expect(isCompactJson(text)).toBe(true);
    expectSpliceable(texts[1]!);
  });

  it('a node’s error to a shared subscribe: every waiter gets its JSON-RPC members only', async () => {
    const { server, socket, texts } = await subscribedUser();
    socket.send(JSON.stringify(rpc(2, 'eth_subscribe', ['logs', {}])));
    socket.send(JSON.stringify(rpc(3, 'eth_subscribe', ['logs', {}])));
    const id = (server.sentJson().at(-1) as { id: number }).id;
    server.receive(`{"id":${id},"jsonrpc":"2.0","error":{"code":-32000,"message":"too many"},"x":1}`);
    expect(texts).toEqual([
      '{"jsonrpc":"2.0","id":2,"error":{"code":-32000,"message":"too many"}}',
      '{"jsonrpc":"2.0","id":3,"error":{"code":-32000,"message":"too many"}}',
    ]);
  });
});

describe('SharedSocketTransport: one-way subscribes and unsubscribes', () => {
  it('never writes a one-way eth_subscribe or eth_unsubscribe on the shared socket, alone or in a batch; other one-way calls go on', async () => {
    const { server, socket, texts } = await subscribedUser();
    const before = server.sent.length;
    socket.send('{"jsonrpc":"2.0","method":"eth_unsubscribe","params":["0xup"]}');
    socket.send('{"jsonrpc":"2.0","method":"eth_subscribe","params":["newHeads"]}');
    socket.send('[{"jsonrpc":"2.0","method":"eth_unsubscribe","params":["0xup"]},{"jsonrpc":"2.0","method":"eth_subscribe","params":["logs"]},{"jsonrpc":"2.0","method":"note","params":[]}]');
    socket.send('{"method":"eth_unsubscribe","params":["0xup"],"jsonrpc":"2.0"}');
    expect(server.sent.slice(before).map((text) => JSON.parse(text))).toEqual([{ jsonrpc: '2.0', method: 'note', params: [] }]);
    expect(texts).toEqual([]);
    server.receive('{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xup","result":"0x1"}}');
    expect(texts).toHaveLength(1); // the subscription lives on
  });
});
