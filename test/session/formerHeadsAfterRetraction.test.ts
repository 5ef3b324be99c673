import { describe, expect, it } from 'vitest';
import { FakeChain } from '../../src/testing/index.js';
import { deliveredLogs, heldLogs, rpc, sessionHarness } from '../helpers/session.js';

// Found by the session property test (PROPS_SEED=20262129 npm run test:props:long). The heads an
// ended newHeads subscription was given vouch, in a later check, for the heights where a logs
// subscription was shown no log while it ran. Once that subscription's logs at those heights had
// been retracted (its node reorged), they vouched for a branch the client had been told was left:
// the check on a node back on that branch found the fork too high and never re-sent a log below it.

describe('heads of an ended newHeads subscription, after the logs at their heights were retracted', () => {
  it('no longer vouch for those heights: back on the first branch, the client gets all its logs again', async () => {
    const h = await sessionHarness({ chain: new FakeChain({ genesis: 100 }) });
    const a = h.nodes.a!;
    const b = h.nodes.b!;
    h.send(rpc('logs', 'eth_subscribe', ['logs', {}]));
    h.send(rpc('heads', 'eth_subscribe', ['newHeads']));
    await h.settle();
    for (let i = 0; i < 3; i++) {
      a.advance(1).emitLog();
      b.follow(a);
    }
    await h.settle();
    // newHeads ends: its heads 101–103 are kept to judge what the logs subscription was shown.
    h.send(rpc('unsub', 'eth_unsubscribe', [h.answers('heads')[0].result]));
    await h.settle();
    // a leaves 102 and 103 (a branch without logs there); the session, moved to a afresh, retracts them.
    a.forkAt(2, 2);
    h.session.reconnect();
    await h.clock.advance(1_000);
    // a goes on on its branch: a log at 104 there.
    a.advance(1).emitLog();
    await h.clock.advance(1_000);
    const seen = () => deliveredLogs(h).map((l) => [Number(l.blockNumber), l.removed]);
    expect(seen()).toEqual([[101, false], [102, false], [103, false], [102, true], [103, true], [104, false]]);
    // b, on the first branch, goes on there; the session moves to it.
    b.advance(2);
    a.cut();
    h.mark('a', 'unhealthy');
    await h.clock.advance(1_000);
    expect(h.session.node).toBe('b');
    expect(heldLogs(deliveredLogs(h), b)).toEqual([[101, true], [102, true], [103, true]]);
    h.session.close();
    h.pool.close();
  });
});
