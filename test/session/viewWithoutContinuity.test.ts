import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../src/index.js';
import { rpc, sessionHarness, subscribeNewHeads } from '../helpers/session.js';

// docs/guides/consistency.md, "Limits": "With `continuity.newHeads` off, delivered heads do not
// raise the view (only answers do), and nothing checks that heads link." The view is the highest
// block the client has been given; an `eth_blockNumber` answer below it waits ("held") and, if no
// node catches up within consistency.waitMs, gets BEHIND instead of a lower number.

/**
 * On node a (head 100), the client subscribes to newHeads and is delivered heads 101…105 (and asks
 * nothing else). Then a is cut: the session fails over to b, still at 100.
 */
async function headsThenLaggingBackup(newHeads: boolean) {
  const h = await sessionHarness({ continuity: { newHeads } });
  const behind: unknown[] = [];
  h.session.on('behind', (event) => behind.push(event));
  const subscription = await subscribeNewHeads(h);
  h.nodes.a!.advance(5);
  await h.settle();
  expect(h.notifications(subscription).map((n) => n.params.result.number)).toEqual(['0x65', '0x66', '0x67', '0x68', '0x69']);
  h.nodes.a!.cut();
  await h.settle();
  expect(h.session.node).toBe('b');
  expect(h.nodes.b!.head).toBe(100);
  return { h, behind, subscription };
}

describe('the client view with continuity.newHeads off (docs/guides/consistency.md, Limits)', () => {
  it('delivered heads do not raise the view: the lagging node\'s lower eth_blockNumber is passed through', async () => {
    const { h, behind } = await headsThenLaggingBackup(false);
    expect(h.session.stats().highestBlock).toBeUndefined(); // five heads delivered, no view
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle();
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x64' }]); // 100, after head 105 was delivered
    expect(behind).toEqual([]);
    expect(h.session.stats()).toMatchObject({ highestBlock: 100, heldBehind: 0 }); // the answer raised it
  });

  it('delivered heads do not raise the view: a delivered block the lagging node lacks is answered null', async () => {
    const { h, behind } = await headsThenLaggingBackup(false);
    h.send(rpc(1, 'eth_getBlockByNumber', ['0x69', false])); // block 105, delivered as a head
    await h.settle();
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: null }]);
    expect(behind).toEqual([]);
  });

  it('only answers do: after eth_blockNumber said 105, the lagging node\'s lower answer is held', async () => {
    const h = await sessionHarness({ continuity: { newHeads: false } });
    const behind: unknown[] = [];
    h.session.on('behind', (event) => behind.push(event));
    h.send(rpc('s', 'eth_subscribe', ['newHeads']));
    await h.settle();
    h.nodes.a!.advance(5);
    await h.settle();
    expect(h.session.stats().highestBlock).toBeUndefined();
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle();
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x69' }]);
    expect(h.session.stats().highestBlock).toBe(105);
    h.nodes.a!.cut();
    await h.settle();
    expect(h.session.node).toBe('b');
    h.send(rpc(2, 'eth_blockNumber'));
    await h.settle();
    expect(h.answers(2)).toEqual([]);
    expect(behind).toEqual([{ node: 'b', method: 'eth_blockNumber', need: 105, outcome: 'held' }]);
    h.nodes.b!.advance(5);
    await h.clock.advance(250); // consistency.pollMs
    expect(h.answers(2)).toEqual([{ jsonrpc: '2.0', id: 2, result: '0x69' }]);
  });
});

describe('contrast: the client view with continuity.newHeads on (the default)', () => {
  it('delivered heads are the view: the lagging node\'s lower eth_blockNumber is held, then BEHIND at consistency.waitMs', async () => {
    const { h, behind } = await headsThenLaggingBackup(true);
    expect(h.session.stats().highestBlock).toBe(105);
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle();
    expect(h.answers(1)).toEqual([]);
    expect(behind).toEqual([{ node: 'b', method: 'eth_blockNumber', need: 105, outcome: 'held' }]);
    await h.clock.advance(4_999);
    expect(h.answers(1)).toEqual([]);
    await h.clock.advance(1);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, error: { code: RpcErrorCode.BEHIND, message: expect.stringContaining('block 105') } }]);
    expect(h.session.stats()).toMatchObject({ highestBlock: 105, heldBehind: 1, failedBehind: 1 });
  });

  it('the held eth_blockNumber is answered once the node reaches the delivered head, never lower', async () => {
    const { h } = await headsThenLaggingBackup(true);
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle();
    h.nodes.b!.advance(4); // 104: still below
    await h.clock.advance(250);
    expect(h.answers(1)).toEqual([]);
    h.nodes.b!.advance(1); // 105
    await h.clock.advance(250);
    expect(h.answers(1)).toEqual([{ jsonrpc: '2.0', id: 1, result: '0x69' }]);
  });

  it('a delivered block the lagging node lacks is held, not answered null', async () => {
    const { h, behind } = await headsThenLaggingBackup(true);
    h.send(rpc(1, 'eth_getBlockByNumber', ['0x69', false]));
    await h.settle();
    expect(h.answers(1)).toEqual([]);
    expect(behind).toEqual([{ node: 'b', method: 'eth_getBlockByNumber', need: 105, outcome: 'held' }]);
    h.nodes.b!.advance(5);
    await h.clock.advance(250);
    expect(h.answers(1)[0].result).toMatchObject({ number: '0x69' });
  });
});

describe('"nothing checks that heads link" with continuity.newHeads off', () => {
  it.each([false, true])('newHeads %s: a head whose parent is not the last delivered head', async (newHeads) => {
    const h = await sessionHarness({ continuity: { newHeads } });
    const reorgs: unknown[] = [];
    h.session.on('reorg', (event) => reorgs.push(event));
    const subscription = await subscribeNewHeads(h);
    h.nodes.a!.advance(2); // 101, 102
    h.nodes.a!.reorg(); // a's whole chain gets other hashes, and it tells no one
    h.nodes.a!.advance(1); // 103, whose parent is not the 102 the client has
    await h.settle();
    const heads = h.notifications(subscription).map((n) => n.params.result);
    if (!newHeads) {
      // Off: passed on as the node sent it, unlinked, and no reorg is announced.
      expect(heads.map((head) => head.number)).toEqual(['0x65', '0x66', '0x67']);
      expect(heads[2].parentHash).not.toBe(heads[1].hash);
      expect(reorgs).toEqual([]);
    } else {
      // On: the node's chain is checked, the reorg announced, and the new branch re-emitted linked.
      expect(heads.map((head) => head.number)).toEqual(['0x65', '0x66', '0x65', '0x66', '0x67']);
      expect(heads[3].parentHash).toBe(heads[2].hash);
      expect(heads[4].parentHash).toBe(heads[3].hash);
      expect(reorgs).toEqual([expect.objectContaining({ ancestor: 100, depth: 2, deep: false })]);
    }
  });
});
