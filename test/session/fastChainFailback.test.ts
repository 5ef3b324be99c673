import { describe, expect, it } from 'vitest';
import { HealthChecker, NodePool, UpstreamSession } from '../../src/index.js';
import { FakeChain, FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';

// On a chain whose blocks come faster than the health probes (an L2: 250 ms blocks, 1 s probes),
// a probe's head is always some blocks older than the client's view. Compared with the view now,
// a preferred node that keeps up — importing each block a little after the node in use — was
// always "behind", and the session never failed back to it (still on the backup after 300 s).
// It is compared with what the client had been given two polls (2 × consistency.pollMs) before
// the probe read it.

/**
 * Nodes `a` (primary) and `b` (backup) with real probes every second; `b` mines a block every
 * 250 ms and `a` imports each `lagMs` later. The client subscribes to newHeads on `a`.
 */
async function fastChain(lagMs: number) {
  const clock = new FakeClock();
  const chain = new FakeChain({ genesis: 90 });
  const sockets = new FakeSocketTransport();
  const http = new FakeHttpTransport();
  const nodes: Record<string, FakeNode> = {};
  for (const name of ['a', 'b']) {
    nodes[name] = new FakeNode({ name, head: 100, chain, clock });
    sockets.route(`ws://${name}.test/`, nodes[name]!.socket);
    http.route(`http://${name}.test/`, nodes[name]!.http);
  }
  const a = nodes.a!;
  const b = nodes.b!;
  const pool = new NodePool({
    nodes: [
      { name: 'a', ws: 'ws://a.test/', http: 'http://a.test/' },
      { name: 'b', ws: 'ws://b.test/', http: 'http://b.test/', tier: 'backup' },
    ],
    clock,
    httpTransport: http,
  });
  const checker = new HealthChecker(pool, { intervalMs: 1_000 });
  const session = new UpstreamSession({ pool, transport: sockets, clock, random: () => 0.5 });
  const numbers: number[] = [];
  session.on('message', (text) => {
    const frame = JSON.parse(text);
    if (frame.id === 'n' && typeof frame.result === 'string') numbers.push(Number(frame.result));
  });
  let aUp = true;
  const mine = () => {
    const head = b.advance(1).head;
    clock.setTimeout(() => aUp && a.head < head && a.follow(b, head), lagMs);
    clock.setTimeout(mine, 250);
  };
  clock.setTimeout(mine, 380);
  checker.start();
  await clock.advance(3_000);
  session.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_subscribe', params: ['newHeads'] }));
  await clock.advance(3_000);
  expect(session.node).toBe('a');
  a.cut();
  aUp = false;
  await clock.advance(10_000);
  expect(session.node).toBe('b');
  a.restore();
  // Back, as far behind as it keeps: its import delay in blocks.
  a.follow(b, b.head - Math.floor(lagMs / 250));
  aUp = true;
  const close = () => {
    session.close();
    checker.close();
    pool.close();
  };
  /** Advances the clock 50 ms at a time, asking eth_blockNumber each step, until the session is on `node` (at most `ms`); returns when. */
  const until = async (node: string, ms: number) => {
    for (let t = 0; t <= ms; t += 50) {
      if (session.node === node) return t;
      session.send(JSON.stringify({ jsonrpc: '2.0', id: 'n', method: 'eth_blockNumber', params: [] }));
      await clock.advance(50);
    }
    return undefined;
  };
  return { pool, session, until, numbers, close };
}

describe('failback on a chain faster than the probes', () => {
  it('happens within 2 s of the primary being back when it imports each block 200 ms after the backup, and the block number never goes back', async () => {
    const { pool, until, numbers, close } = await fastChain(200);
    const after = await until('a', 2_000);
    expect(pool.preferred()).toBe('a');
    expect(after).toBeDefined();
    expect(after!).toBeLessThanOrEqual(2_000);
    await until('never', 2_000);
    expect(numbers.length).toBeGreaterThan(40);
    expect(numbers.every((n, i) => i === 0 || n >= numbers[i - 1]!)).toBe(true);
    close();
  });

  it('does not happen while the primary imports each block 1 s after the backup (4 blocks behind)', async () => {
    const { until, close } = await fastChain(1_000);
    expect(await until('a', 20_000)).toBeUndefined();
    close();
  });
});
