import { describe, expect, it } from 'vitest';
import { chainLogs, heldLogs, logKeys, network, rpc } from './network.js';

const A = '0x00000000000000000000000000000000000000aa';
const B = '0x00000000000000000000000000000000000000bb';

/** Every head links to the one the client holds below it; none twice in a row at one height. */
function linked(heads: any[]): string[] {
  const problems: string[] = [];
  const byNumber = new Map<number, string>();
  for (const head of heads) {
    const n = Number(head.number);
    if (byNumber.has(n - 1) && head.parentHash !== byNumber.get(n - 1)) problems.push(`head ${n} does not link`);
    if (byNumber.get(n) === head.hash) problems.push(`head ${n} twice`);
    for (const m of [...byNumber.keys()]) if (m >= n) byNumber.delete(m);
    byNumber.set(n, head.hash);
  }
  return problems;
}

describe('fork at a switch with several subscriptions', () => {
  it('address-filtered logs subs retract and re-send only their own logs; newHeads linked; pending txs untouched', async () => {
    const n = await network();
    const heads = await n.subscribe(['newHeads']);
    const la = await n.subscribe(['logs', { address: A }]);
    const lb = await n.subscribe(['logs', { address: B }]);
    const all = await n.subscribe(['logs', {}]);
    const pending = await n.subscribe(['newPendingTransactions']);
    const { a, b } = n.nodes as any;
    for (let i = 0; i < 6; i++) {
      a.advance(1);
      b.advance(1);
      a.emitLog(i % 2 ? A : B);
    }
    await n.clock.flush();
    b.forkAt(3, 4);
    b.emitLog(A);
    b.notify('newPendingTransactions', '0x' + '11'.repeat(32));
    n.syncPool();
    a.cut();
    await n.clock.flush();
    b.notify('newPendingTransactions', '0x' + '22'.repeat(32));
    b.advance(1);
    b.emitLog(B);
    await n.clock.flush();
    expect(n.session.node).toBe('b');
    expect(n.reorgs).toHaveLength(1);
    expect(heldLogs(n.notes(la))).toEqual(chainLogs(b, A));
    expect(heldLogs(n.notes(lb))).toEqual(chainLogs(b, B));
    expect(heldLogs(n.notes(all))).toEqual(chainLogs(b));
    expect(n.notes(la).every((l) => l.address === A)).toBe(true);
    expect(n.notes(lb).every((l) => l.address === B)).toBe(true);
    expect(linked(n.notes(heads))).toEqual([]);
    expect(n.notes(heads).at(-1).hash).toBe(b.block(b.head).hash);
    expect(n.notes(pending)).toEqual(['0x' + '22'.repeat(32)]);
  });

  it('failback to the first branch: what was retracted is delivered again, exactly once', async () => {
    const n = await network();
    const heads = await n.subscribe(['newHeads']);
    const logs = await n.subscribe(['logs', {}]);
    await n.mine(6);
    const { a, b } = n.nodes as any;
    b.forkAt(2, 3);
    b.emitLog();
    n.syncPool();
    a.cut();
    await n.clock.flush();
    expect(n.session.node).toBe('b');
    a.restore();
    a.advance(3);
    a.emitLog();
    n.pool.update('a', { status: 'healthy', head: a.head });
    n.syncPool();
    await n.clock.advance(3_000);
    expect(n.session.node).toBe('a');
    expect(n.reorgs.map((r) => [r.from, r.to, r.ancestor])).toEqual([
      ['a', 'b', 94],
      ['b', 'a', 94],
    ]);
    expect(heldLogs(n.notes(logs))).toEqual(chainLogs(a));
    const keys = logKeys(n.notes(logs));
    // Each first-branch log of 95, 96 is delivered twice (before and after), removed once.
    for (const k of ['95:00000000:0', '96:00000000:0']) {
      expect(keys.filter((x) => x === k)).toHaveLength(2);
      expect(keys.filter((x) => x === `${k}:removed`)).toHaveLength(1);
    }
    expect(linked(n.notes(heads))).toEqual([]);
    expect(n.notes(heads).at(-1).hash).toBe(a.block(a.head).hash);
  });

  it('unsubscribing during the check: nothing is delivered for it afterwards', async () => {
    const n = await network();
    const logs = await n.subscribe(['logs', {}]);
    const heads = await n.subscribe(['newHeads']);
    await n.mine(5);
    const { a, b } = n.nodes as any;
    b.forkAt(2, 3);
    n.syncPool();
    const answer = b.answer.bind(b);
    b.answer = (request: any) => {
      if (request.method === 'eth_blockNumber') {
        n.session.send(JSON.stringify(rpc('u', 'eth_unsubscribe', [logs])));
      }
      return answer(request);
    };
    const before = n.notes(logs).length;
    a.cut();
    await n.clock.flush();
    b.answer = answer;
    b.advance(1);
    b.emitLog();
    await n.clock.flush();
    expect(n.session.node).toBe('b');
    expect(n.notes(logs).length).toBe(before);
    expect(linked(n.notes(heads))).toEqual([]);
  });

  it('a second switch while the first check is in flight: the client ends on the third node\'s chain, linked, logs consistent', async () => {
    const n = await network({ names: ['a', 'b', 'c'] });
    const heads = await n.subscribe(['newHeads']);
    const logs = await n.subscribe(['logs', {}]);
    await n.mine(5);
    const { a, b, c } = n.nodes as any;
    b.forkAt(2, 3);
    b.emitLog();
    c.forkAt(3, 5);
    c.emitLog();
    n.syncPool();
    const answer = b.answer.bind(b);
    let cutB = false;
    b.answer = (request: any) => {
      const response = answer(request);
      if (!cutB && request.method === 'eth_getBlockByNumber') {
        cutB = true;
        queueMicrotask(() => {
          b.cut();
          n.pool.update('b', { status: 'unhealthy' });
        });
      }
      return response;
    };
    a.cut();
    n.pool.update('a', { status: 'unhealthy' });
    await n.clock.advance(5_000);
    expect(cutB).toBe(true);
    expect(n.session.node).toBe('c');
    expect(heldLogs(n.notes(logs))).toEqual(chainLogs(c));
    expect(linked(n.notes(heads))).toEqual([]);
    expect(n.notes(heads).at(-1).hash).toBe(c.block(c.head).hash);
  });

  it('a subscription made during the check gets the new node\'s stream only, linked', async () => {
    const n = await network();
    await n.subscribe(['newHeads']);
    await n.mine(5);
    const { a, b } = n.nodes as any;
    b.forkAt(2, 3);
    n.syncPool();
    const answer = b.answer.bind(b);
    let sent = false;
    b.answer = (request: any) => {
      if (!sent && request.method === 'eth_getBlockByNumber') {
        sent = true;
        n.session.send(JSON.stringify(rpc('late', 'eth_subscribe', ['newHeads'])));
      }
      return answer(request);
    };
    a.cut();
    await n.clock.flush();
    b.advance(2);
    await n.clock.flush();
    const late = n.received.find((m) => m.id === 'late')?.result;
    expect(typeof late).toBe('string');
    expect(linked(n.notes(late))).toEqual([]);
    expect(n.notes(late).at(-1).hash).toBe(b.block(b.head).hash);
  });
});

