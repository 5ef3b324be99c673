import { describe, expect, it } from 'vitest';
import { NodePool, RpcErrorCode } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, fakeBlockHash } from '../../src/testing/index.js';
import { rpc, sessionHarness } from '../helpers/session.js';

// The indexer's pattern: a log arrives (a notification, or an eth_getLogs answer), then the client
// reads its transaction's receipt, or the block by hash. A load-balanced endpoint whose read
// backend lags the one that sent the log answers `null`: the receipt of a transaction the client
// was just told of "does not exist". One node never says that (docs/guides/consistency.md,
// invariant 1): the read is held and asked again at each poll, as a read by number is, and gets
// BEHIND at consistency.waitMs if the block never comes. A `null` for something a reorg took away
// stands: the session asks the node for its block at that height, and only the same block (or
// none) holds the read. FakeNode.readLagBlocks plays the lagging backend.

/** A session on node a, subscribed to `kind`, given heads 101…105 and a log in 105; a's reads then lag a block. */
async function givenThenLagging(kind: 'newHeads' | 'logs') {
  const h = await sessionHarness();
  const behind: Array<{ need: number; outcome: string }> = [];
  h.session.on('behind', (event) => behind.push(event));
  h.send(rpc('s', 'eth_subscribe', kind === 'logs' ? ['logs', {}] : ['newHeads']));
  await h.settle();
  const a = h.nodes.a!;
  a.advance(5).emitLog();
  await h.settle();
  expect(h.session.stats().highestBlock).toBe(105);
  a.readLagBlocks = 1;
  return { h, a, behind, log: a.logs.at(-1)! };
}

describe('a read by hash of a block or transaction the client was given, from a node whose reads lag', () => {
  it("the receipt of a delivered log's transaction is held until the backend has it, never null", async () => {
    const { h, a, behind, log } = await givenThenLagging('logs');
    expect(h.notifications().map((n) => n.params.result.transactionHash)).toEqual([log.transactionHash]);
    h.send(rpc(1, 'eth_getTransactionReceipt', [log.transactionHash]));
    h.send(rpc(2, 'eth_getTransactionByHash', [log.transactionHash]));
    h.send(rpc(3, 'eth_getBlockByHash', [log.blockHash, false]));
    await h.settle();
    expect([h.answers(1), h.answers(2), h.answers(3)]).toEqual([[], [], []]);
    expect(behind).toEqual([1, 2, 3].map(() => expect.objectContaining({ need: 105, outcome: 'held' })));
    await h.clock.advance(1_000); // still lagging: asked again, still held
    expect(h.answers(1)).toEqual([]);
    a.readLagBlocks = 0;
    await h.clock.advance(250);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: expect.objectContaining({ transactionHash: log.transactionHash, blockNumber: '0x69' }) }]);
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: expect.objectContaining({ hash: log.transactionHash }) }]);
    expect(h.answers(3)).toEqual([{ jsonrpc: '2.0', id: 3, result: expect.objectContaining({ hash: log.blockHash, number: '0x69' }) }]);
    expect(h.session.stats()).toMatchObject({ heldBehind: 3, failedBehind: 0 });
  });

  it('a delivered head read by hash is held too; one the backend never serves is answered BEHIND at consistency.waitMs', async () => {
    const { h, a } = await givenThenLagging('newHeads');
    const head = h.notifications().at(-1)!.params.result;
    expect(head.number).toBe('0x69');
    const sentAt = h.clock.now();
    h.send(rpc(1, 'eth_getBlockByHash', [head.hash, false]));
    await h.settle();
    await h.clock.advance(4_999 - (h.clock.now() - sentAt));
    expect(h.answers(1)).toEqual([]);
    await h.clock.advance(1);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, error: expect.objectContaining({ code: RpcErrorCode.BEHIND }) }]);
    expect(a.readLagBlocks).toBe(1);
  });

  it('a transaction of an eth_getLogs answer is known the same way (no subscription)', async () => {
    const h = await sessionHarness();
    const a = h.nodes.a!;
    a.advance(5).emitLog();
    h.send(rpc(1, 'eth_getLogs', [{ fromBlock: '0x65', toBlock: 'latest' }]));
    await h.settle();
    const [log] = h.answers(1)[0]!.result;
    a.readLagBlocks = 1;
    h.send(rpc(2, 'eth_getTransactionReceipt', [log.transactionHash]));
    await h.settle();
    expect(h.answers(2)).toEqual([]);
    a.readLagBlocks = 0;
    await h.clock.advance(250);
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: expect.objectContaining({ transactionHash: log.transactionHash }) }]);
  });

  it('null stands, at once, for a hash the client was never given, and for a block a reorg took away', async () => {
    const { h, a } = await givenThenLagging('newHeads');
    const head = h.notifications().at(-1)!.params.result;
    h.send(rpc(1, 'eth_getTransactionReceipt', [`0x${'ab'.repeat(32)}`]));
    await h.settle();
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: null }]);
    // a's chain is replaced (a reorg it has not announced yet): its block 105 is another one.
    a.readLagBlocks = 0;
    a.reorg();
    const confirms = a.calls.get('eth_getBlockByNumber') ?? 0;
    h.send(rpc(2, 'eth_getBlockByHash', [head.hash, false]));
    await h.settle();
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: null }]);
    expect(a.calls.get('eth_getBlockByNumber')).toBe(confirms + 1); // it asked a for its block 105
    expect(h.session.stats()).toMatchObject({ heldBehind: 0 });
  });

  it('a head from more than 128 blocks down is pruned history: its null stands', async () => {
    const { h, a } = await givenThenLagging('newHeads');
    const first = h.notifications()[0]!.params.result; // 101
    a.readLagBlocks = 0;
    a.advance(130);
    await h.settle();
    a.readLagBlocks = 200; // every block read answers null
    h.send(rpc(1, 'eth_getBlockByHash', [first.hash, false]));
    await h.settle();
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: null }]);
  });
});

