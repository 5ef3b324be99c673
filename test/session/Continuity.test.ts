import { describe, expect, it } from 'vitest';
import { continuityKind } from '../../src/session/Continuity.js';
import { HeadsContinuity } from '../../src/session/HeadsContinuity.js';
import { LogsContinuity } from '../../src/session/LogsContinuity.js';
import { fakeBlockHash } from '../../src/testing/index.js';

const options = { maxBackfillBlocks: 10, dedupeWindow: 4, reorgDepth: 64, maxRetainedBytes: 1 << 20 };
const head = (n: number, fork = 0) => ({ number: `0x${n.toString(16)}`, hash: fakeBlockHash(n, fork) });
const log = (block: number, index: number, removed = false) => ({
  blockNumber: `0x${block.toString(16)}`,
  blockHash: fakeBlockHash(block),
  logIndex: `0x${index.toString(16)}`,
  removed,
});

describe('which subscriptions get continuity', () => {
  it.each([
    [['newHeads'], 'newHeads'],
    [['logs', {}], 'logs'],
    [['newPendingTransactions'], undefined],
    [['syncing'], undefined],
  ])('%j → %s', (params, kind) => expect(continuityKind(params)).toBe(kind));
});

describe('newHeads continuity', () => {
  it('never delivers a block hash twice', () => {
    const c = new HeadsContinuity(options);
    expect(c.accept(head(5))).toEqual([head(5)]);
    expect(c.accept(head(5))).toEqual([]);
    expect(c.duplicates).toBe(1);
  });

  it('delivers a lower or reorged head as the chain says', () => {
    const c = new HeadsContinuity(options);
    c.accept(head(5));
    c.accept(head(6));
    expect(c.accept(head(6, 1))).toEqual([head(6, 1)]); // same number, other hash: a reorg
    expect(c.accept(head(4, 1))).toEqual([head(4, 1)]); // lower: delivered, and the mark moves back
    expect(c.lastBlock).toBe(4);
  });

  it('plans the missing blocks after a switch, and delivers them before the buffered live heads', () => {
    const c = new HeadsContinuity(options);
    c.accept(head(10));
    c.hold();
    expect(c.accept(head(14))).toEqual([]); // the new node's live head waits
    expect(c.plan(14)).toEqual({ kind: 'blocks', from: 11, to: 14 });
    expect(c.finish([head(11), head(12), head(13)])).toEqual({ retracted: [], backfilled: [head(11), head(12), head(13)], live: [head(14)] });
    expect(c.backfilling).toBe(false);
  });

  it('skips a gap longer than maxBackfillBlocks, and says so', () => {
    const c = new HeadsContinuity(options);
    c.accept(head(10));
    expect(c.plan(21)).toEqual({ kind: 'skip', from: 11, to: 21 });
    expect(c.plan(20)).toEqual({ kind: 'blocks', from: 11, to: 20 });
  });

  it('plans nothing when the new node is not ahead, or nothing was seen yet', () => {
    const c = new HeadsContinuity(options);
    expect(c.plan(50)).toEqual({ kind: 'none' });
    c.finish([]);
    c.accept(head(10));
    expect(c.plan(9)).toEqual({ kind: 'none' });
  });

  it('moves the mark only for a number that is a safe hex quantity', () => {
    const c = new HeadsContinuity(options);
    c.accept(head(0x10));
    for (const [fork, number] of ['0x', '0x1g', '10', '0X11', '0x20000000000000', 12, null].entries()) {
      expect(c.accept({ number, hash: fakeBlockHash(99, fork) })).toHaveLength(1);
      expect(c.lastBlock).toBe(0x10);
    }
    c.accept(head(0x1fffffffffffff));
    expect(c.lastBlock).toBe(Number.MAX_SAFE_INTEGER);
    c.accept(head(0xabcdef));
    expect(c.lastBlock).toBe(0xabcdef);
    c.accept({ number: '0xABCDEF0', hash: fakeBlockHash(7) });
    expect(c.lastBlock).toBe(0xabcdef0);
  });

  it('remembers one head per height, for the last max(dedupeWindow, reorgDepth) heights', () => {
    const c = new HeadsContinuity({ ...options, reorgDepth: 4 });
    for (let n = 1; n <= 6; n++) c.accept(head(n));
    for (const n of [3, 4, 5, 6]) expect(c.accept(head(n))).toEqual([]);
    expect(c.duplicates).toBe(4);
    expect(c.accept(head(2))).toEqual([head(2)]); // forgotten: delivered as the chain says...
    expect(c.accept(head(3))).toEqual([head(3)]); // ...and a lower head is a reorg: what was above comes again
    expect(c.accept(head(3))).toEqual([]);
  });

  it("a lower or equal head with another hash is the node's reorg: the heads above it may come back", () => {
    const c = new HeadsContinuity(options);
    for (const n of [5, 6, 7]) c.accept(head(n));
    expect(c.accept(head(6, 1))).toEqual([head(6, 1)]);
    expect(c.accept(head(6))).toEqual([head(6)]); // back to the first branch
    expect(c.accept(head(7))).toEqual([head(7)]);
    expect(c.accept(head(7))).toEqual([]);
    expect(c.accept(head(5))).toEqual([]); // the common ancestor never left
  });

  it('keeps nothing of the notification it read: heads are kept as numbers', () => {
    const c = new HeadsContinuity(options);
    const hash = fakeBlockHash(9);
    expect(c.offerHead(9, Number.parseInt(hash.slice(2, 10), 16), Number.parseInt(hash.slice(61), 16), Number.NaN, Number.NaN)).toBe(1);
    expect(c.accept(head(9))).toEqual([]);
  });
});

