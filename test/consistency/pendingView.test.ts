// Answers about the pending block do not raise the client's view (src/consistency/ChainView.ts,
// namesPending). geth answers eth_feeHistory(n, 'pending') with a range ending at the pending block,
// head + 1 (eth/gasprice/feehistory.go, resolveBlockRange), and a transaction of the pending block
// carries its number (newRPCTransactionFromBlockIndex). Raised by them, the view stood one block
// above every node's head: the next eth_blockNumber, and every state read at `latest`, from a node
// fully caught up was held until a block was mined, and answered BEHIND (-32055) past
// consistency.waitMs (5 s; a mainnet slot is 12 s); for pool.request(), for every HTTP client of the
// proxy at once. anvil answers `pending` as `latest`, so only fakes that answer as geth show it.
import { describe, expect, it } from 'vitest';
import type { JsonRpcRequest, JsonRpcResponse } from '../../src/jsonrpc.js';
import type { FakeNode } from '../../src/testing/index.js';
import { fakeCluster } from '../helpers/pool.js';
import { rpc, sessionHarness } from '../helpers/session.js';

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * Makes `node` answer eth_feeHistory as geth does (`pending` is the block after the head), and
 * eth_getTransactionByBlockNumberAndIndex('pending', i) as geth's newRPCTransactionFromBlockIndex
 * does (the pending block's transaction carries its block's number, head + 1).
 */
function gethFeeHistory(node: FakeNode): void {
  const own = node.answer.bind(node);
  node.answer = (request: JsonRpcRequest): JsonRpcResponse => {
    if (request.method === 'eth_getTransactionByBlockNumberAndIndex' && (request.params as unknown[])[0] === 'pending') {
      const pending = node.head + 1;
      return { jsonrpc: '2.0', id: request.id ?? null, result: { hash: `0x${'ab'.repeat(32)}`, blockNumber: hex(pending), blockHash: `0x${'cd'.repeat(32)}`, transactionIndex: '0x0' } } as JsonRpcResponse;
    }
    if (request.method !== 'eth_feeHistory') return own(request);
    const params = request.params as unknown[];
    const count = Number(params[0]);
    const newest = params[1] === 'pending' ? node.head + 1 : params[1] === 'latest' ? node.head : Number(params[1]);
    return {
      jsonrpc: '2.0',
      id: request.id ?? null,
      result: {
        oldestBlock: hex(newest - count + 1),
        baseFeePerGas: Array.from({ length: count + 1 }, () => '0x3b9aca00'),
        gasUsedRatio: Array.from({ length: count }, () => 0.5),
      },
    } as JsonRpcResponse;
  };
}

describe('session: eth_feeHistory(…, "pending") does not put the view above the chain', () => {
  it('eth_blockNumber right after it, from the same caught-up node, is answered at once (as one geth node answers it)', async () => {
    const h = await sessionHarness();
    gethFeeHistory(h.nodes.a!);
    gethFeeHistory(h.nodes.b!);
    h.send(rpc(1, 'eth_feeHistory', ['0x4', 'pending', []]));
    await h.settle();
    expect(h.answers(1)[0].result.oldestBlock).toBe(hex(98)); // 98…101: 101 is the pending block
    h.send(rpc(2, 'eth_blockNumber'));
    await h.settle();
    // The node is at 100, the chain is at 100: one node answers 0x64 here.
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: '0x64' }]);
    expect(h.session.stats().highestBlock).toBe(100);
  });

  it('state at latest right after it is answered at once, not BEHIND after consistency.waitMs', async () => {
    const h = await sessionHarness();
    gethFeeHistory(h.nodes.a!);
    h.send(rpc(1, 'eth_feeHistory', ['0x1', 'pending', []]));
    await h.settle();
    h.send(rpc(2, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', 'latest']));
    await h.settle();
    await h.clock.advance(5_000); // no block mined within 5 s (a 12 s slot)
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: expect.any(String) }]);
    expect(h.session.stats().failedBehind).toBe(0);
  });

  it('eth_getTransactionByBlockNumberAndIndex("pending", 0) does not either: eth_blockNumber after it is answered at once', async () => {
    const h = await sessionHarness();
    gethFeeHistory(h.nodes.a!);
    h.send(rpc(1, 'eth_getTransactionByBlockNumberAndIndex', ['pending', '0x0']));
    await h.settle();
    expect(h.answers(1)[0].result.blockNumber).toBe(hex(101));
    h.send(rpc(2, 'eth_blockNumber'));
    await h.settle();
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: '0x64' }]);
  });
});

describe('pool.request(): eth_feeHistory(…, "pending") does not put the pool view above the chain', () => {
  it('eth_blockNumber right after it, from caught-up nodes, is answered, not BEHIND', async () => {
    const { pool, nodes, clock } = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    gethFeeHistory(nodes.a!);
    gethFeeHistory(nodes.b!);
    pool.update('a', { status: 'healthy', head: 100 });
    pool.update('b', { status: 'healthy', head: 100 });
    try {
      const fee = (await pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_feeHistory', params: ['0x1', 'pending', []] })) as { result: { oldestBlock: string } };
      expect(fee.result.oldestBlock).toBe(hex(101));
      let answer: unknown;
      void pool.request({ jsonrpc: '2.0', id: 2, method: 'eth_blockNumber', params: [] }).then((r) => (answer = r));
      await clock.advance(5_000);
      expect(answer).toEqual({ jsonrpc: '2.0', id: 2, result: '0x64' });
    } finally {
      pool.close();
    }
  });
});
