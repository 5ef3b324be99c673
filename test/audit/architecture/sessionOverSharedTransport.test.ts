import { describe, expect, it } from 'vitest';
import { rpc, sessionHarness } from '../../helpers/session.js';

// docs/architecture.md, "Many sessions on one socket": the session skips the connect pacing
// (`multiplexed`) and its own check of each frame on its fast paths (`framesChecked`: the transport
// checked it). The audit found the doc named only the first; it now names both. A transport that
// says `framesChecked` is trusted: a frame it passes is passed on as it is.
describe('architecture.md: a transport flagged framesChecked is trusted with the frame check', () => {
  it('an answer with a member of the node\'s own reaches the client as written when the transport says it checked the frame', async () => {
    const h = await sessionHarness({ transportOver: (sockets) => ({ framesChecked: true, open: (endpoint, listener) => sockets.open(endpoint, listener) }) });
    const socket = h.sockets.sockets.at(-1)!;
    // An answer whose "result" is followed by a member of the node's own: valid JSON, not the
    // exact shape the fast path passes on as it is.
    socket.onSend((text, s) => {
      const { id } = JSON.parse(text) as { id: number };
      s.receive(`{"jsonrpc":"2.0","id":${id},"result":"0x1","extra":2}`);
    });
    h.send(rpc(1, 'eth_getBalance', ['0x0', 'latest']));
    await h.settle();
    // Not what the session gives on a transport of its own (the control below): the frame as written.
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x1', extra: 2 }]);
  });

  it('control: without the flag, the session checks the frame and passes on its JSON-RPC members only', async () => {
    const h = await sessionHarness({ transportOver: (sockets) => ({ open: (endpoint, listener) => sockets.open(endpoint, listener) }) });
    const socket = h.sockets.sockets.at(-1)!;
    socket.onSend((text, s) => {
      const { id } = JSON.parse(text) as { id: number };
      s.receive(`{"jsonrpc":"2.0","id":${id},"result":"0x1","extra":2}`);
    });
    h.send(rpc(1, 'eth_getBalance', ['0x0', 'latest']));
    await h.settle();
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x1' }]);
  });
});
