// Edge cases of issue 12's invariants 1–2 for an UpstreamSession: reads of what the client has been
// given, served by a node behind it. Every test describes what one geth node would answer.
import { describe, expect, it } from 'vitest';
import { fakeBlockHash } from '../../src/testing/index.js';
import { rpc, sessionHarness, subscribeNewHeads } from '../helpers/session.js';
import { extraAnswer, gethish, txHash } from '../helpers/gethReads.js';

/** Nodes a and b at 100 (geth-ish answers); the client has seen 100 (eth_blockNumber). */
async function twoNodes(options: Parameters<typeof sessionHarness>[0] = {}) {
  const h = await sessionHarness(options);
  gethish(h.nodes.a!);
  gethish(h.nodes.b!);
  h.send(rpc('seen', 'eth_blockNumber'));
  await h.settle();
  expect(h.answers('seen')[0].result).toBe('0x64');
  return h;
}

/** a at 103, the client saw 103, a is cut: the session is on b at 100. */
async function onLaggingBackup(options: Parameters<typeof sessionHarness>[0] = {}) {
  const h = await twoNodes(options);
  h.nodes.a!.advance(3);
  h.send(rpc('seen103', 'eth_blockNumber'));
  await h.settle();
  expect(h.answers('seen103')[0].result).toBe('0x67');
  h.nodes.a!.cut();
  await h.settle();
  expect(h.session.node).toBe('b');
  return h;
}

/** Cuts a and checks that the session moved to b (still at 100). */
async function cutToB(h: Awaited<ReturnType<typeof twoNodes>>) {
  h.nodes.a!.cut();
  await h.settle();
  expect(h.session.node).toBe('b');
}

describe('session: the view is raised by everything that gives the client a block', () => {
  it('eth_getBlockReceipts(n) raises the view: a receipt of block n is never null later', async () => {
    const h = await twoNodes();
    h.nodes.a!.advance(5); // a at 105; no subscription, so the client only learns it from the answer
    h.send(rpc(1, 'eth_getBlockReceipts', ['0x69']));
    await h.settle();
    expect(h.answers(1)[0].result).toEqual([expect.objectContaining({ blockNumber: '0x69', transactionHash: txHash(105) })]);
    await cutToB(h);
    h.send(rpc(2, 'eth_getTransactionReceipt', [txHash(105)]));
    h.send(rpc(3, 'eth_blockNumber'));
    await h.settle();
    // One geth node that gave the client the receipts of block 105 never answers null for one of
    // them, nor a block number below 105.
    expect(h.answers(2)).toEqual([]);
    expect(h.answers(3)).toEqual([]);
    expect(h.session.stats().highestBlock).toBe(105);
  });

  it('eth_getTransactionByBlockNumberAndIndex(n) raises the view: that transaction is never null later', async () => {
    const h = await twoNodes();
    h.nodes.a!.advance(5);
    h.send(rpc(1, 'eth_getTransactionByBlockNumberAndIndex', ['0x69', '0x0']));
    await h.settle();
    expect(h.answers(1)[0].result).toMatchObject({ hash: txHash(105), blockNumber: '0x69' });
    await cutToB(h);
    h.send(rpc(2, 'eth_getTransactionByHash', [txHash(105)]));
    await h.settle();
    expect(h.answers(2)).toEqual([]);
  });

  it('eth_getTransactionByBlockHashAndIndex raises the view', async () => {
    const h = await twoNodes();
    h.nodes.a!.advance(5);
    h.send(rpc(1, 'eth_getTransactionByBlockHashAndIndex', [fakeBlockHash(105), '0x0']));
    await h.settle();
    expect(h.answers(1)[0].result).toMatchObject({ blockNumber: '0x69' });
    await cutToB(h);
    h.send(rpc(2, 'eth_blockNumber'));
    await h.settle();
    expect(h.answers(2)).toEqual([]); // b would say 100: below block 105, which the client has
  });

  it('eth_getBlockByHash, receipts and logs in a batch answer raise the view', async () => {
    const h = await twoNodes();
    h.nodes.a!.advance(5);
    h.nodes.a!.emitLog();
    h.send([rpc(1, 'eth_getBlockByHash', [fakeBlockHash(102), false]), rpc(2, 'eth_getTransactionReceipt', [txHash(104)]), rpc(3, 'eth_getLogs', [{ fromBlock: '0x69', toBlock: '0x69' }])]);
    await h.settle();
    expect(h.session.stats().highestBlock).toBe(105);
  });

  it('a delivered logs notification raises the view', async () => {
    const h = await twoNodes();
    h.send(rpc('l', 'eth_subscribe', ['logs', {}]));
    await h.settle();
    h.nodes.a!.advance(3); // no newHeads subscription
    h.nodes.a!.emitLog();
    await h.settle();
    expect(h.session.stats().highestBlock).toBe(103);
  });
});

