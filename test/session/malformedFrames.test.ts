import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../src/index.js';
import { rpc, sessionHarness } from '../helpers/session.js';

/**
 * Nothing but one JSON-RPC message per frame reaches the client, whatever a node sends: the fast
 * paths pass a node's text on only when it checks as exactly one JSON value.
 */
async function harness(options: Parameters<typeof sessionHarness>[0] = {}) {
  const h = await sessionHarness({ keepaliveIntervalMs: 600_000, ...options });
  const texts: string[] = [];
  h.session.on('message', (text) => texts.push(text));
  const errors: string[] = [];
  h.session.on('error', (error) => errors.push(error.message));
  /** Every frame the client got is one JSON value and carries nothing planted. */
  const clean = () => texts.every((text) => !text.includes('leak') && (JSON.parse(text), true));
  return { ...h, texts, errors, clean };
}

/** The frames a node sent on `socket`, as it sent them (FakeNode writes them with `receive`). */
function tap(socket: { receive(text: string): void }): string[] {
  const frames: string[] = [];
  const receive = socket.receive.bind(socket);
  socket.receive = (text: string) => {
    frames.push(text);
    receive(text);
  };
  return frames;
}

const TAILS = ['{"leak":"x"}', '}', ',"leak":1}', ' x', '{"leak":{"x":1}}'];

describe('answers from a node that are not one JSON-RPC message', () => {
  it.each(TAILS)('an answer followed by %j never reaches the client, and its call is failed at once', async (tail) => {
    const h = await harness();
    h.nodes.a!.blackhole();
    h.send(rpc(1, 'eth_chainId'));
    h.send(rpc(2, 'eth_blockNumber')); // a read the view judges
    h.send(rpc(3, 'eth_sendTransaction', [{}]));
    const socket = h.sockets.last()!;
    const ids = (socket.sentJson() as Array<{ id: number }>).map((m) => m.id);
    for (const id of ids) socket.receive(`{"jsonrpc":"2.0","id":${id},"result":"0x1"}${tail}`);
    for (const id of [1, 2, 3]) {
      expect(h.answers(id)).toEqual([{ jsonrpc: '2.0', id, error: { code: RpcErrorCode.INTERNAL_ERROR, message: 'Internal error: node "a" sent a malformed answer' } }]);
    }
    expect(h.clean()).toBe(true);
    expect(h.session.stats()).toMatchObject({ upstreamGarbage: 3, inFlight: 0, state: 'ready' });
  });

  it('a control character inside a result, or a broken structure, is caught the same way', async () => {
    const h = await harness();
    h.nodes.a!.blackhole();
    h.send(rpc(1, 'eth_call'));
    h.send(rpc(2, 'eth_call'));
    h.send(rpc(3, 'eth_call'));
    const socket = h.sockets.last()!;
    const [a, b, c] = (socket.sentJson() as Array<{ id: number }>).map((m) => m.id);
    socket.receive(`{"jsonrpc":"2.0","id":${a},"result":"0x\u0001"}`);
    socket.receive(`{"jsonrpc":"2.0","id":${b},"result":{"a":[1}]}`);
    socket.receive(`{"jsonrpc":"2.0","id":${c},"result":tru}`);
    for (const id of [1, 2, 3]) expect(h.answers(id)[0]!.error.code).toBe(RpcErrorCode.INTERNAL_ERROR);
    expect(h.clean()).toBe(true);
  });

  it('valid but unusual answers are read in full and answered well formed', async () => {
    const h = await harness();
    h.nodes.a!.blackhole();
    for (let id = 1; id <= 5; id++) h.send(rpc(id, 'eth_call'));
    const socket = h.sockets.last()!;
    const [a, b, c, d, e] = (socket.sentJson() as Array<{ id: number }>).map((m) => m.id);
    socket.receive(`{"jsonrpc":"2.0","id":${a},"result": "0x1" }`);
    socket.receive(`{"jsonrpc":"2.0","id":${b},"result":"a\\"b"}`);
    socket.receive(`{"jsonrpc":"2.0","id":${c},"result":"0x3","leak":1}`);
    socket.receive(`{"jsonrpc":"2.0","id":${d},"error":"oops"}`);
    socket.receive(`{"jsonrpc":"2.0","id":${e},"error":{"code":-32000,"message":"execution reverted","data":"0x"}}`);
    expect(h.received).toEqual([
      { jsonrpc: '2.0', id: 1, result: '0x1' },
      { jsonrpc: '2.0', id: 2, result: 'a"b' },
      { jsonrpc: '2.0', id: 3, result: '0x3' },
      { jsonrpc: '2.0', id: 4, error: { code: RpcErrorCode.INTERNAL_ERROR, message: 'Internal error: the node sent a malformed error' } },
      { jsonrpc: '2.0', id: 5, error: { code: -32000, message: 'execution reverted', data: '0x' } },
    ]);
    expect(h.clean()).toBe(true);
  });
});

describe('notifications from a node that are not one JSON-RPC message', () => {
  it.each([true, false])('are dropped and counted, and the stream goes on (continuity %s)', async (continuity) => {
    const h = await harness(continuity ? {} : { continuity: { newHeads: false, logs: false } });
    const frames = tap(h.sockets.last()!);
    h.send(rpc(1, 'eth_subscribe', ['newHeads']));
    await h.settle();
    const subscription = h.answers(1)[0]!.result as string;
    h.nodes.a!.advance(1);
    const good = frames.at(-1)!;
    expect(good).toContain('"eth_subscription"');
    const socket = h.sockets.last()!;
    const garbage = [
      `${good}{"leak":{"x":1}}`,
      good.replace(/}}$/, '},"leak":{}}}'),
      good.replace('"number"', '"leak":{"a":[1}],"number"'),
      good.replace('"number":"', '"number":"\u0001'),
      good.replace(/}}}$/, '}]}}'),
    ];
    for (const text of garbage) socket.receive(text);
    h.nodes.a!.advance(1);
    await h.settle();
    expect(h.notifications(subscription).map((n) => n.params.result.number)).toEqual(['0x65', '0x66']);
    expect(h.clean()).toBe(true);
    expect(h.session.stats().upstreamGarbage).toBe(garbage.length);
  });

  it('a notification for a subscription the session does not track is checked too', async () => {
    const h = await harness();
    h.send(rpc(1, 'eth_subscribe', ['newPendingTransactions']));
    await h.settle();
    const subscription = h.answers(1)[0]!.result as string;
    const notification = (result: string) => `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"${subscription}","result":${result}}}`;
    const socket = h.sockets.last()!;
    socket.receive(`${notification('"0xaa"')}{"leak":{"x":1}}`);
    socket.receive(notification('"0xbb"'));
    expect(h.notifications(subscription).map((n) => n.params.result)).toEqual(['0xbb']);
    expect(h.clean()).toBe(true);
  });
});
