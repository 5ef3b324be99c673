import { describe, expect, it } from 'vitest';
import { HealthChecker, NodePool, SteadyRpcError, UpstreamSession } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode, FakeSocketTransport } from '../../src/testing/index.js';
import { checkedCluster, status } from '../helpers/checkedCluster.js';

const getBalance = { jsonrpc: '2.0' as const, id: 1, method: 'eth_getBalance', params: ['0x0000000000000000000000000000000000000001', 'latest'] };

/**
 * "A node on another chain is marked unhealthy at once" and is never used; without `chainId`, the
 * expected chain is "the chain most nodes report (ties: preference order)", every node's last
 * reported chain counted, down or not.
 */
describe('the expected chain without chainId: the chain most nodes report', () => {
  it('two of three nodes on chain 1 win over one node on chain 5 listed first', async () => {
    const c = checkedCluster([
      { name: 'wrong', chainId: 5, head: 100 },
      { name: 'a', chainId: 1, head: 100 },
      { name: 'b', chainId: 1, head: 100 },
    ]);
    c.checker.start();
    await c.clock.advance(3_000);
    expect({ wrong: status(c, 'wrong'), a: status(c, 'a'), b: status(c, 'b') }).toEqual({ wrong: 'unhealthy', a: 'healthy', b: 'healthy' });
    expect(c.pool.preferred()).not.toBe('wrong');
    // The verdict is in the records (and snapshots): a, judged 1 against 1 before b answered, is cleared.
    expect(c.pool.snapshot().nodes.map((n) => [n.name, n.chainId, n.wrongChain])).toEqual([
      ['wrong', 5, true],
      ['a', 1, false],
      ['b', 1, false],
    ]);
    expect(c.pool.health('wrong').lastError).toBe('Node "wrong" is on chain 5, expected 1');
    c.checker.close();
  });

  it('a lasting tie goes by preference order: a primary listed after a backup wins it', async () => {
    const c = checkedCluster([
      { name: 'backup', tier: 'backup', chainId: 5, head: 100 },
      { name: 'primary', chainId: 1, head: 100 },
    ]);
    c.checker.start();
    await c.clock.advance(3_000);
    expect(c.pool.snapshot().nodes.map((n) => [n.name, n.wrongChain])).toEqual([
      ['primary', false],
      ['backup', true],
    ]);
    expect(status(c, 'backup')).toBe('unhealthy');
    c.checker.close();
  });

  it('a node on another chain stays refused when the nodes on the right chain go down', async () => {
    const c = checkedCluster([
      { name: 'a', chainId: 1, head: 100 },
      { name: 'b', chainId: 1, head: 100 },
      { name: 'wrong', chainId: 5, head: 100 },
    ]);
    c.checker.start();
    await c.clock.advance(3_000);
    expect(status(c, 'wrong')).toBe('unhealthy');
    expect(c.pool.preferred()).toBe('a');
    c.nodes.a!.setMode('down');
    c.nodes.b!.setMode('down');
    await c.clock.advance(10_000);
    expect(status(c, 'a')).toBe('unhealthy');
    expect(status(c, 'b')).toBe('unhealthy');
    // Their chain still counts: chain 5 is one node against two.
    expect(c.pool.health('a').chainId).toBe(1);
    expect(c.pool.health('wrong')).toMatchObject({ status: 'unhealthy', wrongChain: true });
    expect(c.pool.preferred()).toBeUndefined();
    expect(c.pool.candidates()).toEqual(['a', 'b']);
    expect(c.switches.map((s) => s.to)).not.toContain('wrong');
    // a comes back: its chain is read again, and it is used again.
    c.nodes.a!.setMode('ok');
    await c.clock.advance(3_000);
    expect(c.pool.preferred()).toBe('a');
    c.checker.close();
  });

  it('a node redeployed on the right chain is read again and comes back', async () => {
    const c = checkedCluster([{ name: 'a', chainId: 1 }, { name: 'b', chainId: 1 }, { name: 'c', chainId: 5 }]);
    c.checker.start();
    await c.clock.advance(3_000);
    expect(c.pool.health('c')).toMatchObject({ status: 'unhealthy', wrongChain: true });
    c.nodes.c!.chainId = 1;
    await c.clock.advance(3_000);
    expect(c.pool.health('c')).toMatchObject({ status: 'healthy', wrongChain: false, chainId: 1 });
    c.checker.close();
  });
});

