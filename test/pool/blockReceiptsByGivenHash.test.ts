// Found in review: a `null` for a block or transaction the caller was given, from a node whose head
// is past it, has the gate ask that node for its block at that height (a load-balanced endpoint
// whose read backend lags answers `null` where the block is still there). eth_getBlockReceipts by
// the hash of such a block was not among those reads: geth answers `null` for a block it has not
// got (internal/ethapi, GetBlockReceipts), and that `null` for the receipts of a block the caller
// had been given went through.
import { describe, expect, it } from 'vitest';
import { fakeBlockHash } from '../../src/testing/index.js';
import { gethish } from '../helpers/gethReads.js';
import { fakeCluster, outcome } from '../helpers/pool.js';

const rpc = (id: number, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, id, method, params });

describe('pool.request(): eth_getBlockReceipts by the hash of a block the caller was given', () => {
  for (const [what, arg] of [
    ['the hash', fakeBlockHash(103)],
    ['an EIP-1898 { blockHash }', { blockHash: fakeBlockHash(103) }],
  ] as const) {
    it(`${what}: null from a node whose read backend lags waits, then is answered`, async () => {
      const c = fakeCluster([{ name: 'a', head: 103 }, { name: 'b', head: 103 }], { consistency: { waitMs: 1_000, pollMs: 250 } });
      gethish(c.nodes.a!);
      gethish(c.nodes.b!);
      c.pool.update('a', { status: 'healthy', head: 103 });
      c.pool.update('b', { status: 'healthy', head: 103 });
      try {
        expect(await c.pool.request(rpc(1, 'eth_getBlockByNumber', ['0x67', false]))).toMatchObject({ result: { number: '0x67', hash: fakeBlockHash(103) } });
        c.nodes.a!.setMode('down');
        c.pool.update('a', { status: 'unhealthy' });
        // b's head is 103, but the backend that serves its reads is two blocks behind.
        c.nodes.b!.readLagBlocks = 2;
        const receipts = outcome(c.pool.request(rpc(2, 'eth_getBlockReceipts', [arg])));
        await c.clock.advance(500);
        // On HEAD: { id: 2, result: null } at once.
        expect(receipts.done).toBe(false);
        c.nodes.b!.readLagBlocks = 0;
        await c.clock.advance(250);
        expect(receipts.value).toMatchObject({ id: 2, result: [{ blockNumber: '0x67' }] });
      } finally {
        c.pool.close();
      }
    });
  }
});
