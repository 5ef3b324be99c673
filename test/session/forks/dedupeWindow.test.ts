import { describe, expect, it } from 'vitest';
import { LogsContinuity } from '../../../src/session/LogsContinuity.js';
import { CONTINUITY_DEFAULTS } from '../../../src/session/ContinuitySettings.js';
import { RecentKeys } from '../../../src/session/RecentKeys.js';
import { fakeBlockHash } from '../../../src/testing/index.js';
import { hex, logKeys, network } from './network.js';

const dupes = (keys: string[]) => keys.filter((k, i) => keys.indexOf(k) !== i);

describe('duplicate logs after a switch on the same chain', () => {
  it('defaults: a last block with 300 logs (an unfiltered mainnet subscription has more) is not delivered twice by the backfill', async () => {
    const n = await network();
    const logs = await n.subscribe(['logs', {}]);
    await n.mine(1, undefined, 300); // block 91: 300 logs, seen from a
    expect(n.notes(logs)).toHaveLength(300);
    n.nodes.a!.cut(); // b is on the same chain
    n.nodes.b!.advance(1); // and mines 92 (no logs) while the session moves to it
    await n.clock.flush();
    expect(n.session.node).toBe('b');
    expect(n.reorgs).toEqual([]);
    expect(dupes(logKeys(n.notes(logs)))).toEqual([]);
  });

  it('a log delivered after the node retracted others is remembered for the whole window, not evicted early', async () => {
    // The dedupe ring loses its order when a key is forgotten (a node's removed log): the next
    // key remembered lands where it is evicted after a handful of others, not after `size`.
    const keys = new RecentKeys(8);
    for (let i = 0; i < 14; i++) keys.remember(`k${i}`); // wraps: oldest is k6
    keys.forget('k12'); // a log the node retracted
    keys.remember('x'); // the next log
    for (let i = 0; i < 4; i++) keys.remember(`y${i}`); // 4 more: x is 5th newest of 8
    expect(keys.has('x')).toBe(true);
  });

  it('so, end to end: after a geth-style retraction, a log in the last block is delivered twice by the next switch', async () => {
    const c = new LogsContinuity({ ...CONTINUITY_DEFAULTS, dedupeWindow: 8 });
    const log = (block: number, index: number, fork = 0, removed = false) => ({ address: '0x1', blockNumber: hex(block), blockHash: fakeBlockHash(block, fork), logIndex: hex(index), removed });
    const out: any[] = [];
    for (let i = 0; i < 13; i++) out.push(...c.accept(log(10, i))); // block 10: 13 logs, the ring wraps
    out.push(...c.accept(log(11, 0))); // block 11, first branch
    out.push(...c.accept(log(11, 0, 0, true))); // the node leaves it (geth): removed
    for (let i = 0; i < 5; i++) out.push(...c.accept(log(11, i, 1))); // block 11', 5 logs
    // A switch to a node on the same chain at 12: the backfill fetches from the last block (11') on.
    expect(c.plan(12)).toEqual({ kind: 'logs', from: 11, to: 12 });
    const { backfilled } = c.finish([0, 1, 2, 3, 4].map((i) => log(11, i, 1)));
    out.push(...backfilled);
    expect(dupes(logKeys(out))).toEqual([]);
  });
});
