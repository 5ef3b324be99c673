import { describe, expect, it } from 'vitest';
import { Metrics, NodePool, SteadyRpcError, type HedgeEvent, type HedgeOptions, type JsonRpcRequest } from '../../src/index.js';
import { HEDGED_METHODS } from '../../src/pool/HedgePolicy.js';
import { FakeClock, FakeHttpTransport } from '../../src/testing/index.js';

const read = (id: number, method = 'eth_getBalance') => ({ jsonrpc: '2.0' as const, id, method, params: ['0x0', 'latest'] });

interface Seen {
  readonly node: string;
  readonly at: number;
  readonly method: string;
  /** When its signal aborted, and why. */
  abortedAt?: number;
  reason?: unknown;
}

/**
 * Nodes on a fake clock, each answering every request after `latency[name]` ms (changeable) with
 * its name as the result (or with `errors[name]`), and rejecting at once when the attempt's signal
 * aborts, as fetch does.
 */
function rig(
  names: string[],
  hedge: HedgeOptions | false | undefined,
  latency: Record<string, number>,
  options: Partial<ConstructorParameters<typeof NodePool>[0]> = {},
  errors: Record<string, { code: number; message: string }> = {},
) {
  const clock = new FakeClock();
  const seen: Seen[] = [];
  const http = new FakeHttpTransport();
  for (const node of names) {
    http.route(`http://${node}.test/`, (body, signal) => {
      const request = JSON.parse(body) as JsonRpcRequest | JsonRpcRequest[];
      const first = Array.isArray(request) ? request[0]! : request;
      const entry: Seen = { node, at: clock.now(), method: first.method };
      seen.push(entry);
      return new Promise((resolve, reject) => {
        const timer = clock.setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          const answer = (r: JsonRpcRequest) => ({ jsonrpc: '2.0', id: r.id, ...(errors[node] ? { error: errors[node] } : { result: node }) });
          resolve({ status: 200, body: JSON.stringify(Array.isArray(request) ? request.map(answer) : answer(request)) });
        }, latency[node]!);
        const onAbort = () => {
          clock.clearTimeout(timer);
          entry.abortedAt = clock.now();
          entry.reason = signal.reason;
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
      });
    });
  }
  const pool = new NodePool({
    nodes: names.map((name) => ({ name, http: `http://${name}.test/` })),
    clock,
    httpTransport: http,
    consistency: { monotonic: false },
    ...(hedge === undefined ? {} : { hedge }),
    ...options,
  });
  for (const name of names) pool.update(name, { status: 'healthy', head: 100 });
  const hedges: HedgeEvent[] = [];
  pool.on('hedged', (event) => hedges.push(event));
  /** Sends a request and runs the clock until it is answered; returns the answer and when. */
  const timed = async (payload: JsonRpcRequest | JsonRpcRequest[]) => {
    let done: { at: number; answer: unknown } | undefined;
    void pool.request(payload as JsonRpcRequest).then((answer) => (done = { at: clock.now(), answer }));
    for (let i = 0; i < 10_000 && done === undefined; i++) await clock.advance(1);
    return done!;
  };
  return { clock, pool, seen, hedges, timed };
}

describe('hedging is off by default', () => {
  it('a slow read waits for its node alone', async () => {
    const { seen, hedges, timed } = rig(['a', 'b'], undefined, { a: 500, b: 10 });
    const done = await timed(read(1));
    expect(done).toEqual({ at: 500, answer: { jsonrpc: '2.0', id: 1, result: 'a' } });
    expect(seen.map((s) => s.node)).toEqual(['a']);
    expect(hedges).toEqual([]);
  });

  it('hedge: false is off too', async () => {
    const { seen, timed } = rig(['a', 'b'], false, { a: 500, b: 10 });
    await timed(read(1));
    expect(seen.map((s) => s.node)).toEqual(['a']);
  });
});

