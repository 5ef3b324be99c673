import { describe, expect, it } from 'vitest';
import type { FakeNode } from '../../src/testing/index.js';
import { rpc, sessionHarness } from '../helpers/session.js';

const numbers = (frames: any[]) => frames.map((n) => Number(n.params.result.number));

/** A session subscribed to newHeads on `a`, both fake nodes on the same chain at block 100. */
async function subscribed(options: Parameters<typeof sessionHarness>[0] = {}) {
  const h = await sessionHarness(options);
  h.send(rpc('s', 'eth_subscribe', ['newHeads']));
  await h.settle();
  const sub = h.answers('s')[0]!.result as string;
  const backfills: any[] = [];
  h.session.on('backfill', (e) => backfills.push(e));
  return { h, sub, backfills };
}

/** Both nodes mine the same blocks (the same chain); only `a`'s subscribers hear of them. */
const mineBoth = (h: Awaited<ReturnType<typeof sessionHarness>>, blocks: number) => {
  for (let i = 0; i < blocks; i++) {
    h.nodes.a!.advance(1);
    h.nodes.b!.advance(1);
  }
};

describe('newHeads across a switch', () => {
  it('with backfill on, the client gets every block between its last and the new node’s head, in order, once', async () => {
    const { h, sub, backfills } = await subscribed();
    mineBoth(h, 3); // the client sees 101..103 from a
    h.nodes.a!.cut();
    h.nodes.b!.advance(4); // 104..107 happen while the session moves to b
    await h.settle();
    expect(h.session.node).toBe('b');
    h.nodes.b!.advance(1); // 108, live from b
    await h.settle();
    expect(numbers(h.notifications(sub))).toEqual([101, 102, 103, 104, 105, 106, 107, 108]);
    expect(backfills).toEqual([{ subscription: sub, node: 'b', from: 104, to: 107, delivered: 4, skipped: false }]);
    expect(h.session.stats().backfilled).toBe(4);
  });

  it('never delivers a block hash twice when the new node is behind', async () => {
    const { h, sub } = await subscribed();
    h.nodes.a!.advance(5); // the client sees 101..105 from a; b is still at 100
    h.nodes.a!.cut();
    await h.settle();
    h.nodes.b!.advance(7); // b catches up: 101..105 again (same chain), then 106, 107
    await h.settle();
    expect(numbers(h.notifications(sub))).toEqual([101, 102, 103, 104, 105, 106, 107]);
    expect(h.session.stats().duplicatesSuppressed).toBe(5);
    // Delivered as the node wrote them: every field, not just the ones continuity reads.
    expect(h.notifications(sub).map((n) => n.params.result)).toEqual([101, 102, 103, 104, 105, 106, 107].map((n) => h.nodes.b!.block(n)));
  });

  it('delivers a lower or reorged head on the new node as the chain says', async () => {
    const { h, sub } = await subscribed();
    h.nodes.a!.advance(3); // 101..103
    h.nodes.b!.reorg(); // b is on another fork
    h.nodes.a!.cut();
    await h.settle();
    h.nodes.b!.advance(2); // b's 101, 102 on its fork: lower than 103, other hashes
    await h.settle();
    const heads = h.notifications(sub).map((n) => n.params.result);
    expect(heads.map((r: any) => Number(r.number))).toEqual([101, 102, 103, 101, 102]);
    expect(new Set(heads.map((r: any) => r.hash)).size).toBe(5);
  });

  it('skips a gap longer than maxBackfillBlocks, says so, and keeps delivering', async () => {
    const { h, sub, backfills } = await subscribed({ continuity: { maxBackfillBlocks: 5 } });
    mineBoth(h, 1); // 101
    h.nodes.a!.cut();
    h.nodes.b!.advance(20); // 102..121
    await h.settle();
    h.nodes.b!.advance(1);
    await h.settle();
    expect(numbers(h.notifications(sub))).toEqual([101, 122]);
    expect(backfills).toEqual([{ subscription: sub, node: 'b', from: 102, to: 121, delivered: 0, skipped: true }]);
  });

  it('can be switched off', async () => {
    const { h, sub } = await subscribed({ continuity: { newHeads: false } });
    h.nodes.a!.advance(2);
    h.nodes.a!.cut();
    await h.settle();
    h.nodes.b!.advance(3);
    await h.settle();
    expect(numbers(h.notifications(sub))).toEqual([101, 102, 101, 102, 103]);
  });

  it('a failed backfill releases the held heads and reports the error', async () => {
    const { h, sub, backfills } = await subscribed();
    mineBoth(h, 1);
    h.nodes.a!.cut();
    h.nodes.b!.advance(2);
    const b = h.nodes.b!;
    const original = b.answer.bind(b);
    b.answer = (request) => (request.method === 'eth_blockNumber' ? { jsonrpc: '2.0', id: request.id ?? null, error: { code: -32000, message: 'nope' } } : original(request));
    await h.settle();
    b.advance(1);
    await h.settle();
    expect(numbers(h.notifications(sub))).toEqual([101, 104]);
    expect(backfills[0]).toMatchObject({ subscription: sub, delivered: 0, error: expect.objectContaining({ code: 'ERR_BAD_RESPONSE' }) });
  });
});