describe('retention bounds', () => {
  it.each([
    [63, false],
    [64, true],
    [70, true],
  ])('newHeads only, fork of depth %i with reorgDepth 64: deep=%s, and the client is told', async (depth, deep) => {
    const n = await network({ session: { continuity: { maxBackfillBlocks: 1000 } } });
    const heads = await n.subscribe(['newHeads']);
    await n.mine(120, undefined, 0);
    const { a, b } = n.nodes as any;
    b.forkAt(depth, depth + 1);
    n.syncPool();
    a.cut();
    await n.clock.flush();
    expect(n.reorgs).toHaveLength(1);
    expect(n.reorgs[0].deep).toBe(deep);
    expect(n.session.stats().deepReorgs).toBe(deep ? 1 : 0);
    const got = n.notes(heads);
    if (!deep) expect(linked(got)).toEqual([]);
    expect(got.at(-1).hash).toBe(b.block(b.head).hash);
  });

  it('big logs over the byte budget: retained bytes stay within it; a fork within what is kept is not deep', async () => {
    const n = await network({ session: { continuity: { maxRetainedBytes: 20_000 } } });
    const logs = await n.subscribe(['logs', {}]);
    const big = '0x' + 'ab'.repeat(2_000); // ~8 KB retained each
    const { a, b } = n.nodes as any;
    for (let i = 0; i < 10; i++) {
      a.advance(1);
      b.advance(1);
      a.emitLog(A, big);
    }
    await n.clock.flush();
    expect(n.session.stats().retainedBytes).toBeLessThanOrEqual(20_000);
    b.forkAt(1, 2);
    n.syncPool();
    a.cut();
    await n.clock.flush();
    expect(n.reorgs.map((r) => r.deep)).toEqual([false]);
    expect(heldLogs(n.notes(logs))).toEqual(chainLogs(b));
  });

  it('a fork reaching logs the byte budget pushed out is reported deep', async () => {
    const n = await network({ session: { continuity: { maxRetainedBytes: 20_000 } } });
    await n.subscribe(['logs', {}]);
    const big = '0x' + 'ab'.repeat(2_000);
    const { a, b } = n.nodes as any;
    for (let i = 0; i < 10; i++) {
      a.advance(1);
      b.advance(1);
      a.emitLog(A, big);
    }
    await n.clock.flush();
    b.forkAt(6, 7);
    n.syncPool();
    a.cut();
    await n.clock.flush();
    expect(n.reorgs.map((r) => r.deep)).toEqual([true]);
  });
});

