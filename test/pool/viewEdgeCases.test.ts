// Edge cases of issue 12's invariants 1–2 for pool.request() over HTTP: the pool keeps its own view.
import { describe, expect, it } from 'vitest';
import { fakeBlockHash } from '../../src/testing/index.js';
import { fakeCluster } from '../helpers/pool.js';
import { gethish, txHash } from '../helpers/gethReads.js';

const rpc = (id: unknown, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, id: id as number, method, params });

/** a (primary) and b (backup) at 100, geth-ish; the pool has served 100. */
async function cluster(options: Parameters<typeof fakeCluster>[1] = {}) {
  const c = fakeCluster([{ name: 'a' }, { name: 'b' }], options);
  gethish(c.nodes.a!);
  gethish(c.nodes.b!);
  c.pool.update('a', { status: 'healthy', head: 100 });
  c.pool.update('b', { status: 'healthy', head: 100 });
  expect(await c.pool.request(rpc(0, 'eth_blockNumber'))).toMatchObject({ result: '0x64' });
  return c;
}

/** The pool served 103 from a; a is down; b is at 100. */
async function afterCut(options: Parameters<typeof fakeCluster>[1] = {}) {
  const c = await cluster(options);
  c.nodes.a!.advance(3);
  c.pool.update('a', { head: 103 });
  expect(await c.pool.request(rpc(1, 'eth_blockNumber'))).toMatchObject({ result: '0x67' });
  cut(c);
  return c;
}

function cut(c: Awaited<ReturnType<typeof cluster>>) {
  c.nodes.a!.setMode('down');
  c.pool.update('a', { status: 'unhealthy' });
}

/** Starts a request; `.answer` is set when it settles. */
function start(c: Awaited<ReturnType<typeof cluster>>, payload: unknown) {
  const out: { answer?: unknown } = {};
  void c.pool.request(payload as never).then(
    (a) => (out.answer = a),
    (e) => (out.answer = e),
  );
  return out;
}

describe('pool.request(): the view is raised by everything that gives the client a block', () => {
  it('eth_getBlockReceipts(n) raises the pool view: a receipt of block n is never null later', async () => {
    const c = await cluster();
    c.nodes.a!.advance(5);
    expect(await c.pool.request(rpc(1, 'eth_getBlockReceipts', ['0x69']))).toMatchObject({ result: [{ blockNumber: '0x69' }] });
    cut(c);
    const receipt = start(c, rpc(2, 'eth_getTransactionReceipt', [txHash(105)]));
    const number = start(c, rpc(3, 'eth_blockNumber'));
    await c.clock.advance(1_000);
    expect(receipt.answer).toBeUndefined(); // b (at 100) answers null: it has not got block 105
    expect(number.answer).toBeUndefined(); // …and 0x64
  });

  it('eth_getTransactionByBlockNumberAndIndex(n) raises the pool view', async () => {
    const c = await cluster();
    c.nodes.a!.advance(5);
    expect(await c.pool.request(rpc(1, 'eth_getTransactionByBlockNumberAndIndex', ['0x69', '0x0']))).toMatchObject({ result: { blockNumber: '0x69' } });
    cut(c);
    const tx = start(c, rpc(2, 'eth_getTransactionByHash', [txHash(105)]));
    await c.clock.advance(1_000);
    expect(tx.answer).toBeUndefined();
  });

  it('blocks by hash, receipts and logs raise the pool view, also from a batch answer', async () => {
    const c = await cluster();
    c.nodes.a!.advance(5);
    c.nodes.a!.emitLog();
    await c.pool.request([rpc(1, 'eth_getBlockByHash', [fakeBlockHash(102), false]), rpc(2, 'eth_getTransactionReceipt', [txHash(104)])]);
    await c.pool.request(rpc(3, 'eth_getLogs', [{ fromBlock: '0x69', toBlock: '0x69' }]));
    cut(c);
    const number = start(c, rpc(4, 'eth_blockNumber'));
    await c.clock.advance(1_000);
    expect(number.answer).toBeUndefined();
  });
});

