import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../../src/index.js';
import { settle, twoUsers } from '../../helpers/sharedUser.js';
import { rpc, world } from '../../helpers/sharedWorld.js';

// Found in review: the general path re-serialises what it gives a user (the answer's result, a
// notification's), and JSON.stringify overflowed the stack on a frame nested thousands of levels
// deep: the RangeError went out of the real socket's listener, with every user on it.

const DEEP = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;

const upstreamId = (text: string) => (JSON.parse(text) as { id: number }).id;
const tooDeep = { code: RpcErrorCode.INTERNAL_ERROR, message: expect.stringContaining('could not be passed on') };

describe('a frame from the node nested too deep to serialise again', () => {
  it('answering a call: that user gets an internal error under its id, the other its answer', async () => {
    const { shared, users, sockets, server } = await twoUsers();
    sockets[0]!.send('{"id":1,"jsonrpc":"2.0","method":"eth_call","params":[]}');
    sockets[1]!.send('{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[]}');
    const [first, second] = server.sent.map(upstreamId);
    expect(() => server.receive(`{"jsonrpc":"2.0","id":${first},"result":${DEEP}}`)).not.toThrow();
    server.receive(`{"jsonrpc":"2.0","id":${second},"result":"0x2"}`);
    expect(users[0]!.messages()).toEqual([{ jsonrpc: '2.0', id: 1, error: tooDeep }]);
    expect(users[1]!.messages()).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x2' }]);
    expect(shared.stats().unroutable).toBe(1);
  });

  it('in a batch from the node: that item alone is refused', async () => {
    const { users, sockets, server } = await twoUsers();
    sockets[0]!.send('[{"jsonrpc":"2.0","id":1,"method":"eth_call"},{"jsonrpc":"2.0","id":2,"method":"eth_call"}]');
    const [first, second] = server.sent.map(upstreamId);
    expect(() => server.receive(`[{"jsonrpc":"2.0","id":${first},"error":{"code":3,"message":"reverted","data":${DEEP}}},{"jsonrpc":"2.0","id":${second},"result":"0x2"}]`)).not.toThrow();
    expect(users[0]!.messages()).toEqual([
      { jsonrpc: '2.0', id: 1, error: tooDeep },
      { jsonrpc: '2.0', id: 2, result: '0x2' },
    ]);
  });

  it('a notification is dropped and counted; the next one reaches every subscriber', async () => {
    const { shared, users, sockets, server } = await twoUsers();
    for (const socket of sockets) socket.send('{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}');
    server.receive(`{"jsonrpc":"2.0","id":${upstreamId(server.sent[0]!)},"result":"0xup"}`);
    await settle();
    const notification = (result: string) => `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0xup","result":${result}}}`;
    expect(() => server.receive(notification(`{"number":"0x65","extra":${DEEP}}`))).not.toThrow();
    expect(shared.stats().unroutable).toBe(1);
    server.receive(notification('{"number":"0x66"}'));
    for (const u of users) expect(u.messages().slice(1)).toEqual([{ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: expect.any(String), result: { number: '0x66' } } }]);
  });

  it('answering a shared subscribe: nobody hears of it, and the transport goes on', async () => {
    const { users, sockets, server } = await twoUsers();
    sockets[0]!.send('{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}');
    expect(() => server.receive(`{"jsonrpc":"2.0","id":${upstreamId(server.sent[0]!)},"error":{"code":-32000,"message":"no","data":${DEEP}}}`)).not.toThrow();
    sockets[1]!.send('{"jsonrpc":"2.0","id":5,"method":"eth_call","params":[]}');
    server.receive(`{"jsonrpc":"2.0","id":${upstreamId(server.sent.at(-1)!)},"result":"0x5"}`);
    expect(users[0]!.messages()).toEqual([]);
    expect(users[1]!.messages()).toEqual([{ jsonrpc: '2.0', id: 5, result: '0x5' }]);
  });

  it('sessions on the shared socket: the one asked gets the error, the others go on', async () => {
    const w = await world('shared', 2, { session: { keepaliveIntervalMs: 600_000 } });
    const [c1, c2] = w.clients as [any, any];
    w.nodes.a.blackhole();
    const real = w.fake.last()!;
    const sent = real.sent.length;
    c1.send(rpc(1, 'eth_call', [{}, 'latest']));
    expect(() => real.receive(`{"jsonrpc":"2.0","id":${upstreamId(real.sent[sent]!)},"result":${DEEP}}`)).not.toThrow();
    await w.settle();
    expect(c1.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, error: tooDeep }]);
    w.nodes.a.restore();
    c1.send(rpc(2, 'eth_chainId'));
    c2.send(rpc(3, 'eth_getBalance', ['0x01', 'latest']));
    await w.settle();
    expect(c1.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: '0x1' }]);
    expect(c2.answers(3)).toEqual([{ jsonrpc: '2.0', id: 3, result: expect.any(String) }]);
  });
});

describe('a frame from a user nested too deep to serialise again', () => {
  // Found in review: a frame not in a session's shape is parsed and written again, and
  // JSON.stringify threw RangeError out of send(), after the batch items before it had gone.
  it.each([
    ["a request not in a session's shape", `{"method":"eth_call","params":[${DEEP}],"id":7,"jsonrpc":"2.0"}`],
    ['a batch whose second item is deep', `[{"jsonrpc":"2.0","id":1,"method":"eth_call"},{"jsonrpc":"2.0","id":2,"method":"eth_call","params":${DEEP}}]`],
    ['a notification to the node', `{"jsonrpc":"2.0","method":"eth_call","params":${DEEP}}`],
  ])('%s: send() throws a SteadyRpcError saying why, nothing of it reaches the node, the socket goes on', async (_what, frame) => {
    const { users, sockets, server } = await twoUsers();
    const before = server.sent.length;
    expect(() => sockets[0]!.send(frame)).toThrow(expect.objectContaining({ name: 'SteadyRpcError', code: 'ERR_TRANSPORT', message: expect.stringContaining('nested deeper than 2048 levels') }));
    expect(server.sent.length).toBe(before);
    sockets[0]!.send('{"jsonrpc":"2.0","id":8,"method":"eth_call","params":[]}');
    server.receive(`{"jsonrpc":"2.0","id":${upstreamId(server.sent.at(-1)!)},"result":"0x8"}`);
    expect(users[0]!.messages()).toEqual([{ jsonrpc: '2.0', id: 8, result: '0x8' }]);
  });
});
