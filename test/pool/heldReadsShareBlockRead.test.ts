import { describe, expect, it } from 'vitest';
import { fakeBlockHash } from '../../src/testing/index.js';
import { failMethods } from '../helpers/anvilLike.js';
import { gethClusterAfterA, outcome } from '../helpers/pool.js';
import { rpc } from '../helpers/scriptedHttp.js';

// As test/session/heldReadsShareBlockRead.test.ts, through pool.request(): each `null` for a block
// the caller was given, from a node whose head is past it, has the gate read the node's block at
// that height (a lag or a reorg?), once per request and again at each poll. Requests that wait on
// the same block of the same node share one block read.

describe('pool.request(): many reads of one block the caller was given, from a node whose reads lag', () => {
  it('share one eth_getBlockByNumber of that block at a time, and are all answered once it has caught up', async () => {
    const c = await gethClusterAfterA({ waitMs: 2_000, pollMs: 250 });
    try {
      c.nodes.b!.readLagBlocks = 2;
      const blockReads = failMethods(c.nodes.b!, [], () => false, 'eth_getBlockByNumber');
      const reads = Array.from({ length: 20 }, (_, i) => outcome(c.pool.request(rpc(i + 1, 'eth_getBlockByHash', [fakeBlockHash(103), false]))));
      await c.clock.advance(1_000); // four polls
      expect(reads.filter((r) => r.done)).toEqual([]);
      // Before: 20 at first and 20 more each poll.
    expect(blockReads()).toBeLessThanOrEqual(5);
      c.nodes.b!.readLagBlocks = 0;
      await c.clock.advance(250);
      expect(reads.map((r) => (r.value as { result?: { hash?: string } }).result?.hash)).toEqual(reads.map(() => fakeBlockHash(103)));
    } finally {
      c.pool.close();
    }
  });
});
