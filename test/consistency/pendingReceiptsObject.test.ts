// Found in review: an answer about the pending block raises no view (ChainView.observe,
// namesPending), but eth_getBlockReceipts was taken to name it only as the string 'pending'. geth
// reads its argument as an EIP-1898 block number or hash, so `{ blockNumber: 'pending' }` names it
// too, and geth answers the pending block's receipts, numbered head + 1 (internal/ethapi,
// GetBlockReceipts: api.b.Pending()). Raised by them, the pool's view stood a block above every
// node's head: the next eth_blockNumber from a node fully caught up was held until a block was
// mined, and answered BEHIND past consistency.waitMs.
import { describe, expect, it } from 'vitest';
import type { JsonRpcRequest, JsonRpcResponse } from '../../src/jsonrpc.js';
import type { FakeNode } from '../../src/testing/index.js';
import { fakeCluster, outcome } from '../helpers/pool.js';

const hex = (n: number) => `0x${n.toString(16)}`;

/** eth_getBlockReceipts of the pending block as geth answers it: one receipt numbered head + 1. */
function gethPendingReceipts(node: FakeNode): void {
  const own = node.answer.bind(node);
  node.answer = (request: JsonRpcRequest): JsonRpcResponse => {
    if (request.method !== 'eth_getBlockReceipts') return own(request);
    const arg = (request.params as unknown[])[0];
    const pending = arg === 'pending' || (typeof arg === 'object' && arg !== null && (arg as { blockNumber?: unknown }).blockNumber === 'pending');
    const n = pending ? node.head + 1 : node.head;
    return { jsonrpc: '2.0', id: request.id ?? null, result: [{ transactionHash: `0x${'ab'.repeat(32)}`, blockNumber: hex(n), blockHash: `0x${'cd'.repeat(32)}`, status: '0x1', logs: [] }] } as JsonRpcResponse;
  };
}

describe("pool.request(): eth_getBlockReceipts({ blockNumber: 'pending' }) does not put the view above the chain", () => {
  it('eth_blockNumber right after it, from a caught-up node, is answered, not BEHIND', async () => {
    const { pool, nodes, clock } = fakeCluster([{ name: 'a' }], { consistency: { waitMs: 1_000, pollMs: 250 } });
    gethPendingReceipts(nodes.a!);
    pool.update('a', { status: 'healthy', head: 100 });
    try {
      const receipts = (await pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_getBlockReceipts', params: [{ blockNumber: 'pending' }] })) as { result: Array<{ blockNumber: string }> };
      expect(receipts.result[0]!.blockNumber).toBe(hex(101));
      const number = outcome(pool.request({ jsonrpc: '2.0', id: 2, method: 'eth_blockNumber', params: [] }));
      await clock.advance(1_500);
      // On HEAD: the view was 101, the node is at 100: BEHIND (-32055) after waitMs.
      expect(number.value).toEqual({ jsonrpc: '2.0', id: 2, result: hex(100) });
    } finally {
      pool.close();
    }
  });
});
