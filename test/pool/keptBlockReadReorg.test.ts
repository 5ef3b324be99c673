import { describe, expect, it } from 'vitest';
import { fakeBlockHash } from '../../src/testing/index.js';
import { gethClusterAfterA, outcome } from '../helpers/pool.js';
import { rpc } from '../helpers/scriptedHttp.js';

// Review: pool.request() keeps a node's block read for half a poll and gives it to the next
// request's `null` for a block the caller was given. A read that says "another block there" lets the
// `null` through (a reorg took the block); kept, it says so of a `null` the node gave after it came
// back to the caller's block (a node that was briefly on the losing side of a fork, then reorged to
// the winner, its reads lagging): the caller was told its block is gone while it is canonical.
describe('pool.request(): a kept block read and a node that came back to the block', () => {
  it('a null given after the node returned to the block is held, not let through on the old read', async () => {
    const c = await gethClusterAfterA({ waitMs: 2_000, pollMs: 250 });
    try {
      // b is on another branch: its block 103 is not the caller's.
      c.nodes.b!.fork = 1;
      const first = outcome(c.pool.request(rpc(1, 'eth_getBlockByHash', [fakeBlockHash(103), false])));
      await c.clock.advance(10);
      expect(first.value).toMatchObject({ result: null });
      // b reorgs onto the caller's branch; its reads lag two blocks behind its head.
      c.nodes.b!.fork = 0;
      c.nodes.b!.readLagBlocks = 2;
      await c.clock.advance(50);
      const second = outcome(c.pool.request(rpc(2, 'eth_getBlockByHash', [fakeBlockHash(103), false])));
      await c.clock.advance(10);
      expect(second.done).toBe(false);
      c.nodes.b!.readLagBlocks = 0;
      await c.clock.advance(500);
      expect(second.value).toMatchObject({ result: { hash: fakeBlockHash(103) } });
    } finally {
      c.pool.close();
    }
  });
});