describe('session: reads of blocks the client has seen, on a lagging node', () => {
  it('a block number written with an upper-case 0X prefix (geth accepts it) is held, not answered null', async () => {
    const h = await onLaggingBackup();
    h.send(rpc(1, 'eth_getBlockByNumber', ['0X67', false]));
    h.send(rpc(2, 'eth_getLogs', [{ fromBlock: '0x60', toBlock: '0X67' }]));
    await h.settle();
    // b (at 100) answers null / the logs up to 100: geth at 103 never would.
    expect(h.answers(1)).toEqual([]);
    expect(h.answers(2)).toEqual([]);
  });

  it('eth_feeHistory ending at a block the client has seen is not answered "beyond head" or with an older range', async () => {
    const h = await onLaggingBackup();
    h.send(rpc(1, 'eth_feeHistory', ['0x4', '0x67', []]));
    h.send(rpc(2, 'eth_feeHistory', ['0x4', 'latest', []]));
    await h.settle();
    // From b at 100: an error "request beyond head block" for 103, and a history ending at 100.
    expect(h.answers(1)).toEqual([]);
    expect(h.answers(2)).toEqual([]);
    h.nodes.b!.advance(3);
    await h.clock.advance(250);
    expect(h.answers(1)[0].result).toMatchObject({ oldestBlock: '0x64' });
    expect(h.answers(2)[0].result).toMatchObject({ oldestBlock: '0x64' });
  });

  it('eth_getRawTransactionByHash ("other by-hash reads") of a transaction the client was given is held, not null', async () => {
    const h = await onLaggingBackup();
    expect(h.session.stats().highestBlock).toBe(103);
    h.send(rpc(1, 'eth_getRawTransactionByHash', [txHash(103)]));
    await h.settle();
    expect(h.answers(1)).toEqual([]);
  });

  it('EIP-1898 {blockNumber}, {blockHash, requireCanonical}, hash-keyed receipts and block/tx by hash are held', async () => {
    const h = await onLaggingBackup();
    h.send(rpc(1, 'eth_getBalance', ['0x0', { blockNumber: '0x67' }]));
    h.send(rpc(2, 'eth_getBalance', ['0x0', { blockHash: fakeBlockHash(103), requireCanonical: true }]));
    h.send(rpc(3, 'eth_getBlockReceipts', [fakeBlockHash(103)]));
    h.send(rpc(4, 'eth_getBlockReceipts', [{ blockHash: fakeBlockHash(103) }]));
    h.send(rpc(5, 'eth_getTransactionByBlockHashAndIndex', [fakeBlockHash(103), '0x0']));
    h.send(rpc(6, 'eth_getLogs', [{ blockHash: fakeBlockHash(103) }]));
    h.send(rpc(7, 'eth_getBlockByNumber', ['pending', false]));
    h.send(rpc(8, 'eth_getBlockByNumber', ['0x67', false])); // plain, and upper-case digits below
    h.send(rpc(9, 'eth_getBlockTransactionCountByNumber', ['0x67']));
    h.send(rpc(10, 'eth_getLogs', [{ fromBlock: 'latest' }]));
    h.send(rpc(11, 'eth_getBalance', ['0x0', 'pending']));
    await h.settle();
    for (let id = 1; id <= 11; id++) expect(h.answers(id), `id ${id}`).toEqual([]);
    h.nodes.b!.advance(3);
    await h.clock.advance(250);
    expect(h.answers(1)[0].result).toBe('0x67');
    expect(h.answers(2)[0].result).toBe('0x67');
    expect(h.answers(3)[0].result).toHaveLength(1);
    expect(h.answers(8)[0].result).toMatchObject({ number: '0x67' });
  });

  it('string and null client ids of held reads get their answers with the same id', async () => {
    const h = await onLaggingBackup();
    h.send(rpc(null, 'eth_blockNumber'));
    h.send(rpc('x', 'eth_getBlockByNumber', ['0x67', false]));
    await h.settle();
    expect(h.answers(null)).toEqual([]);
    h.nodes.b!.advance(3);
    await h.clock.advance(250);
    expect(h.answers(null)).toEqual([{ jsonrpc: '2.0', id: null, result: '0x67' }]);
    expect(h.answers('x')[0].result).toMatchObject({ number: '0x67' });
  });

  it('a batch mixing held reads with a write: the write is sent once, the reads wait', async () => {
    const h = await onLaggingBackup();
    h.send([rpc(1, 'eth_getBlockByNumber', ['0x67', false]), rpc(2, 'eth_sendRawTransaction', ['0x02']), rpc(3, 'eth_blockNumber')]);
    await h.settle();
    expect(h.received.filter(Array.isArray)).toEqual([]);
    h.nodes.b!.advance(3);
    await h.clock.advance(250);
    const batch = h.received.find(Array.isArray) as any[];
    expect(batch.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(batch[2].result).toBe('0x67');
    expect(h.nodes.b!.calls.get('eth_sendRawTransaction')).toBe(1);
  });

  it('a block delivered as a newHeads head is not answered null by hash on the lagging node', async () => {
    const h = await twoNodes();
    await subscribeNewHeads(h);
    h.nodes.a!.advance(2);
    await h.settle();
    await cutToB(h);
    h.send(rpc(1, 'eth_getBlockByHash', [fakeBlockHash(102), false]));
    await h.settle();
    expect(h.answers(1)).toEqual([]);
  });
});

describe('session: an answer is vouched for only by a head known before it', () => {
  it('state at latest computed at the old head is not delivered because a probe reported the new head meanwhile', async () => {
    const h = await onLaggingBackup();
    const b = h.sockets.last()!;
    b.onSend((text) => {
      const request = JSON.parse(text);
      const answer = extraAnswer(h.nodes.b!, request) ?? h.nodes.b!.answer(request);
      if (request.method === 'eth_getBalance' && h.nodes.b!.head === 100) {
        // b computed the balance at block 100; before its answer arrives, b imports 103 and the
        // pool's health probe reads that head.
        h.nodes.b!.advance(3);
        h.pool.update('b', { head: 103 });
      }
      b.receiveJson(answer);
    });
    h.send(rpc(1, 'eth_getBalance', ['0x0', 'latest']));
    await h.clock.advance(0);
    await h.clock.advance(250);
    // The gethish balance is the number of the block whose state answered: 0x64 is state at 100,
    // older than block 103 the client has seen.
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x67' }]);
  });
});

describe('session: reads racing with a switch to a lagging node', () => {
  it('reads in flight on a when it dies are re-sent to b (behind) and held, not answered null or old', async () => {
    const h = await twoNodes();
    h.nodes.a!.advance(3);
    h.send(rpc('seen103', 'eth_blockNumber'));
    await h.settle();
    h.nodes.a!.setMode('stall'); // a takes the reads and never answers
    h.send(rpc(1, 'eth_getBlockByNumber', ['0x67', false]));
    h.send(rpc(2, 'eth_getBalance', ['0x0', 'latest']));
    h.send(rpc(3, 'eth_getLogs', [{ fromBlock: '0x60', toBlock: '0x67' }]));
    await h.settle();
    h.nodes.a!.cut();
    await h.settle();
    expect(h.session.node).toBe('b');
    await h.clock.advance(500);
    for (const id of [1, 2, 3]) expect(h.answers(id), `id ${id}`).toEqual([]);
    h.nodes.b!.advance(3);
    await h.clock.advance(250);
    expect(h.answers(1)[0].result).toMatchObject({ number: '0x67' });
    expect(h.answers(2)[0].result).toBe('0x67');
  });

  it('a read held on b is answered by a once the session fails back to it', async () => {
    const h = await onLaggingBackup();
    h.send(rpc(1, 'eth_getBlockByNumber', ['0x67', false]));
    await h.settle();
    h.nodes.a!.restore();
    h.pool.update('a', { status: 'healthy', head: 103 });
    await h.clock.advance(3_000);
    expect(h.session.node).toBe('a');
    expect(h.answers(1)).toHaveLength(1);
    expect(h.answers(1)[0].result).toMatchObject({ number: '0x67' });
  });
});
