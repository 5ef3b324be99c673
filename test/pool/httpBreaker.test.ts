import { describe, expect, it } from 'vitest';
import { HealthChecker, NodePool, RpcErrorCode, SteadyRpcError, type CircuitEvent, type NodePoolOptions } from '../../src/index.js';
import { FakeSocketTransport } from '../../src/testing/index.js';
import { fakeCluster } from '../helpers/pool.js';

const read = (id: number) => ({ jsonrpc: '2.0' as const, id, method: 'eth_getBalance', params: ['0x0', 'latest'] });
const allHealthy = (pool: NodePool) => pool.nodes.forEach((n) => pool.update(n.name, { status: 'healthy', head: 100 }));

/** Nodes a and b (a preferred), with the events of the circuit breakers. */
function cluster(options: Partial<NodePoolOptions> = {}) {
  const rig = fakeCluster([{ name: 'a' }, { name: 'b' }], options);
  const circuits: CircuitEvent[] = [];
  rig.pool.on('circuit', (event) => circuits.push(event));
  return { ...rig, circuits };
}

type Cluster = ReturnType<typeof cluster>;

/** Sends one read and lets time run until it is answered; how long it took, and who answered. */
async function timed({ clock, pool }: Pick<Cluster, 'clock' | 'pool'>, id: number): Promise<{ ms: number; result: unknown }> {
  const started = clock.now();
  let settled: { result: unknown } | undefined;
  void pool.request(read(id)).then(
    (answer) => (settled = { result: (answer as { result?: unknown }).result }),
    (error: unknown) => (settled = { result: error }),
  );
  await clock.advance(0);
  while (!settled) await clock.advance(100);
  return { ms: clock.now() - started, ...settled };
}

