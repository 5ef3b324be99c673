import { describe, expect, it } from 'vitest';
import { NodePool, RpcErrorCode } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, fakeBlockHash } from '../../src/testing/index.js';
import { onBackup, rpc, sessionHarness } from '../helpers/session.js';

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

  it('null stands, at once, for a hash the client was never given, and for a block a reorg took away once the client has heard of the reorg', async () => {
    const { h, a } = await givenThenLagging('newHeads');
    const head = h.notifications().at(-1)!.params.result;
    h.send(rpc(1, 'eth_getTransactionReceipt', [`0x${'ab'.repeat(32)}`]));
    await h.settle();
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: null }]);
    // a's chain is replaced (a reorg it has not announced yet): its block 105 is another one.
    a.readLagBlocks = 0;
    a.reorg();
    const confirms = a.calls.get('eth_getBlockByNumber') ?? 0;
    const reorgs: unknown[] = [];
    h.session.on('reorg', (event) => reorgs.push(event));
    h.send(rpc(2, 'eth_getBlockByHash', [head.hash, false]));
    await h.settle();
    expect(a.calls.get('eth_getBlockByNumber')).toBeGreaterThan(confirms); // it asked a for its block 105
    // Then a's chain is checked against the heads delivered (reorgSeenByARead.test.ts): none is on it.
    expect(reorgs).toEqual([{ ancestor: 100, depth: 5, deep: false, from: 'a', to: 'a' }]);
    expect(h.notifications().slice(-5).map((n) => Number(n.params.result.number))).toEqual([101, 102, 103, 104, 105]);
    // The null comes once the client holds a's new branch (the read is asked again at the next poll).
    expect(h.answers(2)).toEqual([]);
    await h.clock.advance(250);
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: null }]);
    expect(h.received.findIndex((m) => m.id === 2)).toBeGreaterThan(h.received.lastIndexOf(h.notifications().at(-1)));
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

