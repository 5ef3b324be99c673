// Audit of docs/guides/consistency.md:17-19: "A read is judged against the view *as it was when the
// client sent it* (a read that raced with a new head is answered as one node would answer it)",
// implemented for sessions by PendingCall.viewAt (src/session/UpstreamSession.ts:273) and used by
// ViewGate.deliver (src/session/ViewGate.ts:74). test/pool/viewEdgeCases.test.ts:219 covers
// pool.request(); nothing covered a session. Passing test.
import { describe, expect, it } from 'vitest';
import { rpc, sessionHarness, subscribeNewHeads } from '../../helpers/session.js';

describe('session: a read is judged against the view as it was when the client sent it', () => {
  it('the latest block, asked at view 100 and answered 100 after head 101 reached the client, is that answer (not held)', async () => {
    const h = await sessionHarness();
    const behind: unknown[] = [];
    h.session.on('behind', (event) => behind.push(event));
    const subscription = await subscribeNewHeads(h);
    h.send(rpc('seen', 'eth_blockNumber'));
    await h.settle();
    expect(h.session.stats().highestBlock).toBe(100);
    const a = h.nodes.a!;
    // The node answers the read from its head, 100, and mines 101 before the answer is on its way:
    // the head 101 reaches the session (and the client) first, then the answer (block 100).
    const own = a.answer.bind(a);
    let raced = false;
    a.answer = (request) => {
      const answer = own(request);
      if (!raced && request.method === 'eth_getBlockByNumber') {
        raced = true;
        a.advance(1);
      }
      return answer;
    };
    h.send(rpc(1, 'eth_getBlockByNumber', ['latest', false]));
    await h.settle();
    expect(h.notifications(subscription).map((n) => n.params.result.number)).toEqual(['0x65']);
    expect(h.session.stats().highestBlock).toBe(101);
    // One node answers a read that raced with its new head from the head before: so does the session.
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: expect.objectContaining({ number: '0x64' }) }]);
    expect(behind).toEqual([]);
    // A read sent now, at view 101, gets the node's 101.
    h.send(rpc(2, 'eth_getBlockByNumber', ['latest', false]));
    await h.settle();
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: expect.objectContaining({ number: '0x65' }) }]);
    expect(behind).toEqual([]);
  });
});
