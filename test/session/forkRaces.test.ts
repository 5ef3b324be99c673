import { describe, expect, it } from 'vitest';
import type { JsonRpcRequest } from '../../src/index.js';
import { FakeChain, fakeBlockHash, type FakeNode } from '../../src/testing/index.js';
import { rpc, sessionHarness, subscribeNewHeads } from '../helpers/session.js';

// Found by the model-based property test (test/session/session.property.test.ts), kept as plain
// regression tests.

/**
 * a (preferred) and b share a chain; a session on a subscribed to newHeads, and both nodes have
 * mined 101–103 (the client has them from a). `heads`: what the client gets.
 */
async function subscribedOnA() {
  const h = await sessionHarness({ chain: new FakeChain({ genesis: 100 }) });
  await subscribeNewHeads(h);
  const a = h.nodes.a!;
  const b = h.nodes.b!;
  a.advance(3);
  b.advance(3);
  const heads = (): Array<{ number: string; hash: string; parentHash: string }> => h.notifications().map((m) => m.params.result);
  return { clock: h.clock, a, b, pool: h.pool, session: h.session, heads };
}

/**
 * The client has 101–103 from a; b forked its last block (103'); a is cut. While the session checks
 * b's chain, b moves again (`during`), right after answering for block 102.
 */
async function switchWhileTheNodeMoves(during: (a: FakeNode, b: FakeNode) => void) {
  const { clock, a, b, pool, session, heads } = await subscribedOnA();
  b.forkAt(1);
  const answer = b.answer.bind(b);
  b.answer = (request: JsonRpcRequest) => {
    const response = answer(request);
    if (request.method === 'eth_getBlockByNumber' && (request.params as string[])[0] === '0x66') queueMicrotask(() => during(a, b));
    return response;
  };
  a.cut();
  await clock.advance(1_000);
  session.close();
  pool.close();
  return heads();
}

/** Every head links to the one the client holds below it; none is delivered twice in a row. */
function expectLinked(heads: ReadonlyArray<{ number: string; hash: string; parentHash: string }>) {
  const byNumber = new Map<number, string>();
  for (const head of heads) {
    const n = Number(head.number);
    if (byNumber.has(n - 1)) expect(head.parentHash, `head ${n}`).toBe(byNumber.get(n - 1));
    expect(byNumber.get(n), `head ${n} twice`).not.toBe(head.hash);
    for (const m of [...byNumber.keys()]) if (m >= n) byNumber.delete(m);
    byNumber.set(n, head.hash);
  }
}

describe('a node whose chain moves during the check after a switch (invariant 11)', () => {
  it('it goes back to the first branch: the client does not get the head it holds again', async () => {
    const heads = await switchWhileTheNodeMoves((a, b) => b.follow(a));
    expectLinked(heads);
  });

  it('it reorgs deeper: every head the client gets links to the one below it', async () => {
    const heads = await switchWhileTheNodeMoves((_a, b) => b.forkAt(2));
    expectLinked(heads);
    expect(heads.length).toBeGreaterThan(3);
  });

  it('it mines on the branch the check found, then leaves it: neither what it mined there nor a gap reaches the client', async () => {
    // The check finds the fork at 102 (b has 103'); b then mines 104' on 103' (held), and reorgs
    // from 101, so the 103 it is asked for is already of the new branch. 104' links to a 103' the
    // client never got: it must not be delivered; the new branch from 102 must.
    let moved = false;
    const heads = await switchWhileTheNodeMoves((_a, b) => {
      if (moved) return;
      moved = true;
      b.advance(1);
      b.forkAt(3);
    });
    expectLinked(heads);
    expect(heads.map((h) => Number(h.number)).slice(-3)).toEqual([102, 103, 104]);
    expect(heads.some((h) => h.parentHash === fakeBlockHash(103, 1))).toBe(false);
  });
});

describe('close() while a read waits for the node head (invariant 1)', () => {
  it('close() answers a read whose node head is being checked', async () => {
    const h = await sessionHarness();
    h.nodes.a!.advance(1); // a at 101; the pool still thinks both are at 100
    h.send(rpc(1, 'eth_blockNumber'));
    await h.settle(); // the client has seen 101
    h.nodes.a!.cut();
    await h.settle(); // the session moves to b (at 100)
    h.send(rpc(7, 'eth_getBalance', ['0x0000000000000000000000000000000000000001', 'latest']));
    const b = h.sockets.sockets.at(-1)!;
    // b answers at once; the gate then asks b for its head before it lets the answer through
    for (let n = 0; n < 100 && !b.sent.some((t) => t.includes('eth_blockNumber')); n++) await Promise.resolve();
    expect(b.sent.some((t) => t.includes('eth_blockNumber'))).toBe(true);
    h.session.close();
    await h.clock.runAll();
    expect(h.answers(7)).toHaveLength(1);
    expect(h.clock.pendingTimers).toBe(0);
  });
});

describe('a switch back while the check of the node the session moved to is still running (invariant 11)', () => {
  it('what that node sent during its check (a head of its own branch) is dropped, not delivered after the switch back', async () => {
    // The client has 101–103 from a. a goes unknown: the session moves to b, which forks its last
    // block as the session checks its chain (103' is sent live, and held). While b's chain is
    // walked back, a is healthy again and the session moves back to it: 103' must not follow.
    const { clock, b, pool, session, heads } = await subscribedOnA();
    await clock.flush();
    const answer = b.answer.bind(b);
    let forked = false;
    let back = false;
    b.answer = (request: JsonRpcRequest) => {
      const response = answer(request);
      if (!forked && request.method === 'eth_blockNumber') {
        forked = true;
        queueMicrotask(() => b.forkAt(1));
      }
      if (forked && !back && request.method === 'eth_getBlockByNumber' && (request.params as string[])[0] === '0x66') {
        back = true;
        queueMicrotask(() => pool.update('a', { status: 'healthy', head: 103 }));
      }
      return response;
    };
    pool.update('a', { status: 'unknown' });
    await clock.advance(10_000);
    session.close();
    pool.close();
    expect(back).toBe(true);
    expectLinked(heads());
    expect(heads().map((head) => head.hash)).not.toContain(fakeBlockHash(103, 1));
    expect(heads().at(-1)?.hash).toBe(fakeBlockHash(103, 0));
  });
});
