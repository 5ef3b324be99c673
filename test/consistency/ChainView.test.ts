import { describe, expect, it } from 'vitest';
import { ChainView } from '../../src/consistency/ChainView.js';
import { KNOWN_HASHES } from '../../src/consistency/KnownHashes.js';
import { hashKey } from '../../src/consistency/quantity.js';

const ok = (result: unknown) => ({ jsonrpc: '2.0', id: 1, result });
const err = { jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'header not found' } };

function seen(n: number): ChainView {
  const view = new ChainView();
  view.raise(n);
  return view;
}

describe('ChainView: what a read demands of the node that answers it', () => {
  it('demands nothing before the client has seen a block', () => {
    expect(new ChainView().demand('eth_blockNumber', [], undefined)).toBeUndefined();
  });

  it('judges eth_blockNumber and the latest block by the answer: never below what the client had seen', () => {
    const view = seen(11);
    const demand = view.demand('eth_blockNumber', [], view.highest)!;
    expect(view.judge('eth_blockNumber', demand, ok('0x8'), undefined)).toBe('behind');
    expect(view.judge('eth_blockNumber', demand, ok('0xb'), undefined)).toBe('ok');
    const latest = view.demand('eth_getBlockByNumber', ['latest', false], 11)!;
    expect(view.judge('eth_getBlockByNumber', latest, ok({ number: '0xa' }), undefined)).toBe('behind');
    expect(view.judge('eth_getBlockByNumber', latest, ok({ number: '0xc' }), undefined)).toBe('ok');
  });

  it('a null block the client has seen is behind, whatever head the node claims (a load-balanced read backend lags); a real block is always fine', () => {
    const view = seen(11);
    const demand = view.demand('eth_getBlockByNumber', ['0xb', false], 11)!;
    expect(demand).toEqual({ kind: 'head', need: 11, onlyIfMissing: true, exact: true });
    expect(view.judge('eth_getBlockByNumber', demand, ok({ number: '0xb' }), undefined)).toBe('ok');
    expect(view.judge('eth_getBlockByNumber', demand, ok(null), 8)).toBe('behind');
    expect(view.judge('eth_getBlockByNumber', demand, ok(null), undefined)).toBe('behind');
    expect(view.judge('eth_getBlockByNumber', demand, ok(null), 11)).toBe('behind');
    expect(view.judge('eth_getBlockByNumber', demand, ok(null), 50)).toBe('behind');
    // An error ("header not found" …) is judged by the node's head, as before.
    const error = { jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'header not found' } };
    expect(view.judge('eth_getBlockByNumber', demand, error, 11)).toBe('ok');
    expect(view.judge('eth_getBlockByNumber', demand, error, 8)).toBe('behind');
    for (const method of ['eth_getBlockTransactionCountByNumber', 'eth_getUncleCountByBlockNumber', 'eth_getBlockReceipts']) {
      expect(view.demand(method, ['0xa'], 11), method).toMatchObject({ exact: true, need: 10 });
    }
  });

  it('a null far below the view (128 blocks or more) is pruned history, not a lagging backend: judged by the head as before', () => {
    const view = seen(1_000);
    expect(view.demand('eth_getBlockByNumber', [`0x${(1_000 - 127).toString(16)}`, false], 1_000)).toMatchObject({ exact: true });
    const old = view.demand('eth_getBlockByNumber', [`0x${(1_000 - 128).toString(16)}`, false], 1_000)!;
    expect(old.exact).toBeUndefined();
    expect(view.judge('eth_getBlockByNumber', old, ok(null), 1_000)).toBe('ok');
  });

  it('a null for an index in a block is an answer once the node has the block (no such transaction or uncle)', () => {
    const view = seen(11);
    for (const method of ['eth_getTransactionByBlockNumberAndIndex', 'eth_getUncleByBlockNumberAndIndex']) {
      const demand = view.demand(method, ['0xb', '0x7'], 11)!;
      expect(demand.exact, method).toBeUndefined();
      expect(view.judge(method, demand, ok(null), 11), method).toBe('ok');
      expect(view.judge(method, demand, ok(null), 8), method).toBe('behind');
    }
  });

  it('a block above the view is news: null for it is a real answer', () => {
    expect(seen(11).demand('eth_getBlockByNumber', ['0xc', false], 11)).toBeUndefined();
  });

  it('lookups by hash: null from a node behind the view may only mean it lacks it yet', () => {
    const view = seen(11);
    for (const method of ['eth_getBlockByHash', 'eth_getTransactionByHash', 'eth_getTransactionReceipt']) {
      const demand = view.demand(method, ['0x' + 'ab'.repeat(32)], 11)!;
      expect(view.judge(method, demand, ok(null), 8)).toBe('behind');
      expect(view.judge(method, demand, ok({ blockNumber: '0x9' }), 8)).toBe('ok');
    }
  });

  it('state at latest needs the node at the view, whatever it answers; settled tags need nothing', () => {
    const view = seen(11);
    const demand = view.demand('eth_call', [{ to: '0x0' }, 'latest'], 11)!;
    expect(demand).toEqual({ kind: 'head', need: 11, onlyIfMissing: false });
    expect(view.judge('eth_call', demand, ok('0x'), 10)).toBe('behind');
    expect(view.demand('eth_getBalance', ['0x0'], 11)).toEqual(demand); // no block argument: latest
    expect(view.demand('eth_getBalance', ['0x0', 'finalized'], 11)).toBeUndefined();
    expect(view.demand('eth_getBalance', ['0x0', { blockHash: '0x' + '1'.repeat(64) }], 11)).toEqual({ kind: 'head', need: 11, onlyIfMissing: true });
    expect(view.demand('eth_getStorageAt', ['0x0', '0x0', '0x5'], 11)).toEqual({ kind: 'head', need: 5, onlyIfMissing: true });
  });

  it.each([
    ['eth_getBalance', ['0x0']],
    ['eth_getCode', ['0x0']],
    ['eth_getTransactionCount', ['0x0']],
    ['eth_getStorageAt', ['0x0', '0x0']],
    ['eth_call', [{ to: '0x0' }]],
    ['eth_estimateGas', [{ to: '0x0' }]],
    ['eth_createAccessList', [{ to: '0x0' }]],
    ['eth_getProof', ['0x0', []]],
    ['eth_simulateV1', [{ blockStateCalls: [] }]],
    ['debug_traceCall', [{ to: '0x0' }]],
  ])('%s reads state: at latest (or no block argument) it needs the node at the view; at block 5, a node that has it', (method, args) => {
    const view = seen(11);
    const atView = { kind: 'head', need: 11, onlyIfMissing: false };
    expect(view.demand(method, args, 11)).toEqual(atView);
    expect(view.demand(method, [...args, 'latest'], 11)).toEqual(atView);
    expect(view.demand(method, [...args, '0x5'], 11)).toEqual({ kind: 'head', need: 5, onlyIfMissing: true });
    expect(view.demand(method, [...args, 'safe'], 11)).toBeUndefined();
  });

  it('header reads are held like block reads: eth_getHeaderByNumber at latest or a seen number, eth_getHeaderByHash missing', () => {
    const view = seen(11);
    const latest = view.demand('eth_getHeaderByNumber', ['latest'], 11)!;
    expect(view.judge('eth_getHeaderByNumber', latest, ok({ number: '0xa' }), undefined)).toBe('behind');
    expect(view.judge('eth_getHeaderByNumber', latest, ok({ number: '0xb' }), undefined)).toBe('ok');
    const seenNumber = view.demand('eth_getHeaderByNumber', ['0xb'], 11)!;
    expect(view.judge('eth_getHeaderByNumber', seenNumber, ok(null), 11)).toBe('behind');
    const byHash = view.demand('eth_getHeaderByHash', ['0x' + '1'.repeat(64)], 11)!;
    expect(byHash).toBeDefined();
    expect(view.judge('eth_getHeaderByHash', byHash, ok(null), 10)).toBe('behind');
    expect(view.judge('eth_getHeaderByHash', byHash, ok({ number: '0x3' }), 10)).toBe('ok');
  });

  it('eth_getLogs needs the node at the end of the range, up to the view, even when it answers', () => {
    const view = seen(11);
    const toLatest = view.demand('eth_getLogs', [{ fromBlock: '0x1' }], 11)!;
    expect(view.judge('eth_getLogs', toLatest, ok([]), 8)).toBe('behind');
    expect(view.judge('eth_getLogs', toLatest, err, 8)).toBe('behind');
    expect(view.judge('eth_getLogs', toLatest, ok([]), 11)).toBe('ok');
    expect(view.demand('eth_getLogs', [{ fromBlock: '0x1', toBlock: '0x9' }], 11)).toEqual({ kind: 'head', need: 9, onlyIfMissing: false });
    expect(view.demand('eth_getLogs', [{ fromBlock: '0x1', toBlock: '0x20' }], 11)).toEqual({ kind: 'head', need: 11, onlyIfMissing: false });
  });

  it('rises with what the client is given: block numbers, blocks, receipts, logs; never with a pending block or a removed log', () => {
    const view = new ChainView();
    view.observe('eth_blockNumber', [], ok('0x5'));
    expect(view.highest).toBe(5);
    view.observe('eth_getBlockByNumber', ['pending', false], ok({ number: '0x9' }));
    expect(view.highest).toBe(5);
    view.observe('eth_getTransactionReceipt', ['0x1'], ok({ blockNumber: '0x7' }));
    expect(view.highest).toBe(7);
    view.observe('eth_getLogs', [{}], ok([{ blockNumber: '0x8' }, { blockNumber: '0xf', removed: true }]));
    expect(view.highest).toBe(8);
    view.observe('eth_blockNumber', [], ok('0x3'));
    expect(view.highest).toBe(8);
    view.observe('eth_blockNumber', [], err);
    expect(view.highest).toBe(8);
    // The newest block of a fee history: oldestBlock + one per gasUsedRatio entry - 1.
    view.observe('eth_feeHistory', ['0x4', 'latest', []], ok({ oldestBlock: '0x9', gasUsedRatio: [0.1, 0.2, 0.3, 0.4], baseFeePerGas: ['0x1', '0x1', '0x1', '0x1', '0x1'] }));
    expect(view.highest).toBe(12);
    view.observe('eth_getHeaderByHash', ['0x' + '2'.repeat(64)], ok({ number: '0xd' }));
    expect(view.highest).toBe(13);
    view.observe('eth_getHeaderByNumber', ['latest'], ok({ number: '0xe' }));
    expect(view.highest).toBe(14);
  });
});

