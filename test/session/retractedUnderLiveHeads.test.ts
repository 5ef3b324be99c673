import { describe, expect, it } from 'vitest';
import { FakeChain } from '../../src/testing/index.js';
import { deliveredLogs, heldLogs, rpc, sessionHarness } from '../helpers/session.js';

// Found by the session property test (PROPS_SEED=20262164 npm run test:props:long). A switch to a
// node on another branch retracted the logs subscription's logs of the blocks it left, but the
// newHeads subscription's check was cut short (the node's read backend lagged its head), so its
// heads still held the first branch. When the session moved on to a node back on that branch, those
// heads vouched for the blocks the logs subscription had told the client were gone: its check found
// the fork too high and never re-sent the log below it.

describe('a logs subscription whose blocks were retracted while a newHeads subscription kept them', () => {
  it('is judged by what it told the client: back on the first branch, the client gets all its logs again', async () => {
    const h = await sessionHarness({ names: [['a', 'primary'], ['c', 'backup']], chain: new FakeChain({ genesis: 100 }) });
    const a = h.nodes.a!;
    const c = h.nodes.c!;
    h.send(rpc('heads', 'eth_subscribe', ['newHeads']));
    h.send(rpc('logs', 'eth_subscribe', ['logs', {}]));
    await h.settle();
    for (let i = 0; i < 3; i++) {
      a.advance(1).emitLog();
      c.follow(a);
    }
    await h.settle();
    // c leaves 102 and 103 for a branch of its own (102'–104', no logs there), and its read backend
    // lags a block behind its head: the newHeads check cannot read 104' and waits.
    c.forkAt(2, 3);
    c.readLagBlocks = 1;
    h.mark('a', 'unhealthy');
    await h.settle();
    expect(h.session.node).toBe('c');
    c.emitLog(); // a log at 104'
    await h.settle();
    const seen = () => deliveredLogs(h).map((l) => [Number(l.blockNumber), l.removed]);
    expect(seen()).toEqual([[101, false], [102, false], [103, false], [102, true], [103, true], [104, false]]);
    // c goes; a, on the first branch, mined 104 meanwhile.
    a.advance(1);
    c.cut();
    h.mark('c', 'unhealthy');
    h.mark('a', 'healthy');
    await h.clock.advance(1_000);
    expect(h.session.node).toBe('a');
    expect(heldLogs(deliveredLogs(h), a)).toEqual([[101, true], [102, true], [103, true]]);
    h.session.close();
    h.pool.close();
  });
});