describe('logs continuity', () => {
  it('a retracted log owes the client the heights down to the newest log it still holds (it saw them on the branch it left)', () => {
    const c = new LogsContinuity(options);
    c.accept(log(1, 0));
    const onBranch = { ...log(4, 0), blockHash: fakeBlockHash(4, 2) }; // heights 2 and 3 of that branch had none
    c.accept(onBranch);
    c.accept({ ...onBranch, removed: true }); // the node left that branch
    // The other subscriptions' heads vouch for the node's chain up to 5: the logs of 2 and 3 on it are still owed.
    expect(c.plan(5, undefined, 5)).toEqual({ kind: 'logs', from: 1, to: 5 });
  });

  it('suppresses a repeated log (same blockHash and logIndex) but not its removal', () => {
    const c = new LogsContinuity(options);
    expect(c.accept(log(7, 0))).toHaveLength(1);
    expect(c.accept(log(7, 0))).toEqual([]);
    expect(c.accept(log(7, 0, true))).toHaveLength(1);
  });

  it('plans eth_getLogs from the block of the last log (inclusive: repeats are dropped), once the check found that block on the node\'s chain', () => {
    const c = new LogsContinuity(options);
    c.noteSince(3);
    c.accept(log(7, 0));
    expect(c.plan(12, undefined, 7)).toEqual({ kind: 'logs', from: 7, to: 12 });
    expect(c.finish([log(7, 0), log(7, 1), log(9, 0)])).toEqual({ retracted: [], backfilled: [log(7, 1), log(9, 0)], live: [] });
  });

  it('with the last log not found on the node\'s chain (nothing compared), plans from the highest height that was, else from where it began', () => {
    const c = new LogsContinuity(options);
    c.noteSince(3);
    c.accept(log(5, 0));
    c.accept(log(7, 0));
    // The node had block 5, but 7 was not compared (no reads of it, or the node is behind it):
    // between them the client holds no log, which says nothing of the node's chain.
    expect(c.plan(12, undefined, 5)).toEqual({ kind: 'logs', from: 5, to: 12 });
    c.finish([]);
    // Nothing compared: from where it began.
    expect(c.plan(12)).toEqual({ kind: 'logs', from: 3, to: 12 });
  });

  it('looks back at most reorgDepth blocks (and one backfill) from the last log for logs the node has where the client was given none', () => {
    const c = new LogsContinuity({ ...options, reorgDepth: 10, maxBackfillBlocks: 128 });
    c.noteSince(3);
    c.accept(log(100, 0));
    expect(c.plan(100, undefined, 20)).toEqual({ kind: 'logs', from: 90, to: 100 });
    c.finish([]);
    const short = new LogsContinuity({ ...options, reorgDepth: 64, maxBackfillBlocks: 20 });
    short.noteSince(3);
    short.accept(log(100, 0));
    expect(short.plan(105)).toEqual({ kind: 'logs', from: 86, to: 105 });
  });

  it('a node behind the last log: its logs from the highest height found on its chain up to its head', () => {
    const c = new LogsContinuity(options);
    c.noteSince(3);
    c.accept(log(5, 0));
    c.accept(log(9, 0));
    expect(c.plan(7, undefined, 5)).toEqual({ kind: 'logs', from: 5, to: 7 });
  });

  it('without any log yet, plans from the head when it subscribed', () => {
    const c = new LogsContinuity(options);
    c.noteSince(3);
    expect(c.plan(5)).toEqual({ kind: 'logs', from: 3, to: 5 });
  });

  it('logs held for a check and dropped by a switch are owed, also when where it began is not known: the next check fetches from their block (seed 20261319)', () => {
    const c = new LogsContinuity(options); // answered by a socket being left: no head noted
    c.hold();
    expect(c.offer(log(5, 0))).toBe(false); // held while the check runs
    c.hold(true); // a switch: what was held is dropped
    expect(c.plan(7)).toEqual({ kind: 'logs', from: 4, to: 7 });
  });
});
