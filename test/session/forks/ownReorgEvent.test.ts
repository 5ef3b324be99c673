import { describe, expect, it } from 'vitest';
import { network } from './network.js';

/**
 * A node reorgs under the session without re-emitting from the fork point: its next head does not
 * link, the session checks the node's chain and announces a `reorg`. That reorg is the node's own:
 * the event must name it, not the node the session happened to leave at its last switch.
 */
describe('the reorg event of a node reorging under the session (unlinked live head)', () => {
  it('first node, no switch yet: from is that node', async () => {
    const n = await network();
    const heads = await n.subscribe(['newHeads']);
    await n.mine(10, undefined, 0); // 91..100
    const a = n.nodes.a!;
    a.setMode('stall'); // the node's subscribers hear nothing of its reorg...
    a.forkAt(2, 2); // ...to 99', 100'
    a.setMode('ok');
    a.advance(1); // 101' (parent 100'): does not link to the delivered 100
    await n.clock.flush();
    expect(n.notes(heads).length).toBeGreaterThan(10);
    expect(n.reorgs).toEqual([{ ancestor: 98, depth: 2, deep: false, from: 'a', to: 'a' }]);
  });

  it('after a switch a→b on the same chain, b reorgs by itself: from is b, not a', async () => {
    const n = await network();
    await n.subscribe(['newHeads']);
    await n.mine(10, undefined, 0);
    n.nodes.a!.cut();
    await n.clock.flush();
    expect(n.session.node).toBe('b');
    expect(n.reorgs).toEqual([]);
    const b = n.nodes.b!;
    b.setMode('stall');
    b.forkAt(2, 2);
    b.setMode('ok');
    b.advance(1);
    await n.clock.flush();
    expect(n.reorgs).toEqual([{ ancestor: 98, depth: 2, deep: false, from: 'b', to: 'b' }]);
  });
});
