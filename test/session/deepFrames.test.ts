import { describe, expect, it } from 'vitest';
import { RpcErrorCode, UpstreamSession } from '../../src/index.js';
import { MAX_UPSTREAM_DEPTH } from '../../src/jsonDepth.js';
import { rpc, sessionHarness } from '../helpers/session.js';

// Found in review: JSON.parse reads a frame nested thousands of levels deep, but what the session
// passes on it serialises again, and JSON.stringify overflowed the stack: the RangeError went out
// of the socket's listener (with ws, an uncaught exception that can end the process).

/** A JSON value nested `levels` deep: arrays in arrays. */
const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const DEEP = nested(10_000);
const HASH = `0x${'11'.repeat(32)}`;

/** A session on node `a` (subscriptions named 0x1, 0x2, … per socket), with its `error` events. */
async function harness() {
  const h = await sessionHarness({ keepaliveIntervalMs: 600_000, subscriptionIds: 'per-socket' });
  const errors: string[] = [];
  h.session.on('error', (error) => errors.push(error.message));
  return { ...h, errors, socket: h.sockets.last()! };
}

/** The ids node `a` got the calls under, in order. */
const upstreamIds = (socket: { sentJson(): unknown[] }) => (socket.sentJson() as Array<{ id: number }>).map((m) => m.id);

describe('a frame from a node nested too deep to serialise again', () => {
  it('answering a call: the call gets an internal error, the frame is counted as garbage, and the session goes on', async () => {
    const h = await harness();
    h.nodes.a!.blackhole();
    h.send(rpc(1, 'eth_call', [{}, 'latest']));
    h.send(rpc(2, 'eth_blockNumber')); // a read the view judges
    const [call, head] = upstreamIds(h.socket);
    expect(() => h.socket.receive(`{"jsonrpc":"2.0","id":${call},"result":${DEEP}}`)).not.toThrow();
    expect(() => h.socket.receive(`{"jsonrpc":"2.0","id":${head},"result":{"x":${DEEP}}}`)).not.toThrow();
    for (const id of [1, 2]) {
      expect(h.answers(id)).toEqual([{ jsonrpc: '2.0', id, error: { code: RpcErrorCode.INTERNAL_ERROR, message: expect.stringContaining('could not be passed on') } }]);
    }
    expect(h.errors).toEqual([expect.stringContaining('Dropped a frame from node "a": nested deeper than'), expect.stringContaining('nested deeper than')]);
    expect(h.session.stats()).toMatchObject({ upstreamGarbage: 2, inFlight: 0, state: 'ready' });
    h.nodes.a!.restore();
    h.send(rpc(3, 'eth_chainId'));
    await h.settle();
    expect(h.answers(3)).toEqual([{ jsonrpc: '2.0', id: 3, result: '0x1' }]);
  });

  it('in a batch from the node: that item alone is refused, the others are passed on', async () => {
    const h = await harness();
    h.nodes.a!.blackhole();
    h.send([rpc(1, 'eth_call', [{}, 'latest']), rpc(2, 'eth_call', [{}, 'latest'])]);
    const [first, second] = upstreamIds(h.socket);
    h.socket.receive(`[{"jsonrpc":"2.0","id":${first},"result":${DEEP}},{"jsonrpc":"2.0","id":${second},"result":"0x2"}]`);
    expect(h.received).toEqual([
      [
        { jsonrpc: '2.0', id: 1, error: { code: RpcErrorCode.INTERNAL_ERROR, message: expect.stringContaining('could not be passed on') } },
        { jsonrpc: '2.0', id: 2, result: '0x2' },
      ],
    ]);
    expect(h.session.stats().upstreamGarbage).toBe(1);
  });

  it('an answer nested to the limit is passed on; one level more is not', async () => {
    const h = await harness();
    h.nodes.a!.blackhole();
    h.send(rpc(1, 'eth_call', [{}, 'latest']));
    h.send(rpc(2, 'eth_call', [{}, 'latest']));
    const [atLimit, beyond] = upstreamIds(h.socket);
    // The frame is one level, its result the rest.
    h.socket.receive(`{"jsonrpc":"2.0","id":${atLimit},"result":${nested(MAX_UPSTREAM_DEPTH - 1)}}`);
    h.socket.receive(`{"jsonrpc":"2.0","id":${beyond},"result":${nested(MAX_UPSTREAM_DEPTH)}}`);
    expect(JSON.stringify(h.answers(1)[0]!.result)).toBe(nested(MAX_UPSTREAM_DEPTH - 1));
    expect(h.answers(2)[0]!.error.code).toBe(RpcErrorCode.INTERNAL_ERROR);
  });

  it.each([
    ['newHeads', ['newHeads'], `{"number":"0x70","hash":"${HASH}","parentHash":"${HASH}","extra":${DEEP}}`],
    ['logs', ['logs', {}], `{"blockNumber":"0x64","blockHash":"${HASH}","logIndex":"0x0","topics":${DEEP}}`],
  ])('a %s notification is dropped and counted, and the stream goes on', async (_kind, params, result) => {
    const h = await harness();
    h.send(rpc('s', 'eth_subscribe', params));
    await h.settle();
    const subscription = h.answers('s')[0]!.result as string;
    expect(subscription).toBe('0x1');
    expect(() => h.socket.receive(`{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"0x1","result":${result}}}`)).not.toThrow();
    expect(h.notifications()).toEqual([]);
    expect(h.session.stats()).toMatchObject({ upstreamGarbage: 1, state: 'ready' });
    expect(h.errors).toEqual([expect.stringContaining('nested deeper than')]);
    h.nodes.a!.advance(1).emitLog();
    await h.settle();
    expect(h.notifications(subscription)).toHaveLength(1);
  });

  it('another session on the pool is not touched', async () => {
    const h = await harness();
    const other = new UpstreamSession({ pool: h.pool, transport: h.sockets, clock: h.clock, random: () => 0.25, keepaliveIntervalMs: 600_000 });
    const texts: string[] = [];
    other.on('message', (text) => texts.push(text));
    await h.settle();
    h.nodes.a!.blackhole();
    h.send(rpc(1, 'eth_call', [{}, 'latest']));
    h.socket.receive(`{"jsonrpc":"2.0","id":${upstreamIds(h.socket)[0]},"result":${DEEP}}`);
    h.nodes.a!.restore();
    other.send(JSON.stringify(rpc(7, 'eth_chainId')));
    await h.settle();
    expect(texts).toEqual(['{"jsonrpc":"2.0","id":7,"result":"0x1"}']);
    await other.close();
  });
});

describe('a client frame nested too deep', () => {
  it('is answered as invalid and never serialised for the node', async () => {
    const h = await harness();
    const sent = h.socket.sent.length;
    expect(() => h.session.send(`{"jsonrpc":"2.0","id":1,"method":"eth_call","params":${DEEP}}`)).not.toThrow();
    expect(() => h.session.send(`[{"jsonrpc":"2.0","id":2,"method":"eth_call","params":${DEEP}}]`)).not.toThrow();
    expect(h.answers(1)[0]!.error.code).toBe(RpcErrorCode.INVALID_REQUEST);
    expect(h.received[1]![0].error.code).toBe(RpcErrorCode.INVALID_REQUEST);
    expect(h.socket.sent.length).toBe(sent);
  });
});
