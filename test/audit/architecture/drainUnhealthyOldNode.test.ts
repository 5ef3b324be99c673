import { describe, expect, it } from 'vitest';
import { onBackup, rpc } from '../../helpers/session.js';

// docs/architecture.md, "A switch": "the old link drains the answers it owes (or, if its node is
// unhealthy, repeatable calls move at once) and is closed". The code (draining.ts, called from
// LinkSwitcher.activate) looks at the switch's reason (`nextReason === 'unhealthy'`), not at the
// old node's health: a switch that leaves an unhealthy node for another reason ('failback' after the
// pool's `recovered`) keeps the client's reads waiting on the dead node for drainTimeoutMs (5 s).
describe('architecture.md: leaving an unhealthy node, repeatable calls move at once', () => {
  it('when the old node went unhealthy before the preferred one recovered (switch reason failback)', async () => {
    const { h, switches } = await onBackup();
    const b = h.sockets.sockets.at(-1)!;
    b.onSend(() => {}); // b holds its answers: it is going down
    h.send(rpc(1, 'eth_getBalance', ['0x0', 'latest']));
    await h.settle();
    h.mark('b', 'unhealthy'); // the pool has no node now: the session stays on b
    await h.settle();
    expect(h.session.node).toBe('b');
    h.nodes.a!.restore();
    h.mark('a', 'healthy');
    await h.settle();
    expect(h.session.node).toBe('a');
    expect(h.pool.health('b').status).toBe('unhealthy');
    expect(switches.at(-1)).toMatchObject({ from: 'b', to: 'a' });
    // Expected: the read owed by the unhealthy node b is re-sent on a at once, not after 5 s.
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x1' }]);
  });

  it('when the old node is marked unhealthy while the switch to the recovered one is under way', async () => {
    const { h } = await onBackup();
    const b = h.sockets.sockets.at(-1)!;
    b.onSend(() => {});
    h.send(rpc(1, 'eth_getBalance', ['0x0', 'latest']));
    await h.settle();
    h.nodes.a!.restore();
    h.mark('a', 'healthy'); // the pool prefers a again: the session starts a failback
    h.mark('b', 'unhealthy'); // the same round of probes finds b dead
    await h.settle();
    expect(h.session.node).toBe('a');
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x1' }]);
  });
});
