import { describe, expect, it } from 'vitest';
import { fakeBlockHash } from '../../src/testing/index.js';
import { gethClusterAfterA, outcome } from '../helpers/pool.js';
import { rpc } from '../helpers/scriptedHttp.js';

// Review: the block read a held `null` waits on is shared, and no longer given the request's
// signal; a request aborted meanwhile (its client went away) stayed pending until the read ended.
describe('pool.request(): a request aborted while its null waits on the block read', () => {
  it('settles at once, as before the read was shared', async () => {
    const c = await gethClusterAfterA({ waitMs: 20_000, pollMs: 250 });
    try {
      c.nodes.b!.readLagBlocks = 2;
      // b takes its time over block reads (never answers them here).
      const own = c.nodes.b!.http;
      c.http.route('http://b.test/', (body, signal, endpoint) =>
        body.includes('"eth_getBlockByNumber"')
          ? new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }))
          : own(body, signal, endpoint),
      );
      const abort = new AbortController();
      const read = outcome(c.pool.request(rpc(1, 'eth_getBlockByHash', [fakeBlockHash(103), false]), { signal: abort.signal }));
      await c.clock.advance(100);
      expect(read.done).toBe(false);
      abort.abort(new Error('client gone'));
      await c.clock.advance(10);
      expect(read.done).toBe(true);
    } finally {
      c.pool.close();
    }
  });
});
