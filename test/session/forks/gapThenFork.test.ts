import { describe, expect, it } from 'vitest';
import { network } from './network.js';

/**
 * Live newHeads may skip heights (geth sends one head for a batch of blocks it imports). Such a gap
 * is not history the session forgot: every head it delivered in the last 64 blocks is still kept.
 * A shallow fork above the gap must then be announced in full, not reported deep.
 */
describe('a live gap in newHeads, then a shallow fork at a switch', () => {
  it('a 9-block fork, all of it within the 64 kept heads, is not deep, and heads are re-emitted linked', async () => {
    const n = await network();
    const heads = await n.subscribe(['newHeads']);
    await n.mine(300, undefined, 0); // 91..390: an old subscription (more heads than it keeps)
    const { a, b } = n.nodes as any;
    a.setMode('stall');
    a.advance(2); // 391, 392: a's subscribers hear nothing (one head for a batch)
    b.advance(2);
    a.setMode('ok');
    await n.mine(8, undefined, 0); // 393..400, live
    expect(n.notes(heads).map((h: any) => Number(h.number)).slice(-9)).toEqual([390, 393, 394, 395, 396, 397, 398, 399, 400]);
    const before = n.notes(heads).length;
    b.forkAt(9, 10); // b leaves above 391: 392'..401'
    n.syncPool();
    a.cut();
    await n.clock.flush();
    expect(n.session.node).toBe('b');
    expect(n.reorgs).toHaveLength(1);
    expect(n.reorgs[0]).toMatchObject({ deep: false });
    const got = n.notes(heads);
    expect(got.at(-1).hash).toBe(b.block(401).hash);
    // Re-emitted from the fork (at or below 393), each linked: not just 401' after 400.
    expect(Number(got[before].number)).toBeLessThanOrEqual(393);
  });
});