describe('what the hold does not take (found in review)', () => {
  it("an explorer's \"a transaction, or else a block?\": a read of the other kind's hash is null at once from a node that lags nothing", async () => {
    const { h, a, log } = await givenThenLagging('logs');
    a.readLagBlocks = 0;
    h.send(rpc(1, 'eth_getTransactionByHash', [log.blockHash]));
    h.send(rpc(2, 'eth_getBlockByHash', [log.transactionHash, false]));
    h.send(rpc(3, 'eth_getTransactionReceipt', [log.blockHash]));
    await h.settle();
    expect([1, 2, 3].map((id) => h.answers(id))).toEqual([1, 2, 3].map((id) => [{ jsonrpc: '2.0', id, result: null }]));
    expect(h.session.stats()).toMatchObject({ heldBehind: 0 });
  });

  it('a node whose block at that height comes without a hash tells nothing: the read is held, as pool.request() holds it', async () => {
    const { h, a, log } = await givenThenLagging('logs');
    const socket = h.sockets.sockets.at(-1)!;
    let confirms = 0;
    socket.onSend((text) => {
      const request = JSON.parse(text);
      // A block, but no hash in it (its reads lag, so a's own answer would be null).
      if (request.method === 'eth_getBlockByNumber' && ++confirms) return socket.receiveJson({ jsonrpc: '2.0', id: request.id, result: { number: request.params[0], transactions: [] } });
      socket.receiveJson(a.answer(request));
    });
    // a's head is past the log's block (so its null is checked against its block there), its reads two blocks behind.
    a.advance(1);
    a.readLagBlocks = 2;
    await h.settle();
    h.send(rpc(1, 'eth_getTransactionReceipt', [log.transactionHash]));
    await h.settle();
    expect(confirms).toBe(1);
    expect(h.answers(1)).toEqual([]);
    a.readLagBlocks = 0;
    await h.clock.advance(250);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: expect.objectContaining({ transactionHash: log.transactionHash }) }]);
  });

  it('a null from a socket being left, after a failback: the read moves on at once, not after the own read on that socket times out', async () => {
    const { h } = await onBackup();
    const b = h.nodes.b!;
    b.advance(2);
    await h.settle();
    const head = h.notifications().at(-1)!.params.result;
    expect(head.number).toBe('0x66');
    const onB = h.sockets.sockets.at(-1)!;
    onB.onSend(() => {}); // b holds its answers back for now
    h.send(rpc(1, 'eth_getBlockByHash', [head.hash, false]));
    await h.settle();
    const owed = (onB.sentJson().at(-1) as { id: number }).id;
    h.nodes.a!.restore();
    h.nodes.a!.advance(2);
    h.pool.update('a', { status: 'healthy', head: 102 });
    await h.settle();
    expect(h.session.node).toBe('a');
    const sentAt = h.clock.now();
    onB.receiveJson({ jsonrpc: '2.0', id: owed, result: null }); // b's lagging backend, as b drains
    await h.settle();
    expect(onB.state).toBe('closed');
    let answeredAfter: number | undefined;
    h.session.on('message', () => (answeredAfter ??= h.clock.now() - sentAt));
    await h.clock.advance(2_000);
    // Asked again on a, which has the block: at the next poll (250 ms), far from replayTimeoutMs (5 s).
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: expect.objectContaining({ hash: head.hash }) }]);
    expect(answeredAfter).toBeLessThanOrEqual(500);
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

  it('the node answers the read of its block with an error: nothing is known, so the null is held, not passed on', async () => {
    const clock = new FakeClock();
    const node = new FakeNode({ name: 'a', head: 100, clock });
    node.advance(5).emitLog();
    let refuseBlocks = false;
    const http = new FakeHttpTransport().route('http://a.test/', async (body, signal, endpoint) => {
      const request = JSON.parse(body) as { id: number; method: string };
      if (refuseBlocks && request.method === 'eth_getBlockByNumber') return { status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: request.id, error: { code: -32000, message: 'header not found' } }) };
      return node.http(body, signal, endpoint);
    });
    const pool = new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }], clock, httpTransport: http });
    pool.update('a', { status: 'healthy', head: 105 });
    try {
      const logs = (await pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_getLogs', params: [{ fromBlock: '0x69', toBlock: '0x69' }] })) as { result: Array<{ transactionHash: string }> };
      node.readLagBlocks = 1;
      refuseBlocks = true;
      let answer: unknown;
      void pool.request({ jsonrpc: '2.0', id: 2, method: 'eth_getTransactionReceipt', params: [logs.result[0]!.transactionHash] }).then((r) => (answer = r));
      await clock.advance(1_000);
      expect(answer).toBeUndefined();
      node.readLagBlocks = 0;
      refuseBlocks = false;
      await clock.advance(500);
      expect(answer).toMatchObject({ id: 2, result: { transactionHash: logs.result[0]!.transactionHash } });
    } finally {
      pool.close();
    }
  });

  it('a batch of receipts of one block that come back null: one read of that block, for them all', async () => {
    const clock = new FakeClock();
    const node = new FakeNode({ name: 'a', head: 100, clock });
    node.advance(5).emitLog().emitLog().emitLog();
    const blockReads: string[] = [];
    const http = new FakeHttpTransport().route('http://a.test/', async (body, signal, endpoint) => {
      const request = JSON.parse(body) as { method?: string; params?: unknown[] };
      if (request.method === 'eth_getBlockByNumber') blockReads.push(String(request.params?.[0]));
      return node.http(body, signal, endpoint);
    });
    const pool = new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }], clock, httpTransport: http });
    pool.update('a', { status: 'healthy', head: 105 });
    try {
      const logs = (await pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_getLogs', params: [{ fromBlock: '0x69', toBlock: '0x69' }] })) as { result: Array<{ transactionHash: string }> };
      expect(logs.result).toHaveLength(3);
      node.readLagBlocks = 1;
      let answer: unknown;
      const batch = logs.result.map((log, i) => ({ jsonrpc: '2.0' as const, id: 10 + i, method: 'eth_getTransactionReceipt', params: [log.transactionHash] }));
      void pool.request(batch).then((r) => (answer = r));
      await clock.advance(0);
      expect(blockReads).toEqual(['0x69']);
      node.readLagBlocks = 0;
      await clock.advance(1_000);
      expect(answer).toEqual(logs.result.map((log, i) => expect.objectContaining({ id: 10 + i, result: expect.objectContaining({ transactionHash: log.transactionHash }) })));
    } finally {
      pool.close();
    }
  });
});