describe('ChainView: hashes the client was given, for reads by hash', () => {
  const hash = (n: number, tag = 'b') => `0x${tag.repeat(2)}${n.toString(16).padStart(62, '0')}`;
  const tx = (n: number) => hash(n, 'a');
  const at = (n: number) => ({ number: n, block: hashKey(hash(n))! });
  const logOf = (n: number) => ({ blockNumber: `0x${n.toString(16)}`, blockHash: hash(n), transactionHash: tx(n), logIndex: '0x0' });
  const NULL = { jsonrpc: '2.0', id: 1, result: null };

  it('knows blocks and transactions (receipts, logs) from answers, each as its kind, newest kept, the last KNOWN_HASHES of them', () => {
    const view = new ChainView();
    view.observe('eth_getBlockByNumber', ['0x5', false], { result: { number: '0x5', hash: hash(5) } });
    view.observe('eth_getTransactionReceipt', [tx(6)], { result: { transactionHash: tx(6), blockNumber: '0x6', blockHash: hash(6) } });
    view.observe('eth_getLogs', [{}], { result: [logOf(7), { ...logOf(8), removed: true }] });
    expect(view.whereIs(hash(5), 'block')).toMatchObject(at(5));
    expect([view.whereIs(tx(6), 'transaction'), view.whereIs(hash(6), 'block')]).toEqual([expect.objectContaining(at(6)), expect.objectContaining(at(6))]);
    expect([view.whereIs(tx(7), 'transaction'), view.whereIs(hash(7), 'block')]).toEqual([expect.objectContaining(at(7)), expect.objectContaining(at(7))]);
    // Each only as what it is: a block's hash is no transaction's.
    expect([view.whereIs(hash(7), 'transaction'), view.whereIs(tx(7), 'block')]).toEqual([undefined, undefined]);
    expect(view.whereIs(tx(8), 'transaction')).toBeUndefined(); // a removed log's
    // A getLogs of many logs keeps the newest: two hashes a log.
    view.observe('eth_getLogs', [{}], { result: Array.from({ length: KNOWN_HASHES }, (_, i) => logOf(100 + i)) });
    expect(view.whereIs(hash(5), 'block')).toBeUndefined();
    expect(view.whereIs(tx(100 + KNOWN_HASHES / 2 - 1), 'transaction')).toBeUndefined();
    expect(view.whereIs(tx(100 + KNOWN_HASHES / 2), 'transaction')).toMatchObject(at(100 + KNOWN_HASHES / 2));
  });

  it('given (as a read is sent) and lapsed (as its null comes): a hash given at or below the view, less than 128 blocks down, for the reads that look one up', () => {
    const view = new ChainView();
    view.observe('eth_getLogs', [{}], { result: [logOf(200)] });
    const at200 = at(200);
    expect(view.given('eth_getTransactionReceipt', [tx(200)])).toMatchObject(at200);
    expect(view.given('eth_getTransactionByHash', [`0x${tx(200).slice(2).toUpperCase()}`])).toMatchObject(at200);
    expect(view.given('eth_getBlockByHash', [hash(200), false])).toMatchObject(at200);
    // An explorer's "a transaction, or else a block?": each read of the other kind's hash may truly be null.
    expect(view.given('eth_getTransactionByHash', [hash(200)])).toBeUndefined();
    expect(view.given('eth_getBlockByHash', [tx(200), false])).toBeUndefined();
    expect(view.given('eth_getTransactionByBlockHashAndIndex', [hash(200), '0x5'])).toBeUndefined(); // no such index is a true null
    expect(view.given('eth_getTransactionReceipt', [hash(9, 'c')])).toBeUndefined();
    const lookups: unknown[] = [];
    const lookup = (key: number, kind: string) => (lookups.push([key, kind]), at(190));
    expect(view.given('eth_getTransactionReceipt', [hash(9, 'c')], lookup)).toEqual(at(190));
    expect(lookups).toEqual([[hashKey(hash(9, 'c')), 'transaction']]);
    expect(view.lapsed(NULL, 200, at200)).toEqual(at200);
    expect(view.lapsed(NULL, 250, at200)).toEqual(at200);
    expect(view.lapsed(NULL, 199, at200)).toBeUndefined(); // asked before the client had it
    expect(view.lapsed(NULL, 328, at200)).toBeUndefined(); // 128 blocks down: pruned history
    expect(view.lapsed(NULL, 200, undefined)).toBeUndefined();
    expect(view.lapsed({ result: { transactionHash: tx(200) } }, 200, at200)).toBeUndefined();
    expect(view.lapsed({ error: { code: -32000, message: 'x' } }, 200, at200)).toBeUndefined();
  });
});