describe('chainId configured: a node on another chain is never used', () => {
  it('request() is not answered by the node on another chain when the right one is down', async () => {
    const c = checkedCluster([{ name: 'a', chainId: 1, head: 100 }, { name: 'wrong', chainId: 5, head: 100 }], { chainId: 1 });
    c.checker.start();
    await c.clock.advance(3_000);
    expect(status(c, 'wrong')).toBe('unhealthy');
    expect(c.pool.health('wrong').lastError).toMatch(/chain 5/);
    c.nodes.a!.setMode('down');
    await c.clock.advance(5_000);
    expect(status(c, 'a')).toBe('unhealthy');
    // Balance differs per node (a: 1 wei, wrong: 2 wei): chain 5's state must never be served.
    const requested = c.pool.request(getBalance).catch((error: unknown) => error);
    await c.clock.advance(500); // a is asked three times, 250 ms apart (http.retryDelayMs)
    const answer = await requested;
    expect(answer).not.toMatchObject({ result: '0x2' });
    expect(answer).toBeInstanceOf(SteadyRpcError);
    c.checker.close();
  });

  it('candidates() never lists a node known to be on another chain, even with no node usable', async () => {
    const c = checkedCluster([{ name: 'a', chainId: 1, head: 100 }, { name: 'wrong', chainId: 5, head: 100 }], { chainId: 1 });
    c.checker.start();
    await c.clock.advance(3_000);
    c.nodes.a!.setMode('down');
    await c.clock.advance(5_000);
    expect(c.pool.usable()).toEqual([]);
    expect(c.pool.candidates()).toEqual(['a']);
    c.checker.close();
  });

  it('before any verdict every node is a candidate (trying beats failing without a try)', () => {
    const c = checkedCluster([{ name: 'a', chainId: 1 }, { name: 'wrong', chainId: 5 }], { chainId: 1 });
    expect(c.pool.candidates()).toEqual(['a', 'wrong']);
    expect(c.pool.health('wrong').wrongChain).toBe(false);
  });
});

describe('chainId configured: a session never moves to a node on another chain', () => {
  it('when the only node on chain 1 fails, the session does not open the node on chain 5', async () => {
    const clock = new FakeClock();
    const sockets = new FakeSocketTransport();
    const a = new FakeNode({ name: 'a', chainId: 1, head: 100 });
    const wrong = new FakeNode({ name: 'wrong', chainId: 5, head: 100 });
    wrong.reorg(); // its own block hashes, as another network's would be
    sockets.route('ws://a.test/', a.socket);
    sockets.route('ws://wrong.test/', wrong.socket);
    const pool = new NodePool({
      nodes: [
        { name: 'a', ws: 'ws://a.test/' },
        { name: 'wrong', ws: 'ws://wrong.test/', tier: 'backup' },
      ],
      clock,
      httpTransport: new FakeHttpTransport(),
    });
    const checker = new HealthChecker(pool, { chainId: 1, socketTransport: sockets });
    checker.start();
    await clock.advance(3_000);
    expect(pool.health('wrong').status).toBe('unhealthy');
    const session = new UpstreamSession({ pool, transport: sockets, clock, random: () => 0.5 });
    await clock.advance(100);
    expect(session.node).toBe('a');
    a.cut(); // refuses every socket from now on
    await clock.advance(30_000);
    expect(session.node).not.toBe('wrong');
    expect(sockets.sockets.filter((s) => s.endpoint.url === 'ws://wrong.test/').every((s) => s.state === 'closed')).toBe(true);
    await session.close();
    checker.close();
    pool.close();
  });
});
