import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../src/index.js';
import type { FakeSocket } from '../../src/testing/index.js';
import { rpc, sessionHarness } from '../helpers/session.js';

// Review: a call still being worked on by the node (a trace, a heavy eth_call) when an oversized
// answer fails the socket was sent again beside the oversized one, and failed FRAME_TOO_LARGE with
// it when the next socket failed too, though its answer was never seen. Now each call that was on
// that socket goes on a socket of its own (IsolationLane): only the one whose answer fails that
// one too gets FRAME_TOO_LARGE, and a slow call does not hold it up.
describe('review: a slow call in flight beside the oversized one', () => {
  it('is not failed FRAME_TOO_LARGE for an answer that was not its own', async () => {
    const h = await sessionHarness();
    const closes: number[] = [];
    h.session.on('upstreamClose', ({ code }) => closes.push(code));
    for (const name of ['a', 'b']) {
      const node = h.nodes[name]!;
      node.oversized.add('eth_getLogs');
      // The node takes its time over eth_getBalance (never answers it here).
      h.sockets.route(`ws://${name}.test/`, (socket: FakeSocket) => {
        const set = socket.onSend.bind(socket);
        socket.onSend = (handler) => set(handler && ((text, s) => (text.includes('"eth_getBalance"') ? undefined : handler(text, s))));
        node.socket(socket);
      });
    }
    for (const socket of h.sockets.openSockets) socket.serverClose(1012);
    await h.clock.advance(10_000);
    expect(h.sockets.openSockets.length).toBe(1);
    closes.length = 0;
    h.send(rpc(1, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', '0x1']));
    h.send(rpc(2, 'eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }]));
    await h.settle();
    await h.clock.advance(5_000);
    expect(h.answers(2)[0].error.code).toBe(RpcErrorCode.FRAME_TOO_LARGE);
    expect(h.answers(1)).toEqual([]);
    // The session's socket failed once; the oversized call failed a socket of its own after it.
    expect(closes).toHaveLength(1);
    // The slow call is the session's to time out, as any call (30 s from its last send: it was
    // sent once more when the session failed back to a).
    await h.clock.advance(45_000);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, error: expect.objectContaining({ code: RpcErrorCode.REQUEST_TIMEOUT }) }]);
    // Nothing is left open but the session's socket.
    expect(h.sockets.openSockets.length).toBe(1);
  });
});
