// Audit of docs/guides/consistency.md:73-75 and :78-79: "On every switch the session compares the new
// node's chain with what it delivered: the new node's head, then its block at the highest delivered
// height at or below that head (one `eth_getBlockByNumber`). […] On the same chain that is all the
// check costs (two calls per switch, whatever the number of subscriptions)".
//
// src/session/ChainCheck.ts:106-116 judges each subscription by its own newest height too: when a
// `logs` subscription's newest log (ownTop) is below the newest height the session delivered (top,
// from a `newHeads` subscription, or another `logs` one), both are read (:114). So on one chain, a
// session with `newHeads` and a `logs` subscription for a rare event pays three calls, and each more
// `logs` subscription whose last log is at another height one more. (Reads are shared by height,
// ChainCheck.ts:62-69: subscriptions whose newest heights coincide add nothing.) The cost is small;
// the guide now says so, and this pins it.
import { describe, expect, it } from 'vitest';
import { rpc, sessionHarness, subscribeNewHeads } from '../../helpers/session.js';

const address = (n: number) => `0x${n.toString(16).padStart(40, '0')}`;

/**
 * a and b on one chain at 100; the client holds newHeads and `logs` subscriptions for `addresses`,
 * one log each, at 101, 102 …; heads go on to 105. Then a is cut and the session checks b.
 */
async function switchWithLogsBelowHead(addresses: number) {
  const h = await sessionHarness();
  const reorgs: unknown[] = [];
  h.session.on('reorg', (event) => reorgs.push(event));
  await subscribeNewHeads(h);
  for (let i = 1; i <= addresses; i++) h.send(rpc(`l${i}`, 'eth_subscribe', ['logs', { address: address(i) }]));
  await h.settle();
  const a = h.nodes.a!;
  const b = h.nodes.b!;
  for (let i = 1; i <= addresses; i++) {
    a.advance(1);
    b.advance(1);
    a.emitLog(address(i));
  }
  a.advance(5 - addresses);
  b.advance(5 - addresses);
  await h.settle();
  expect(h.session.stats().highestBlock).toBe(105);
  b.calls.clear();
  a.cut();
  await h.settle();
  expect(h.session.node).toBe('b');
  expect(reorgs).toEqual([]); // the same chain
  return { b };
}

const checkCalls = (b: { calls: Map<string, number> }) => (b.calls.get('eth_blockNumber') ?? 0) + (b.calls.get('eth_getBlockByNumber') ?? 0);

describe('the chain check after a switch on the same chain: what it costs', () => {
  it('one block read more for each distinct newest log height below the newest delivered head', async () => {
    expect(checkCalls((await switchWithLogsBelowHead(1)).b)).toBe(3); // head; 105; 101
    expect(checkCalls((await switchWithLogsBelowHead(3)).b)).toBe(5); // head; 105; 101, 102, 103
  });
});
