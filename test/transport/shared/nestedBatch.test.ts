import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../../src/index.js';
import { settle, twoUsers } from '../../helpers/sharedUser.js';

// Found in review: a batch item that is itself an array was written to the real socket as it was,
// ids and all. A node reads it as a batch of its own and answers under those ids, which may be
// another session's on the shared socket: the answer went to the wrong session. A JSON-RPC batch is
// one array of request objects; an array in it is no request.

const invalid = { jsonrpc: '2.0', id: null, error: { code: RpcErrorCode.INVALID_REQUEST, message: 'Invalid request: expected an object' } };
const upstreamId = (text: string) => (JSON.parse(text) as { id: number }).id;

describe('a batch item that is an array, on a shared socket', () => {
  it('is never written upstream: that user alone is answered that it is invalid, after send() returns', async () => {
    const { users, sockets, server } = await twoUsers();
    sockets[1]!.send('{"jsonrpc":"2.0","id":7,"method":"eth_getBalance","params":["0xb0b","latest"]}');
    const taken = upstreamId(server.sent[0]!);
    // The other user's id on the real socket, inside an array inside a batch.
    sockets[0]!.send(`[[{"jsonrpc":"2.0","id":${taken},"method":"eth_chainId"}]]`);
    expect(users[0]!.messages()).toEqual([]);
    expect(server.sent).toHaveLength(1);
    await settle();
    expect(users[0]!.messages()).toEqual([invalid]);
    server.receive(`{"jsonrpc":"2.0","id":${taken},"result":"0x10"}`);
    expect(users[1]!.messages()).toEqual([{ jsonrpc: '2.0', id: 7, result: '0x10' }]);
    expect(users[0]!.messages()).toEqual([invalid]);
  });

  it('the other items of the batch are served', async () => {
    const { users, sockets, server } = await twoUsers();
    sockets[0]!.send('[[{"jsonrpc":"2.0","id":99,"method":"eth_chainId"}],{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"},[]]');
    expect(server.sent.map((text) => JSON.parse(text))).toEqual([{ jsonrpc: '2.0', id: expect.any(Number), method: 'eth_blockNumber' }]);
    server.receive(`{"jsonrpc":"2.0","id":${upstreamId(server.sent[0]!)},"result":"0x64"}`);
    await settle();
    expect(users[0]!.messages()).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x64' }, invalid, invalid]);
    expect(users[1]!.messages()).toEqual([]);
  });

  it('nested thousands of levels deep: answered the same, nothing thrown', async () => {
    const { users, sockets, server } = await twoUsers();
    expect(() => sockets[0]!.send(`[${'['.repeat(10_000)}${']'.repeat(10_000)}]`)).not.toThrow();
    await settle();
    expect(server.sent).toEqual([]);
    expect(users[0]!.messages()).toEqual([invalid]);
  });
});
