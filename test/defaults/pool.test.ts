import { describe, expect, it } from 'vitest';
import { NodePool, UpstreamSession } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';

// NodePool defaults that docs/reference.md states, each used without passing the option and
// checked at its boundary.

describe('NodePool connectLimit defaults to { burst: 100, perSecond: 1_000 }', () => {
  function pool(clock: FakeClock) {
    return new NodePool({ nodes: [{ name: 'a', ws: 'ws://a.test/' }, { name: 'b', ws: 'ws://b.test/' }], clock, httpTransport: new FakeHttpTransport() });
  }

  it('lets 100 connects to one node start at once, then one per millisecond', async () => {
    const clock = new FakeClock();
    const p = pool(clock);
    const started: number[] = [];
    for (let i = 0; i < 150; i++) void p.connectPermit('a').then(() => started.push(clock.now()));
    await clock.flush();
    expect(started).toHaveLength(100);
    expect(started.every((t) => t === 0)).toBe(true);
    await clock.advance(50);
    expect(started.slice(100)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    // Another node has a burst of its own.
    let other = 0;
    for (let i = 0; i < 100; i++) void p.connectPermit('b').then(() => (other += 1));
    await clock.flush();
    expect(other).toBe(100);
    p.close();
  });

  it('a full bucket refills at 1 000 per second: after 10 ms of waiting connects, 10 more may start', async () => {
    const clock = new FakeClock();
    const p = pool(clock);
    for (let i = 0; i < 100; i++) void p.connectPermit('a');
    await clock.flush();
    await clock.advance(10); // nothing waits: the bucket gains 10 connects
    const started: number[] = [];
    for (let i = 0; i < 11; i++) void p.connectPermit('a').then(() => started.push(clock.now()));
    await clock.flush();
    expect(started).toEqual(Array(10).fill(10));
    await clock.advance(1);
    expect(started).toEqual([...Array(10).fill(10), 11]);
    p.close();
  });

  it('101 sessions on one pool: 100 open their socket at once, the 101st 1 ms later', async () => {
    const clock = new FakeClock();
    const sockets = new FakeSocketTransport();
    const node = new FakeNode({ name: 'a' });
    sockets.route('ws://a.test/', node.socket);
    const p = pool(clock);
    p.update('a', { status: 'healthy' });
    const sessions = Array.from({ length: 101 }, () => new UpstreamSession({ pool: p, transport: sockets, clock, random: () => 0.5 }));
    await clock.flush();
    expect(sockets.sockets).toHaveLength(100);
    await clock.advance(1);
    expect(sockets.sockets).toHaveLength(101);
    expect(sessions.every((s) => s.node === 'a')).toBe(true);
    for (const s of sessions) s.close();
    p.close();
  });
});