describe('logs across a switch', () => {
  it('fetches the missed range with eth_getLogs for the same filter, in order, without duplicates', async () => {
    const h = await sessionHarness();
    const address = '0x00000000000000000000000000000000000000aa';
    h.send(rpc('s', 'eth_subscribe', ['logs', { address }]));
    await h.settle();
    const sub = h.answers('s')[0]!.result as string;
    const both = (fn: (n: FakeNode) => void) => [h.nodes.a!, h.nodes.b!].forEach((n) => fn(n));
    both((n) => n.advance(1).emitLog(address, '0x01')); // block 101: seen from a
    both((n) => n.emitLog('0x00000000000000000000000000000000000000bb')); // another address: not ours
    h.nodes.a!.cut();
    h.nodes.b!.emitLog(address, '0x02'); // 101, missed
    h.nodes.b!.advance(2).emitLog(address, '0x03'); // 103, missed
    await h.settle();
    h.nodes.b!.advance(1).emitLog(address, '0x04'); // 104, live
    await h.settle();
    expect(h.notifications(sub).map((n) => n.params.result.data)).toEqual(['0x01', '0x02', '0x03', '0x04']);
  });
});

describe('backfill after a switch', () => {
  it('reads the new node’s head once for all of a session’s subscriptions', async () => {
    const h = await sessionHarness();
    const address = '0x00000000000000000000000000000000000000aa';
    h.send(rpc(1, 'eth_subscribe', ['newHeads']));
    h.send(rpc(2, 'eth_subscribe', ['newHeads']));
    h.send(rpc(3, 'eth_subscribe', ['logs', { address }]));
    await h.settle();
    mineBoth(h, 1);
    await h.settle();
    const before = h.nodes.b!.calls.get('eth_blockNumber') ?? 0;
    h.nodes.a!.cut();
    h.nodes.b!.advance(2);
    await h.settle();
    expect(h.session.node).toBe('b');
    expect((h.nodes.b!.calls.get('eth_blockNumber') ?? 0) - before).toBe(1);
    const subs = [1, 2].map((id) => h.answers(id)[0]!.result as string);
    for (const sub of subs) expect(numbers(h.notifications(sub))).toEqual([101, 102, 103]);
  });
});

describe('logs across a switch', () => {
  it('a subscribe answered by the socket a switch left: the logs of blocks after it was sent are fetched from the next node (seed 20261319)', async () => {
    const h = await sessionHarness();
    h.pool.update('a', { head: h.nodes.a!.head }); // the head known when the subscribe is sent
    const left = h.sockets.last()!;
    let subscribeId: number | undefined;
    // The node answers nothing more on this socket: its answer to the subscribe comes when the test says.
    left.onSend((text) => {
      const frame = JSON.parse(text) as { id?: number; method?: string };
      if (frame.method === 'eth_subscribe') subscribeId = frame.id;
    });
    h.send(rpc('s', 'eth_subscribe', ['logs', {}]));
    await h.settle();
    h.session.reconnect(); // make-before-break onto a fresh socket
    await h.settle();
    expect(h.sockets.last()).not.toBe(left);
    h.nodes.a!.emitLog(); // a log of the head, which no subscription of the new socket hears of
    const logAt = h.nodes.a!.head;
    h.nodes.a!.advance(1);
    left.receiveJson({ jsonrpc: '2.0', id: subscribeId, result: '0x77' });
    await h.settle();
    const sub = h.answers('s')[0]!.result as string;
    expect(h.notifications(sub).map((n) => Number(n.params.result.blockNumber))).toEqual([logAt]);
  });
});