describe('pool.request(): reads of blocks already served, on a lagging node', () => {
  it('a block number written with an upper-case 0X prefix (geth accepts it) waits, not null', async () => {
    const c = await afterCut();
    const block = start(c, rpc(2, 'eth_getBlockByNumber', ['0X67', false]));
    await c.clock.advance(1_000);
    expect(block.answer).toBeUndefined();
  });

  it('eth_feeHistory ending at a served block waits instead of "request beyond head block" or a range ending lower', async () => {
    const c = await afterCut();
    const byNumber = start(c, rpc(2, 'eth_feeHistory', ['0x4', '0x67', []]));
    const latest = start(c, rpc(3, 'eth_feeHistory', ['0x4', 'latest', []]));
    await c.clock.advance(1_000);
    expect(byNumber.answer).toBeUndefined();
    expect(latest.answer).toBeUndefined();
  });

  it('eth_getRawTransactionByHash ("other by-hash reads") of a served block waits, not null', async () => {
    const c = await afterCut();
    const raw = start(c, rpc(2, 'eth_getRawTransactionByHash', [txHash(103)]));
    await c.clock.advance(1_000);
    expect(raw.answer).toBeUndefined();
  });

  it('a lower eth_blockNumber is not passed because the batch repeats an id', async () => {
    const c = await afterCut();
    // geth answers each item of the batch, in order: the second says 0x64, below the served 103.
    const batch = start(c, [rpc(7, 'eth_chainId'), rpc(7, 'eth_blockNumber')]);
    await c.clock.advance(1_000);
    expect(batch.answer).toBeUndefined();
  });

  it('EIP-1898 objects, hashes, tags, string/null ids: all wait, then are answered', async () => {
    const c = await afterCut();
    const batch = start(c, [
      rpc('s', 'eth_getBalance', ['0x0', { blockNumber: '0x67' }]),
      rpc(null, 'eth_getBalance', ['0x0', { blockHash: fakeBlockHash(103), requireCanonical: true }]),
      rpc(3, 'eth_getBlockReceipts', [fakeBlockHash(103)]),
      rpc(4, 'eth_getTransactionByBlockHashAndIndex', [fakeBlockHash(103), '0x0']),
      rpc(5, 'eth_getLogs', [{ blockHash: fakeBlockHash(103) }]),
      rpc(6, 'eth_getBlockByNumber', ['pending', false]),
      rpc(7, 'eth_getLogs', [{ fromBlock: 'latest' }]),
      rpc(8, 'eth_getTransactionReceipt', [txHash(103)]),
    ]);
    await c.clock.advance(1_000);
    expect(batch.answer).toBeUndefined();
    c.nodes.b!.advance(3);
    await c.clock.advance(250);
    expect(batch.answer).toMatchObject([
      { id: 's', result: '0x67' },
      { id: null, result: '0x67' },
      { id: 3, result: [{ blockNumber: '0x67' }] },
      { id: 4, result: { blockNumber: '0x67' } },
      { id: 5, result: [] },
      { id: 6, result: { number: '0x68' } },
      { id: 7, result: [] },
      { id: 8, result: { blockNumber: '0x67' } },
    ]);
  });

  it('a batch holding eth_sendRawTransaction and a read behind: the transaction is sent once, and its answer is its hash', async () => {
    const c = await afterCut();
    const batch = start(c, [rpc(2, 'eth_getBlockByNumber', ['0x67', false]), rpc(3, 'eth_sendRawTransaction', ['0x02f86c'])]);
    await c.clock.advance(1_000);
    c.nodes.b!.advance(3);
    await c.clock.advance(250);
    // One geth node would have answered the batch [block 103 or an error, the hash] with one send.
    // The pool sends the whole batch again every poll: b refuses the repeats as "already known",
    // and that refusal is what the client gets for a transaction that was accepted.
    expect({ sends: c.nodes.b!.calls.get('eth_sendRawTransaction'), answer: batch.answer }).toMatchObject({
      sends: 1,
      answer: [{ id: 2 }, { id: 3, result: txHash(999_999) }],
    });
  });
});

describe('pool.request(): an answer is vouched for only by a head known before it', () => {
  it('state at latest computed at the old head is not returned because a probe reported the new head meanwhile', async () => {
    const c = await afterCut();
    const { http, nodes, pool } = c;
    http.route('http://b.test/', async (body, signal, endpoint) => {
      const answer = await nodes.b!.http(body, signal, endpoint); // b answers at 100
      if (body.includes('eth_getBalance') && nodes.b!.head === 100) {
        nodes.b!.advance(3); // …then imports 103, and a health probe reads it before the answer is judged
        pool.update('b', { head: 103 });
      }
      return answer;
    });
    const balance = start(c, rpc(2, 'eth_getBalance', ['0x0', 'latest']));
    await c.clock.advance(250);
    // The geth-ish balance is the number of the block whose state answered.
    expect(balance.answer).toEqual({ jsonrpc: '2.0', id: 2, result: '0x67' });
  });
});