describe('passive health: a circuit breaker per node', () => {
  it('with the defaults, after a node is blackholed right after a good probe, at most 3 requests pay the attempt timeout before traffic moves', async () => {
    // The case: probes every 15 s; the node stalls right after a good one.
    const rig = cluster();
    const { clock, pool, nodes, circuits } = rig;
    const checker = new HealthChecker(pool, { intervalMs: 15_000, socketTransport: new FakeSocketTransport() });
    checker.start();
    await clock.advance(15_000); // two good rounds: both nodes healthy
    expect(pool.usable()).toEqual(['a', 'b']);
    nodes.a!.setMode('stall');
    const requests: { ms: number; result: unknown }[] = [];
    for (let i = 0; i < 20; i++) {
      requests.push(await timed(rig, i));
      await clock.advance(1_000); // sequential, a second apart
    }
    expect(requests.every((r) => r.result === '0x2')).toBe(true);
    const paid = requests.filter((r) => r.ms >= 10_000);
    expect(paid).toHaveLength(3);
    expect(requests.slice(0, 3).every((r) => r.ms === 10_000)).toBe(true);
    // Opened by the third timeout, at 47 s; the probes marked a down later (at 65 s), so it was
    // never tried again: 3 of 20 requests paid, where 5 did before (next test).
    expect(circuits).toEqual([{ name: 'a', from: 'closed', to: 'open', openUntil: 47_000 + 30_000 }]);
    expect(pool.snapshot().nodes.find((n) => n.name === 'a')).toMatchObject({ status: 'unhealthy', circuit: 'open', circuitOpenUntil: 77_000 });
    checker.close();
  });

  it('without it (breaker: false), every request pays until the probes mark the node down: 5 of 20 at a 15 s probe interval', async () => {
    const rig = cluster({ breaker: false });
    const checker = new HealthChecker(rig.pool, { intervalMs: 15_000, socketTransport: new FakeSocketTransport() });
    checker.start();
    await rig.clock.advance(15_000);
    rig.nodes.a!.setMode('stall');
    const requests: { ms: number }[] = [];
    for (let i = 0; i < 20; i++) {
      requests.push(await timed(rig, i));
      await rig.clock.advance(1_000);
    }
    expect(requests.filter((r) => r.ms >= 10_000)).toHaveLength(5);
    checker.close();
  });

  it('half-open after openMs: one trial request; its answer closes the circuit and traffic comes back', async () => {
    const rig = cluster({ breaker: { failures: 2, openMs: 5_000 }, http: { attemptTimeoutMs: 1_000 } });
    const { clock, pool, nodes, circuits, http } = rig;
    allHealthy(pool);
    nodes.a!.setMode('stall');
    await timed(rig, 1);
    await timed(rig, 2);
    expect(circuits.map((c) => c.to)).toEqual(['open']);
    expect(pool.candidates()).toEqual(['b', 'a']);
    // Only new requests move: the node stays healthy and preferred (the probes own that).
    expect(pool.preferred()).toBe('a');
    expect(pool.health('a').status).toBe('healthy');
    nodes.a!.setMode('ok');
    const before = http.requests.length;
    await expect(pool.request(read(3))).resolves.toMatchObject({ result: '0x2' });
    expect(http.requests.slice(before).map((r) => r.url)).toEqual(['http://b.test/']);
    await clock.advance(5_000 - (clock.now() - 2_000));
    expect(pool.snapshot().nodes[0]!.circuit).toBe('half-open');
    await expect(pool.request(read(4))).resolves.toMatchObject({ result: '0x1' });
    expect(circuits.map((c) => c.to)).toEqual(['open', 'half-open', 'closed']);
    expect(pool.snapshot().nodes[0]!.circuit).toBe('closed');
  });

  it('half-open lets only one request through while its trial is under way; a failed trial opens it for twice as long', async () => {
    const rig = cluster({ breaker: { failures: 1, openMs: 2_000 }, http: { attemptTimeoutMs: 1_000 } });
    const { clock, pool, nodes, circuits, http } = rig;
    allHealthy(pool);
    nodes.a!.setMode('stall');
    await timed(rig, 1);
    await clock.advance(2_000);
    const before = http.requests.length;
    const trial = pool.request(read(2));
    const others = [pool.request(read(3)), pool.request(read(4))];
    await clock.advance(0);
    expect(http.requests.slice(before).map((r) => r.url)).toEqual(['http://a.test/', 'http://b.test/', 'http://b.test/']);
    await clock.advance(1_000);
    await Promise.all([trial, ...others]);
    expect(circuits.at(-1)).toMatchObject({ to: 'open', openUntil: clock.now() + 4_000 });
  });

  it('a write that is the half-open trial and times out: NOT_RESENT from that node alone, its circuit open twice as long', async () => {
    const rig = cluster({ breaker: { failures: 1, openMs: 5_000 }, http: { attemptTimeoutMs: 1_000 } });
    const { clock, pool, nodes, http } = rig;
    allHealthy(pool);
    nodes.a!.setMode('stall');
    await timed(rig, 1); // a fails once: open
    await clock.advance(5_000); // half-open
    const before = http.requests.length;
    let answer: unknown;
    void pool.request({ jsonrpc: '2.0', id: 2, method: 'eth_sendTransaction', params: [{}] }).then((a) => (answer = a));
    await clock.advance(1_000);
    expect(answer).toMatchObject({ id: 2, error: { code: RpcErrorCode.NOT_RESENT, data: { node: 'a', reason: 'timeout' } } });
    expect(http.requests.slice(before).map((r) => r.url)).toEqual(['http://a.test/']);
    expect(pool.health('a').circuitOpenUntil).toBe(clock.now() + 10_000);
  });

  it('the probes bringing the node back (down, then healthy) close its circuit', async () => {
    const rig = cluster({ breaker: { failures: 1 }, http: { attemptTimeoutMs: 1_000 } });
    const { pool, nodes, circuits } = rig;
    allHealthy(pool);
    nodes.a!.setMode('stall');
    await timed(rig, 1);
    pool.update('a', { status: 'unhealthy' });
    expect(circuits.map((c) => c.to)).toEqual(['open']);
    pool.update('a', { status: 'healthy' });
    expect(circuits.map((c) => c.to)).toEqual(['open', 'closed']);
    expect(pool.available('a')).toBe(true);
  });

  it('an answer of any kind counts for the node: a JSON-RPC error, a 4xx with one; a 5xx counts against it', async () => {
    const rig = cluster({ breaker: { failures: 2 } });
    const { pool, nodes, circuits } = rig;
    allHealthy(pool);
    nodes.a!.setMode('rpc-error');
    for (let i = 0; i < 5; i++) await pool.request(read(i));
    expect(circuits).toEqual([]);
    nodes.a!.setMode('http-error');
    await pool.request(read(6));
    await pool.request(read(7));
    expect(circuits.map((c) => c.to)).toEqual(['open']);
  });

  it('a breaker moves traffic, it does not turn it away: with every circuit open, the first node is tried all the same', async () => {
    const rig = cluster({ breaker: { failures: 1 }, http: { attemptTimeoutMs: 1_000 } });
    const { pool, nodes } = rig;
    allHealthy(pool);
    nodes.a!.setMode('stall');
    nodes.b!.setMode('stall');
    const first = await timed(rig, 1);
    expect(first.result).toBeInstanceOf(SteadyRpcError);
    // a's timeout, b's, the pause before asking again (http.retryDelayMs), a's again (its circuit
    // open, it is the best node held only by it): 3,250 ms, seen at the next 100 ms step.
    expect(first.ms).toBe(3_300);
    expect(pool.snapshot().nodes.map((n) => n.circuit)).toEqual(['open', 'open']);
    nodes.a!.setMode('ok');
    // One attempt, on the best node, instead of none.
    await expect(pool.request(read(2))).resolves.toMatchObject({ result: '0x1' });
    expect(pool.snapshot().nodes.map((n) => n.circuit)).toEqual(['closed', 'open']);
  });

  it('with every circuit open and attempts left, the first node held only by its circuit is tried, then the next', async () => {
    const rig = fakeCluster([{ name: 'a' }, { name: 'b' }, { name: 'c' }], { breaker: { failures: 1 }, http: { attemptTimeoutMs: 1_000, maxAttempts: 5, retryDelayMs: 0 } });
    const { clock, pool, nodes, http } = rig;
    allHealthy(pool);
    for (const node of Object.values(nodes)) node!.setMode('stall');
    await timed(rig, 1); // a, b and c each time out once: every circuit open
    expect(pool.snapshot().nodes.map((n) => n.circuit)).toEqual(['open', 'open', 'open']);
    nodes.b!.setMode('ok');
    const before = http.requests.length;
    let answer: unknown;
    void pool.request(read(2)).then((a) => (answer = a));
    await clock.advance(1_000);
    expect(answer).toMatchObject({ result: '0x2' });
    expect(http.requests.slice(before).map((r) => r.url)).toEqual(['http://a.test/', 'http://b.test/']);
  });

  it('a caller that gives up leaves no verdict and frees the trial', async () => {
    const rig = cluster({ breaker: { failures: 1, openMs: 1_000 }, http: { attemptTimeoutMs: 1_000 } });
    const { clock, pool, nodes, circuits } = rig;
    allHealthy(pool);
    nodes.a!.setMode('stall');
    await timed(rig, 1);
    await clock.advance(1_000);
    const controller = new AbortController();
    const trial = pool.request(read(2), { signal: controller.signal });
    await clock.advance(0);
    controller.abort(new Error('gave up'));
    await expect(trial).rejects.toThrow('gave up');
    expect(circuits.map((c) => c.to)).toEqual(['open', 'half-open']);
    nodes.a!.setMode('ok');
    await expect(pool.request(read(3))).resolves.toMatchObject({ result: '0x1' });
    expect(circuits.map((c) => c.to)).toEqual(['open', 'half-open', 'closed']);
  });

  it('validates its options', () => {
    expect(() => new NodePool({ nodes: [{ name: 'a', http: 'http://a/' }], breaker: { failures: 0 } })).toThrow('Expected breaker.failures to be an integer >= 1, got 0');
    expect(() => new NodePool({ nodes: [{ name: 'a', http: 'http://a/' }], classifyError: 'x' as never })).toThrow('Expected classifyError to be a function, got string');
  });
});