describe('pool.request(): a read by hash of what it served, from a node whose reads lag', () => {
  it("the receipt of a log's transaction goes to the other node, or waits, and is never null", async () => {
    const clock = new FakeClock();
    const nodes = ['a', 'b'].map((name) => new FakeNode({ name, head: 100, clock }));
    for (const node of nodes) node.advance(5).emitLog();
    const http = new FakeHttpTransport().route('http://a.test/', nodes[0]!.http).route('http://b.test/', nodes[1]!.http);
    const pool = new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }, { name: 'b', http: 'http://b.test/' }], clock, httpTransport: http });
    pool.update('a', { status: 'healthy', head: 105 });
    pool.update('b', { status: 'healthy', head: 105 });
    try {
      const logs = (await pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_getLogs', params: [{ fromBlock: '0x69', toBlock: '0x69' }] })) as { result: Array<{ transactionHash: string }> };
      const hash = logs.result[0]!.transactionHash;
      expect(hash).toBe(nodes[0]!.logs[0]!.transactionHash);
      for (const node of nodes) node.readLagBlocks = 1;
      let answer: unknown;
      void pool.request({ jsonrpc: '2.0', id: 2, method: 'eth_getTransactionReceipt', params: [hash] }).then((r) => (answer = r));
      await clock.advance(1_000);
      expect(answer).toBeUndefined(); // both lag: it waits
      nodes[1]!.readLagBlocks = 0;
      await clock.advance(500);
      expect(answer).toMatchObject({ id: 2, result: { transactionHash: hash } });
      // A hash it never served: null at once.
      expect(await pool.request({ jsonrpc: '2.0', id: 3, method: 'eth_getTransactionReceipt', params: [fakeBlockHash(7, 9)] })).toEqual({ jsonrpc: '2.0', id: 3, result: null });
    } finally {
      pool.close();
    }
  });
});
