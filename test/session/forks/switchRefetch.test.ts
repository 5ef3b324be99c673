import { describe, expect, it } from 'vitest';
import { chainLogs, heldLogs, network } from './network.js';

/** What a switch fetches again of a `logs` subscription's stream (found by the property model). */
describe('logs fetched again at a switch', () => {
  it('the last block delivered is fetched again even when the new node is at that block (it may hold more logs)', async () => {
    const n = await network({ session: { continuity: { newHeads: false } } });
    const logs = await n.subscribe(['logs', {}]);
    await n.mine(3); // 91..93, a log each
    const { a, b } = n.nodes;
    a!.cut(); // the session leaves a...
    a!.emitLog(); // ...as a second log lands in 93, which b has too
    await n.clock.flush();
    expect(n.session.node).toBe('b');
    expect(b!.head).toBe(93);
    expect(heldLogs(n.notes(logs))).toEqual(chainLogs(b!));
  });

  it('logs the node retracted (its reorg) are fetched again from a node still on their chain', async () => {
    const n = await network({ session: { continuity: { newHeads: false } } });
    const logs = await n.subscribe(['logs', {}]);
    await n.mine(5); // 91..95, a log each
    const { a, b } = n.nodes;
    a!.forkAt(2, 2); // a leaves 94 and 95 (removed logs announced), b stays
    await n.clock.flush();
    a!.cut();
    await n.clock.flush();
    expect(n.session.node).toBe('b');
    expect(heldLogs(n.notes(logs))).toEqual(chainLogs(b!));
  });
});
