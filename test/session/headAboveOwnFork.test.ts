import { describe, expect, it } from 'vitest';
import { FakeChain } from '../../src/testing/index.js';
import { deliveredLogs, heldLogs, rpc, sessionHarness } from '../helpers/session.js';

// Found by the session property test (PROPS_SEED=20262190 npm run test:props:long). The client
// held logs of a's branch at 102' and 104'. On b (another branch from 101), the check after the
// switch could not read b's blocks yet (its read backend lagged), and a newHeads subscription made
// meanwhile was shown b's 103'', whose parent is not 102'. At the next switch, to c on b's branch,
// the check took 103'' (the node has it) as the common ancestor: only 104' was retracted, and the
// log at 102', off c's chain, stayed with the client for good.

describe("a newHeads subscription's head above a height where a logs subscription's block is off the chain", () => {
  it('does not place the fork above that height: every log off the new node\'s chain is retracted', async () => {
    const h = await sessionHarness({ names: [['a', 'primary'], ['b', 'backup'], ['c', 'backup']], chain: new FakeChain({ genesis: 100 }) });
    const { a, b, c } = h.nodes as Record<'a' | 'b' | 'c', NonNullable<(typeof h.nodes)['a']>>;
    h.send(rpc('logs', 'eth_subscribe', ['logs', {}]));
    await h.settle();
    a.advance(1).emitLog();
    b.follow(a);
    c.follow(a);
    await h.settle();
    // a leaves for a branch of its own above 101 (102'–104', a log each); b for another (102'').
    a.forkAt(0, 3, { logs: 1 });
    b.forkAt(0, 1);
    b.readLagBlocks = 1;
    await h.settle();
    h.mark('a', 'unhealthy');
    await h.settle();
    expect(h.session.node).toBe('b');
    // The check on b waits for block 102''. A newHeads subscription gets b's next head, 103''.
    h.send(rpc('heads', 'eth_subscribe', ['newHeads']));
    await h.settle();
    b.advance(1);
    await h.settle();
    const seen = () => deliveredLogs(h).map((l) => [Number(l.blockNumber), l.removed]);
    expect(seen()).toEqual([[101, false], [102, false], [103, false], [104, false], [103, true]]);
    // c, on b's branch up to 104'', takes over before that check could read anything.
    c.follow(b).advance(1);
    h.mark('b', 'unhealthy');
    await h.settle();
    expect(h.session.node).toBe('c');
    expect(heldLogs(deliveredLogs(h), c)).toEqual([[101, true]]);
    h.session.close();
    h.pool.close();
  });
});
