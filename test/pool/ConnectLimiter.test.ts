import { describe, expect, it } from 'vitest';
import { NodePool, UpstreamSession } from '../../src/index.js';
import { ConnectLimiter } from '../../src/pool/ConnectLimiter.js';
import { FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';

describe('ConnectLimiter', () => {
  it('lets a burst through at once, then one connect per 1/perSecond', async () => {
    const clock = new FakeClock();
    const limiter = new ConnectLimiter(clock, { burst: 2, perSecond: 10 });
    const started: number[] = [];
    for (let i = 0; i < 5; i++) void limiter.acquire('b').then(() => started.push(clock.now()));
    await clock.advance(1_000);
    expect(started).toEqual([0, 0, 100, 200, 300]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('keeps a bucket per node', async () => {
    const clock = new FakeClock();
    const limiter = new ConnectLimiter(clock, { burst: 1, perSecond: 1 });
    const started: string[] = [];
    for (const node of ['a', 'a', 'b']) void limiter.acquire(node).then(() => started.push(node));
    await clock.flush();
    expect(started).toEqual(['a', 'b']);
    expect(limiter.waiting).toBe(1);
    limiter.close();
    await clock.flush();
    expect(started).toEqual(['a', 'b', 'a']);
  });

  it('validates its options', () => {
    expect(() => new ConnectLimiter(new FakeClock(), { burst: 0 })).toThrow('Expected connectLimit.burst to be an integer >= 1, got 0');
    expect(() => new ConnectLimiter(new FakeClock(), { perSecond: -1 })).toThrow('Expected connectLimit.perSecond to be a finite number > 0, got -1');
  });
});

describe('no thundering herd', () => {
  it('50 sessions losing their node reconnect to the next one at a bounded rate, and all make it', async () => {
    const clock = new FakeClock();
    const sockets = new FakeSocketTransport();
    const a = new FakeNode({ name: 'a' });
    const b = new FakeNode({ name: 'b' });
    sockets.route('ws://a.test/', a.socket);
    sockets.route('ws://b.test/', b.socket);
    const pool = new NodePool({
      nodes: [
        { name: 'a', ws: 'ws://a.test/' },
        { name: 'b', ws: 'ws://b.test/' },
      ],
      clock,
      httpTransport: new FakeHttpTransport(),
      connectLimit: { burst: 10, perSecond: 100 },
    });
    const sessions = Array.from({ length: 50 }, () => new UpstreamSession({ pool, transport: sockets, clock, random: () => 0.5 }));
    await clock.advance(1_000); // 10 at once, then 100/s: all 50 on a after 400 ms
    expect(sessions.every((s) => s.node === 'a')).toBe(true);
    await clock.advance(1_000); // the bucket for a is full again; b's was never touched

    const opened: number[] = [];
    const from = sockets.sockets.length;
    a.cut();
    for (let t = 0; t < 1_000; t += 100) {
      await clock.advance(100);
      opened.push(sockets.sockets.slice(from).filter((s) => s.endpoint.url === 'ws://b.test/').length);
    }
    // 10 at once, then 10 per 100 ms, never all 50 in the first instant.
    expect(opened.slice(0, 5)).toEqual([20, 30, 40, 50, 50]);
    expect(sessions.every((s) => s.node === 'b')).toBe(true);
    for (const s of sessions) s.close();
    pool.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
