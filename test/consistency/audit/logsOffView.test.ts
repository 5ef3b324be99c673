// Audit of docs/guides/consistency.md:221-223 (Limits): "Likewise, with `continuity.logs` off,
// delivered logs do not raise it (logs in answers, `eth_getLogs`, still do)", and :16 ("delivered
// `newHeads`/`logs` notifications (while their continuity is on)"). Implemented by
// ContinuityKeeper.track (src/session/ContinuityKeeper.ts:96: a kind turned off is not kept, so its
// notifications never reach the onBlock callback, UpstreamSession.ts:101-105) and ChainView.observe
// for eth_getLogs (src/consistency/ChainView.ts:359-361).
//
// test/session/viewWithoutContinuity.test.ts covers `continuity.newHeads` off only; nothing covered
// `continuity.logs` off. Passing tests.
import { describe, expect, it } from 'vitest';
import { rpc, sessionHarness } from '../../helpers/session.js';

/** On a (head 100) the client subscribes to logs only and is given a log of block 103; a is cut: the session is on b, at 100. */
async function logThenLaggingBackup(logs: boolean) {
  const h = await sessionHarness({ continuity: { logs } });
  const behind: unknown[] = [];
  h.session.on('behind', (event) => behind.push(event));
  h.send(rpc('l', 'eth_subscribe', ['logs', {}]));
  await h.settle();
  const subscription = h.answers('l')[0].result as string;
  h.nodes.a!.advance(3); // no newHeads subscription: the client learns of 103 from the log only
  h.nodes.a!.emitLog();
  await h.settle();
  expect(h.notifications(subscription).map((n) => n.params.result.blockNumber)).toEqual(['0x67']);
  h.nodes.a!.cut();
  await h.settle();
  expect(h.session.node).toBe('b');
  return { h, behind };
}

describe('the client view with continuity.logs off', () => {
  it('a delivered log does not raise the view: the lagging node\'s lower eth_blockNumber is passed through', async () => {
    const { h, behind } = await logThenLaggingBackup(false);
    expect(h.session.stats().highestBlock).toBeUndefined();
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle();
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x64' }]);
    expect(behind).toEqual([]);
  });

  it('logs in an eth_getLogs answer still raise it: a later lower eth_blockNumber is held', async () => {
    const h = await sessionHarness({ continuity: { logs: false } });
    h.nodes.a!.advance(3);
    h.nodes.a!.emitLog();
    h.send(rpc(1, 'eth_getLogs', [{ fromBlock: '0x60' }]));
    await h.settle();
    expect(h.answers(1)[0].result.map((log: { blockNumber: string }) => log.blockNumber)).toEqual(['0x67']);
    expect(h.session.stats().highestBlock).toBe(103);
    h.nodes.a!.cut();
    await h.settle();
    expect(h.session.node).toBe('b');
    h.send(rpc(2, 'eth_blockNumber'));
    await h.settle();
    expect(h.answers(2)).toEqual([]);
    expect(h.session.stats().heldBehind).toBe(1);
  });

  it('contrast, continuity.logs on (the default): the same delivered log raises the view and the lower answer is held', async () => {
    const { h, behind } = await logThenLaggingBackup(true);
    expect(h.session.stats().highestBlock).toBe(103);
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle();
    expect(h.answers(1)).toEqual([]);
    expect(behind).toEqual([expect.objectContaining({ need: 103, outcome: 'held' })]);
  });
});