describe('a node\'s own reorg and live heads', () => {
  it.each([true, false])('geth-style reorg (removed logs announced: %s): each old log retracted once, new ones delivered once', async (announce) => {
    const n = await network({ announceRemovedLogs: announce });
    const heads = await n.subscribe(['newHeads']);
    const logs = await n.subscribe(['logs', {}]);
    await n.mine(6);
    const a = n.nodes.a!;
    a.forkAt(3, 4);
    a.emitLog();
    await n.clock.flush();
    const keys = logKeys(n.notes(logs));
    expect(keys.filter((k) => k.endsWith(':removed'))).toEqual(['94:00000000:0:removed', '95:00000000:0:removed', '96:00000000:0:removed']);
    expect(new Set(keys).size).toBe(keys.length);
    expect(heldLogs(n.notes(logs))).toEqual(chainLogs(a));
    expect(linked(n.notes(heads))).toEqual([]);
  });

  it('new node far ahead on the same chain: gap-free backfill, in order, once', async () => {
    const n = await network();
    const heads = await n.subscribe(['newHeads']);
    const logs = await n.subscribe(['logs', {}]);
    await n.mine(3);
    n.nodes.a!.cut();
    await n.mine(100, [n.nodes.b!]);
    await n.clock.flush();
    n.nodes.b!.advance(1);
    await n.clock.flush();
    const numbers = n.notes(heads).map((h) => Number(h.number));
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => 91 + i));
    expect(numbers.at(-1)).toBe(n.nodes.b!.head);
    expect(heldLogs(n.notes(logs))).toEqual(chainLogs(n.nodes.b!));
    expect(new Set(logKeys(n.notes(logs))).size).toBe(n.notes(logs).length);
  });

  it('a lagging backend re-sending an older head (same hash) is dropped; nothing is retracted', async () => {
    const n = await network();
    const heads = await n.subscribe(['newHeads']);
    const logs = await n.subscribe(['logs', {}]);
    await n.mine(5);
    const a = n.nodes.a!;
    a.notify('newHeads', a.block(93));
    a.notify('newHeads', a.block(95));
    await n.clock.flush();
    expect(n.notes(heads).map((h) => Number(h.number))).toEqual([91, 92, 93, 94, 95]);
    expect(n.notes(logs).filter((l) => l.removed)).toEqual([]);
    expect(n.reorgs).toEqual([]);
  });
});