describe('ChainView.highestAt: the view as it was when a probe read a head', () => {
  it('answers the highest block given at or before a time, one rise a clock reading', () => {
    let now = 1_000;
    const view = new ChainView(() => now);
    expect(view.highestAt(500)).toBeUndefined();
    view.raise(10);
    view.raise(11); // the same reading: one rise, to 11
    now = 1_250;
    view.raise(12);
    view.raise(9); // not a rise
    now = 1_500;
    view.raise(13);
    expect([999, 1_000, 1_100, 1_250, 1_499, 1_500, 9_000].map((t) => view.highestAt(t))).toEqual([10, 11, 11, 12, 12, 13, 13]);
  });

  it('before the rises it keeps (the last 64): one below the oldest kept, so a head at it counts as caught up', () => {
    let now = 0;
    const view = new ChainView(() => now);
    for (let n = 1; n <= 100; n++) {
      now = n * 10;
      view.raise(n);
    }
    expect(view.highestAt(1_000)).toBe(100);
    expect(view.highestAt(370)).toBe(37); // the oldest kept: 37 at 370
    expect(view.highestAt(369)).toBe(36);
    expect(view.highestAt(0)).toBe(36);
  });

  it('without a clock, the view now', () => {
    const view = new ChainView();
    view.raise(7);
    expect(view.highestAt(0)).toBe(7);
  });
});
