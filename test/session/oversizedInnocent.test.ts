import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../src/index.js';
import type { FakeSocket } from '../../src/testing/index.js';
import { rpc, sessionHarness } from '../helpers/session.js';

// Review: a call still being worked on by the node (a trace, a heavy eth_call) when the oversized
// answer fails the socket, twice, is failed FRAME_TOO_LARGE though its answer was never seen.
describe('review: a slow call in flight beside the oversized one', () => {
  // Not fixed in review: which answer was too big is not known; kept as a known failure.
  it.fails('is not failed FRAME_TOO_LARGE for an answer that was not its own', async () => {
    const h = await sessionHarness();
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
    h.send(rpc(1, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', '0x1']));
    h.send(rpc(2, 'eth_getLogs', [{ fromBlock: '0x0', toBlock: 'latest' }]));
    await h.settle();
    await h.clock.advance(5_000);
    expect(h.answers(2)[0].error.code).toBe(RpcErrorCode.FRAME_TOO_LARGE);
    expect(h.answers(1)[0]?.error?.code).not.toBe(RpcErrorCode.FRAME_TOO_LARGE);
  });
});
