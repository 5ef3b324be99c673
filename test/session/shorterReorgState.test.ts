import { describe, expect, it } from 'vitest';
import { FakeChain } from '../../src/testing/index.js';
import { rpc, sessionHarness } from '../helpers/session.js';

// Found by the chaos suite's state check (seed 20261221, node b after a live fork 84 → 82 → 83'):
// a node that reorgs onto a shorter branch sends the new branch's head, below the one it sent
// before, on the session's own socket. The session took a head from its socket only to raise its
// word of the node's head, so it still took the node to be at the old head until the next probe
// or eth_blockNumber answer (up to pollMs), and a state read at `latest` went through, answered
// from a block below what the client had been given. A live head is the node's latest word, lower
// too: the read waits until the node is back at the client's view.

describe('a node that reorgs onto a shorter branch, told by its own newHeads', () => {
  it('a state read at latest waits until the node is back at the view, not answered from below it', async () => {
    const h = await sessionHarness({ chain: new FakeChain({ genesis: 90 }) });
    const a = h.nodes.a!;
    h.send(rpc('s', 'eth_subscribe', ['newHeads']));
    await h.settle();
    a.advance(5);
    h.nodes.b!.advance(5);
    await h.settle();
    expect(h.session.stats().highestBlock).toBe(105);
    a.forkAt(2, 1); // 104 and 105 leave; 104' is the new head
    await h.settle();
    expect(h.notifications().at(-1).params.result.number).toBe('0x68');
    h.send(rpc(1, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', 'latest']));
    await h.settle();
    // Before: answered at once, from block 104'.
    expect(h.answers(1)).toEqual([]);
    a.advance(1); // 105'
    await h.clock.advance(250);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: expect.any(String) }]);
  });
});