describe('a read still unanswered after delayMs also goes to the next node; the first answer wins', () => {
  it('the hedge answers first: its answer is used and the slow attempt is aborted through its signal', async () => {
    const { clock, pool, seen, hedges, timed } = rig(['a', 'b'], { delayMs: 100 }, { a: 500, b: 30 });
    const metrics = new Metrics();
    metrics.trackPool(pool);
    const done = await timed(read(1));
    expect(done).toEqual({ at: 130, answer: { jsonrpc: '2.0', id: 1, result: 'b' } });
    expect(seen.map((s) => [s.node, s.at, s.abortedAt])).toEqual([
      ['a', 0, 130],
      ['b', 100, undefined],
    ]);
    expect(seen[0]!.reason).toBeInstanceOf(SteadyRpcError);
    expect((seen[0]!.reason as SteadyRpcError).code).toBe('ERR_ABORTED');
    expect(hedges).toEqual([{ name: 'b', primary: 'a', won: true }]);
    expect(metrics.render()).toContain('steadyrpc_http_hedges_total{node="b",outcome="won"} 1');
    // Aborting a loser is no failure of it: its circuit stays closed.
    expect(pool.snapshot().nodes.map((n) => n.circuit)).toEqual(['closed', 'closed']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('the first node answers after the hedge went out: its answer wins and the hedge is aborted', async () => {
    const { pool, seen, hedges, timed } = rig(['a', 'b'], { delayMs: 100 }, { a: 120, b: 500 });
    const metrics = new Metrics();
    metrics.trackPool(pool);
    const done = await timed(read(1));
    expect(done).toEqual({ at: 120, answer: { jsonrpc: '2.0', id: 1, result: 'a' } });
    expect(seen.map((s) => [s.node, s.at, s.abortedAt])).toEqual([
      ['a', 0, undefined],
      ['b', 100, 120],
    ]);
    expect(hedges).toEqual([{ name: 'b', primary: 'a', won: false }]);
    expect(metrics.render()).toContain('steadyrpc_http_hedges_total{node="b",outcome="lost"} 1');
  });

  it('an answer within delayMs sends no hedge and leaves no timer', async () => {
    const { clock, seen, hedges, timed } = rig(['a', 'b'], { delayMs: 100 }, { a: 99, b: 10 });
    const done = await timed(read(1));
    expect(done.at).toBe(99);
    expect(seen.map((s) => s.node)).toEqual(['a']);
    expect(hedges).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('batches of reads are hedged as one', async () => {
    const { seen, timed } = rig(['a', 'b'], { delayMs: 50 }, { a: 500, b: 10 });
    const done = await timed([read(1), read(2, 'eth_blockNumber')]);
    expect(done.answer).toEqual([
      { jsonrpc: '2.0', id: 1, result: 'b' },
      { jsonrpc: '2.0', id: 2, result: 'b' },
    ]);
    expect(seen.map((s) => [s.node, s.at])).toEqual([
      ['a', 0],
      ['b', 50],
    ]);
  });

  it('maxExtra: 2 sends a third copy after another delay; the others are aborted', async () => {
    const { seen, hedges, timed } = rig(['a', 'b', 'c'], { delayMs: 100, maxExtra: 2 }, { a: 1_000, b: 1_000, c: 10 });
    const done = await timed(read(1));
    expect(done).toEqual({ at: 210, answer: { jsonrpc: '2.0', id: 1, result: 'c' } });
    expect(seen.map((s) => [s.node, s.at, s.abortedAt])).toEqual([
      ['a', 0, 210],
      ['b', 100, 210],
      ['c', 200, undefined],
    ]);
    expect(hedges).toEqual([
      { name: 'b', primary: 'a', won: false },
      { name: 'c', primary: 'a', won: true },
    ]);
  });

  it('with the defaults (hedge: {}): one copy, after 100 ms', async () => {
    const { seen, hedges, timed } = rig(['a', 'b', 'c'], {}, { a: 1_000, b: 1_000, c: 10 });
    const done = await timed(read(1));
    expect(done).toEqual({ at: 1_000, answer: { jsonrpc: '2.0', id: 1, result: 'a' } });
    expect(seen.map((s) => [s.node, s.at, s.abortedAt])).toEqual([
      ['a', 0, undefined],
      ['b', 100, 1_000],
    ]);
    expect(hedges).toEqual([{ name: 'b', primary: 'a', won: false }]);
  });

  it('a hedge never goes to a node whose circuit is open, even the only other one', async () => {
    const latency = { a: 10, b: 10 };
    const { pool, seen, hedges, timed } = rig(['a', 'b'], { delayMs: 100 }, latency, { breaker: { failures: 1 }, http: { attemptTimeoutMs: 200 } });
    // b, the only healthy node a moment, times out once: its circuit opens (a answers the read).
    pool.update('a', { status: 'unhealthy' });
    latency.b = 5_000;
    await timed(read(1));
    expect(pool.snapshot().nodes.find((n) => n.name === 'b')!.circuit).toBe('open');
    pool.update('a', { status: 'healthy' });
    latency.a = 150;
    latency.b = 10;
    const start = seen.length;
    const done = await timed(read(2));
    // No copy: a answers in its own time.
    expect(done.answer).toMatchObject({ result: 'a' });
    expect(seen.slice(start).map((s) => s.node)).toEqual(['a']);
    expect(hedges).toEqual([]);
  });

  it('copies stay within http.maxAttempts', async () => {
    const { seen, timed } = rig(['a', 'b', 'c'], { delayMs: 100, maxExtra: 2 }, { a: 1_000, b: 1_000, c: 10 }, { http: { maxAttempts: 2 } });
    const done = await timed(read(1));
    expect(done.at).toBe(1_000);
    expect(seen.map((s) => s.node)).toEqual(['a', 'b']);
  });

  it('a hedge goes only to a node that takes requests (not one cooling down after a rate limit)', async () => {
    const { pool, seen, timed } = rig(['a', 'b', 'c'], { delayMs: 100 }, { a: 500, b: 10, c: 10 });
    pool.coolDown('b', 10_000);
    const done = await timed(read(1));
    expect(done.answer).toMatchObject({ result: 'c' });
    expect(seen.map((s) => [s.node, s.at])).toEqual([
      ['a', 0],
      ['c', 100],
    ]);
  });

  it('a failed first attempt fails over at once, as without hedging', async () => {
    const { pool, seen, hedges, timed } = rig(['a', 'b'], { delayMs: 100 }, { a: 10, b: 10 });
    // a refuses the connection: b is asked at once, and that is no hedge.
    (pool.httpTransport as FakeHttpTransport).fail('http://a.test/', 'refuse');
    const done = await timed(read(1));
    expect(done).toEqual({ at: 10, answer: { jsonrpc: '2.0', id: 1, result: 'b' } });
    expect(seen.map((s) => [s.node, s.at])).toEqual([['b', 0]]);
    expect(hedges).toEqual([]);
  });

  it('the first node answering "not this node" after the hedge went out: the hedge answers', async () => {
    const { hedges, timed } = rig(['a', 'b'], { delayMs: 100 }, { a: 150, b: 200 }, {}, { a: { code: -32000, message: 'header not found' } });
    const done = await timed(read(1));
    expect(done).toEqual({ at: 300, answer: { jsonrpc: '2.0', id: 1, result: 'b' } });
    expect(hedges).toEqual([{ name: 'b', primary: 'a', won: true }]);
  });

  it('the first node answering a real error (a revert) after the hedge went out: that error is the answer, the hedge aborted', async () => {
    const { clock, seen, timed } = rig(['a', 'b'], { delayMs: 100 }, { a: 150, b: 200 }, {}, { a: { code: 3, message: 'execution reverted' } });
    const done = await timed(read(1, 'eth_call'));
    expect(done).toEqual({ at: 150, answer: { jsonrpc: '2.0', id: 1, error: { code: 3, message: 'execution reverted' } } });
    expect(seen.map((s) => [s.node, s.abortedAt])).toEqual([
      ['a', undefined],
      ['b', 150],
    ]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("the caller's signal aborts every attempt in flight", async () => {
    const { clock, pool, seen } = rig(['a', 'b'], { delayMs: 100 }, { a: 1_000, b: 1_000 });
    const controller = new AbortController();
    const answer = pool.request(read(1), { signal: controller.signal });
    const settled = answer.catch((error: unknown) => error);
    await clock.advance(150);
    controller.abort(new Error('client went away'));
    expect(((await settled) as Error).message).toBe('client went away');
    expect(seen.map((s) => [s.node, s.abortedAt])).toEqual([
      ['a', 150],
      ['b', 150],
    ]);
    await clock.advance(0);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('only plain reads are hedged: writes, transactions, filters, traces and methods it does not know go to one node', () => {
  it.each([
    ['eth_sendTransaction', [read(1, 'eth_sendTransaction')]],
    ['eth_sendRawTransaction (safe to repeat, but no read)', [read(1, 'eth_sendRawTransaction')]],
    // Transaction submissions isRepeatable lets through, which a list of methods not to hedge missed.
    ['eth_sendRawTransactionSync', [read(1, 'eth_sendRawTransactionSync')]],
    ['eth_sendPrivateTransaction', [read(1, 'eth_sendPrivateTransaction')]],
    ['eth_sendUserOperation', [read(1, 'eth_sendUserOperation')]],
    ['eth_sendBundle', [read(1, 'eth_sendBundle')]],
    ['a batch holding a write', [[read(1), read(2, 'evm_mine')]]],
    ['a batch of a read and eth_sendRawTransactionSync', [[read(1), read(2, 'eth_sendRawTransactionSync')]]],
    ['eth_getFilterChanges (a filter lives on one node)', [read(1, 'eth_getFilterChanges')]],
    ['eth_subscribe', [read(1, 'eth_subscribe')]],
    ['txpool_content (the node’s own mempool)', [read(1, 'txpool_content')]],
    ['debug_traceTransaction (costly: a copy would nearly always run it twice)', [read(1, 'debug_traceTransaction')]],
    ['a method it does not know', [read(1, 'zks_getBlockDetails')]],
    ['eth_call written in another case', [read(1, 'ETH_CALL')]],
  ])('%s goes to one node, however slow', async (_what, [payload]) => {
    const { seen, hedges, timed } = rig(['a', 'b'], { delayMs: 10 }, { a: 500, b: 10 });
    const done = await timed(payload as JsonRpcRequest);
    expect(done.at).toBe(500);
    expect(seen.map((s) => s.node)).toEqual(['a']);
    expect(hedges).toEqual([]);
  });
});

describe('the reads hedged by default', () => {
  it.each([...HEDGED_METHODS])('%s', async (method) => {
    const { seen, timed } = rig(['a', 'b'], { delayMs: 10 }, { a: 500, b: 10 });
    const done = await timed(read(1, method));
    expect(done).toEqual({ at: 20, answer: { jsonrpc: '2.0', id: 1, result: 'b' } });
    expect(seen.map((s) => s.node)).toEqual(['a', 'b']);
  });
});

describe('hedge.methods: more methods to hedge', () => {
  it('a method listed is hedged, alone or in a batch with reads; the defaults still are', async () => {
    const { seen, timed } = rig(['a', 'b'], { delayMs: 10, methods: ['zks_getBlockDetails', 'debug_traceTransaction'] }, { a: 500, b: 10 });
    expect((await timed(read(1, 'zks_getBlockDetails'))).answer).toMatchObject({ result: 'b' });
    expect((await timed([read(2), read(3, 'debug_traceTransaction')])).answer).toMatchObject([{ result: 'b' }, { result: 'b' }]);
    expect((await timed(read(4, 'eth_call'))).answer).toMatchObject({ result: 'b' });
    expect(seen.map((s) => s.node)).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
  });

  it('a method isRepeatable refuses is never hedged, listed or not', async () => {
    const { seen, timed } = rig(['a', 'b'], { delayMs: 10, methods: ['eth_sendTransaction', 'my_write'] }, { a: 500, b: 10 }, { isRepeatable: (m) => m !== 'my_write' && m !== 'eth_sendTransaction' });
    await timed(read(1, 'eth_sendTransaction'));
    await timed(read(2, 'my_write'));
    expect(seen.map((s) => s.node)).toEqual(['a', 'a']);
  });
});

describe('hedge.percentile: wait for that node’s own latency percentile', () => {
  it('uses delayMs until the node has answered 20 requests, then its p90', async () => {
    const latency = { a: 40, b: 5 };
    const { seen, timed } = rig(['a', 'b'], { delayMs: 1_000, percentile: 90 }, latency);
    // 20 answers from a: 18 at 40 ms, 2 at 60 ms. p90 = 40 ms.
    for (let i = 0; i < 20; i++) {
      latency.a = i < 18 ? 40 : 60;
      await timed(read(i));
    }
    expect(seen.every((s) => s.node === 'a')).toBe(true);
    latency.a = 500;
    const start = seen.length;
    const first = await timed(read(99));
    const since = seen.slice(start);
    expect(first.answer).toMatchObject({ result: 'b' });
    expect(since.map((s) => [s.node, s.at - since[0]!.at])).toEqual([
      ['a', 0],
      ['b', 40],
    ]);
  });

  it("over the node's last 128 answers: older ones no longer count", async () => {
    const latency = { a: 60, b: 5 };
    const { seen, timed } = rig(['a', 'b'], { delayMs: 1_000, percentile: 90 }, latency);
    for (let i = 0; i < 128; i++) await timed(read(i));
    latency.a = 10;
    for (let i = 0; i < 128; i++) await timed(read(1_000 + i));
    expect(seen.every((s) => s.node === 'a')).toBe(true);
    latency.a = 500;
    const start = seen.length;
    await timed(read(99));
    // p90 of the last 128 (all 10 ms); with the 60 ms ones still counted it would be 60.
    expect(seen.slice(start).map((s) => [s.node, s.at - seen[start]!.at])).toEqual([
      ['a', 0],
      ['b', 10],
    ]);
  });

  it('before 20 answers, delayMs', async () => {
    const { seen, timed } = rig(['a', 'b'], { delayMs: 300, percentile: 50 }, { a: 500, b: 5 });
    await timed(read(1));
    expect(seen.map((s) => [s.node, s.at])).toEqual([
      ['a', 0],
      ['b', 300],
    ]);
  });
});

describe('hedge options are checked', () => {
  it.each([
    [{ delayMs: -1 }, 'Expected hedge.delayMs to be a finite number >= 0, got -1'],
    [{ delayMs: Number.NaN }, 'Expected hedge.delayMs to be a finite number >= 0, got NaN'],
    [{ percentile: 0 }, 'Expected hedge.percentile to be a number > 0 and <= 100, got 0'],
    [{ percentile: 101 }, 'Expected hedge.percentile to be a number > 0 and <= 100, got 101'],
    [{ maxExtra: 0 }, 'Expected hedge.maxExtra to be an integer >= 1, got 0'],
    [{ maxExtra: 1.5 }, 'Expected hedge.maxExtra to be an integer >= 1, got 1.5'],
    [{ methods: 'eth_call' }, 'Expected hedge.methods to be an array of method names, got "eth_call"'],
    [{ methods: ['eth_call', 1] }, 'Expected hedge.methods to be an array of method names, got ["eth_call",1]'],
    [{ methods: [''] }, 'Expected hedge.methods to be an array of method names, got [""]'],
  ])('%j', (hedge, message) => {
    expect(() => new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }], hedge: hedge as HedgeOptions })).toThrow(message);
  });
});
