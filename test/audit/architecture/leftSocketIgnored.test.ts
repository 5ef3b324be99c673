import { describe, expect, it } from 'vitest';
import type { FakeSocket } from '../../../src/testing/index.js';
import { rpc, sessionHarness } from '../../helpers/session.js';

// docs/architecture.md, "Node to client" 1: "A frame from a socket the session has left is ignored,
// except answers a draining socket still owes (single writer)"; invariant 7 (UpstreamLink.phase).
// The sockets here never really close (their close() is a no-op, as a socket whose closing
// handshake is slow), so what a retired socket still says reaches the session.
describe('architecture.md: frames from a socket the session has left are ignored', () => {
  it('a late answer on a socket retired after the drain deadline does not answer the call a second time', async () => {
    const h = await sessionHarness({
      transportOver: (sockets) => ({
        open: (endpoint, listener) => {
          const socket = sockets.open(endpoint, listener);
          return { send: (text: string) => socket.send(text), close: () => {}, terminate: () => {} };
        },
      }),
    });
    // Move to b: a is cut in the pool's eyes only (its socket stays, and is left make-before-break).
    h.mark('a', 'unhealthy');
    await h.settle();
    expect(h.session.node).toBe('b');
    const b = h.sockets.sockets.at(-1)! as FakeSocket;
    b.onSend(() => {}); // b holds its answers
    h.send(rpc(1, 'eth_getBalance', ['0x0', 'latest']));
    await h.settle();
    const owed = (b.sentJson().at(-1) as { id: number }).id;
    h.mark('a', 'healthy');
    await h.clock.advance(5_000); // the drain deadline: the read is re-sent on a and answered there
    expect(h.session.node).toBe('a');
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x1' }]);
    const before = h.session.stats().unknownAnswers;
    b.receiveJson({ jsonrpc: '2.0', id: owed, result: '0x2' }); // b, retired, answers after all
    b.receiveJson({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: '0x1', result: {} } });
    await h.settle();
    expect(h.answers(1)).toHaveLength(1);
    expect(h.received.filter((m) => m.method === 'eth_subscription')).toEqual([]);
    expect(h.session.stats().unknownAnswers).toBe(before); // not even looked at
  });
});
