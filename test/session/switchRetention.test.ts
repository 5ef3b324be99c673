/**
 * Memory over time (the seeds' "no memory leaks" over long sessions): a session that switches
 * back and forth thousands of times, with subscriptions delivering and calls answered in between,
 * keeps what its bounded caches hold and nothing more. Heap after GC, measured once the caches are
 * full (256 heads), against 3,000 more switches: a leak of a few hundred bytes a switch shows
 * (what stays is compiled code, about 0.4 MB). It found the test kit's FakeNode keeping every
 * socket it had ever accepted, with the session's link behind it (2 KB a switch).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { rpc, sessionHarness } from '../helpers/session.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('a long session', () => {
  it('switching thousands of times keeps no memory beyond its bounded caches', { timeout: 60_000 }, async () => {
    const h = await sessionHarness();
    h.send(rpc('heads', 'eth_subscribe', ['newHeads']));
    h.send(rpc('logs', 'eth_subscribe', ['logs', {}]));
    await h.settle();
    const a = h.nodes.a!;
    const b = h.nodes.b!;
    let calls = 0;
    /** One block and one log on a, over to b; one block and one log on b, back to a; a call each time. */
    const round = async () => {
      a.advance(1).emitLog();
      b.advance(1);
      h.pool.update('a', { status: 'unhealthy' });
      await h.clock.advance(10);
      h.send(rpc(calls++, 'eth_blockNumber'));
      b.advance(1).emitLog();
      a.advance(1);
      h.pool.update('b', { head: b.head });
      h.pool.update('a', { status: 'healthy', head: a.head });
      await h.clock.advance(10);
      h.send(rpc(calls++, 'eth_blockNumber'));
      await h.clock.advance(10);
      // What the fakes record (every socket and what was sent on it, every log emitted) and what
      // the client got are the test's memory, not the session's.
      h.received.length = 0;
      const { sockets } = h.sockets;
      for (let i = sockets.length - 1; i >= 0; i--) if (sockets[i]!.state === 'closed') sockets.splice(i, 1);
      for (const socket of sockets) socket.sent.length = 0;
      a.logs.length = 0;
      b.logs.length = 0;
    };
    for (let i = 0; i < 400; i++) await round();
    const switchesBefore = h.session.stats().switches;
    const before = heapAfterGc();
    for (let i = 0; i < 1_500; i++) await round();
    const grown = heapAfterGc() - before;
    const stats = h.session.stats();
    console.log(`${stats.switches - switchesBefore} switches: heap ${grown >= 0 ? '+' : ''}${(grown / 1024).toFixed(0)} KB; stats ${JSON.stringify({ inFlight: stats.inFlight, owed: stats.owed, queued: stats.queued, retainedBytes: stats.retainedBytes, reorgs: stats.reorgs, heads: a.head })}`);
    expect(stats.switches - switchesBefore).toBe(3_000);
    expect(stats.owed).toBe(0);
    expect(grown).toBeLessThan(1_000_000);
    h.session.close();
    expect(h.clock.pendingTimers).toBe(0);
  });
});
