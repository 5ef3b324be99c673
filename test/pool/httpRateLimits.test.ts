import { describe, expect, it } from 'vitest';
import { NodePool, RpcErrorCode, SteadyRpcError, type HttpResponse, type JsonRpcResponse, type RateLimitEvent } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode } from '../../src/testing/index.js';

const read = (id: number) => ({ jsonrpc: '2.0' as const, id, method: 'eth_getBalance', params: ['0x0', 'latest'] });
const send = (id: number) => ({ jsonrpc: '2.0' as const, id, method: 'eth_sendTransaction', params: [{ from: '0x01', to: '0x02' }] });
const allHealthy = (pool: NodePool) => pool.nodes.forEach((n) => pool.update(n.name, { status: 'healthy', head: 100 }));
const rpcError = (code: number, message: string, data?: unknown, id: unknown = null) =>
  JSON.stringify({ jsonrpc: '2.0', id, error: data === undefined ? { code, message } : { code, message, data } });
/** The error as a node answers a request with HTTP 200: under the request's id. */
const answerError = (body: string, code: number, message: string) => rpcError(code, message, undefined, (JSON.parse(body) as { id: unknown }).id);

/**
 * Nodes a and b on a fake clock. Node a answers with `limit(body)` while it returns a reply, else
 * as a FakeNode; `latencyMs` delays every answer of a. `received` counts the requests a got.
 */
function rig(limit: (body: string) => HttpResponse | undefined, { latencyMs = 0, start = 0, ...options }: { latencyMs?: number; start?: number } & Partial<ConstructorParameters<typeof NodePool>[0]> = {}) {
  const clock = new FakeClock(start);
  const a = new FakeNode({ name: 'a', balance: 1n, head: 100 });
  const b = new FakeNode({ name: 'b', balance: 2n, head: 100 });
  const received: number[] = [];
  const http = new FakeHttpTransport()
    .route('http://a.test/', async (body, signal, endpoint) => {
      received.push(clock.now());
      if (latencyMs > 0) await new Promise<void>((resolve) => clock.setTimeout(resolve, latencyMs));
      return limit(body) ?? a.http(body, signal, endpoint);
    })
    .route('http://b.test/', b.http);
  const pool = new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }, { name: 'b', http: 'http://b.test/' }], clock, httpTransport: http, ...options });
  allHealthy(pool);
  const events: RateLimitEvent[] = [];
  const switches: unknown[] = [];
  pool.on('rateLimited', (event) => events.push(event));
  pool.on('switch', (event) => switches.push(event));
  return { clock, pool, a, b, received, events, switches };
}

const snapshotOf = (pool: NodePool, name: string) => pool.snapshot().nodes.find((n) => n.name === name)!;

describe('an HTTP 429 cools the node down', () => {
  it('with Retry-After in seconds: the read is answered by the next node, and new requests go there until the cool-down ends', async () => {
    let limited = true;
    const { clock, pool, received, events, switches } = rig(() => (limited ? { status: 429, body: 'Too Many Requests', retryAfter: '2' } : undefined));
    await expect(pool.request(read(1))).resolves.toEqual({ jsonrpc: '2.0', id: 1, result: '0x2' });
    expect(events).toEqual([{ name: 'a', until: 2_000, ms: 2_000, source: 'http-status' }]);
    limited = false;
    for (const t of [0, 500, 1_999]) {
      await clock.advance(t - clock.now());
      await expect(pool.request(read(t))).resolves.toMatchObject({ result: '0x2' });
    }
    expect(received).toHaveLength(1);
    await clock.advance(1);
    await expect(pool.request(read(2))).resolves.toMatchObject({ result: '0x1' });
    expect(received).toEqual([0, 2_000]);
    // Only new traffic moved: the preferred node (and the sessions that follow it) stayed.
    expect(switches).toEqual([]);
    expect(pool.preferred()).toBe('a');
  });

  it('with Retry-After as an HTTP date, read against the clock', async () => {
    const start = Date.parse('Tue, 01 Dec 2026 12:00:00 GMT');
    const { pool, events } = rig(() => ({ status: 429, body: '', retryAfter: 'Tue, 01 Dec 2026 12:00:07 GMT' }), { start });
    await pool.request(read(1));
    expect(events).toEqual([{ name: 'a', until: start + 7_000, ms: 7_000, source: 'http-status' }]);
  });

  it('without Retry-After: a backoff from rateLimit.cooldownMs, doubling, that starts over once the node answers', async () => {
    let limited = true;
    const { clock, pool, events } = rig(() => (limited ? { status: 429, body: 'rate limited' } : undefined), { rateLimit: { cooldownMs: 500, maxCooldownMs: 1_500 } });
    for (let i = 0; i < 4; i++) {
      await pool.request(read(i));
      await clock.advance((events.at(-1)?.until ?? 0) - clock.now());
    }
    expect(events.map((e) => e.ms)).toEqual([500, 1_000, 1_500, 1_500]);
    limited = false;
    await expect(pool.request(read(9))).resolves.toMatchObject({ result: '0x1' });
    limited = true;
    await pool.request(read(10));
    expect(events.at(-1)!.ms).toBe(500);
  });

  it('a 429 that comes after the cool-down ended, for a request sent before it began, is no new strike', async () => {
    // Two reads go to a at 0: a limits the first after 50 ms and the second after 1,200 ms (once
    // the 1 s cool-down the first began is over); later requests at once.
    const clock = new FakeClock(0);
    const b = new FakeNode({ name: 'b', head: 100 });
    const delays = [50, 1_200];
    const http = new FakeHttpTransport()
      .route('http://a.test/', async () => {
        const delay = delays.shift();
        if (delay !== undefined) await new Promise<void>((resolve) => clock.setTimeout(resolve, delay));
        return { status: 429, body: 'rate limited' };
      })
      .route('http://b.test/', b.http);
    const pool = new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }, { name: 'b', http: 'http://b.test/' }], clock, httpTransport: http });
    allHealthy(pool);
    const events: RateLimitEvent[] = [];
    pool.on('rateLimited', (event) => events.push(event));
    const answers = Promise.all([pool.request(read(1)), pool.request(read(2))]);
    await clock.advance(1_200);
    await expect(answers).resolves.toMatchObject([{ result: '0x0' }, { result: '0x0' }]);
    expect(events).toEqual([{ name: 'a', until: 1_050, ms: 1_000, source: 'http-status' }]);
    // The trial after the cool-down is limited too: the second strike, 2 s.
    await expect(pool.request(read(3))).resolves.toMatchObject({ result: '0x0' });
    expect(events.map((e) => [e.until, e.ms])).toEqual([[1_050, 1_000], [3_200, 2_000]]);
    pool.close();
  });

  it('the trial limited while an older 429 lengthened the cool-down: the node takes requests again once it ends', async () => {
    // a: read 1 (sent at 0) limited at 50 ms, naming no wait; read 2 (sent at 0) limited at 1,300 ms,
    // naming 4 s; read 3, the trial at 1,200 ms, limited at 1,350 ms, naming no wait; then answers.
    const clock = new FakeClock(0);
    const a = new FakeNode({ name: 'a', balance: 1n, head: 100 });
    const b = new FakeNode({ name: 'b', balance: 2n, head: 100 });
    const replies: Array<[number, HttpResponse]> = [
      [50, { status: 429, body: 'rate limited' }],
      [1_300, { status: 429, body: 'rate limited', retryAfter: '4' }],
      [150, { status: 429, body: 'rate limited' }],
    ];
    const received: number[] = [];
    const http = new FakeHttpTransport()
      .route('http://a.test/', async (body, signal, endpoint) => {
        received.push(clock.now());
        const reply = replies.shift();
        if (!reply) return a.http(body, signal, endpoint);
        await new Promise<void>((resolve) => clock.setTimeout(resolve, reply[0]));
        return reply[1];
      })
      .route('http://b.test/', b.http);
    const pool = new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }, { name: 'b', http: 'http://b.test/' }], clock, httpTransport: http });
    allHealthy(pool);
    const events: RateLimitEvent[] = [];
    pool.on('rateLimited', (event) => events.push(event));
    const first = Promise.all([pool.request(read(1)), pool.request(read(2))]);
    await clock.advance(1_200);
    const trial = pool.request(read(3));
    await clock.advance(200);
    await expect(first).resolves.toMatchObject([{ result: '0x2' }, { result: '0x2' }]);
    await expect(trial).resolves.toMatchObject({ result: '0x2' });
    expect(received).toEqual([0, 0, 1_200]);
    expect(events.map((e) => [e.until, e.ms])).toEqual([[1_050, 1_000], [5_300, 4_000]]);
    await clock.advance(5_300 - clock.now());
    expect(pool.available('a')).toBe(true);
    await expect(pool.request(read(4))).resolves.toMatchObject({ result: '0x1' });
    pool.close();
  });

  it('a 503 that names its wait cools the node down too', async () => {
    const { pool, events } = rig(() => ({ status: 503, body: 'maintenance', retryAfter: '30' }));
    await expect(pool.request(read(1))).resolves.toMatchObject({ result: '0x2' });
    expect(events).toEqual([{ name: 'a', until: 30_000, ms: 30_000, source: 'http-status' }]);
  });

  it("Infura's 429 with a -32005 body and backoff_seconds: the cool-down is its backoff", async () => {
    const body = rpcError(-32005, 'project ID request rate exceeded', { see: 'https://infura.io', current_rps: 13.3, allowed_rps: 10, backoff_seconds: 30 });
    const { pool, events } = rig(() => ({ status: 429, body }));
    await expect(pool.request(read(1))).resolves.toMatchObject({ result: '0x2' });
    expect(events).toEqual([{ name: 'a', until: 30_000, ms: 30_000, source: 'http-status' }]);
  });

  it('the snapshot shows it while it lasts (rateLimited, rateLimitedUntil)', async () => {
    const { clock, pool } = rig(() => ({ status: 429, body: '', retryAfter: '1' }));
    await pool.request(read(1));
    expect(snapshotOf(pool, 'a')).toMatchObject({ rateLimited: true, rateLimitedUntil: 1_000, status: 'healthy', preferred: true });
    expect(pool.available('a')).toBe(false);
    expect(pool.candidates()).toEqual(['b', 'a']);
    await clock.advance(1_000);
    expect(snapshotOf(pool, 'a')).toMatchObject({ rateLimited: false });
    expect(pool.candidates()).toEqual(['a', 'b']);
  });
});

describe('a JSON-RPC rate-limit error cools the node down', () => {
  it('with HTTP 200 (Alchemy over WebSocket, QuickNode): the read goes to the next node', async () => {
    const message = 'Your app has exceeded its compute units per second capacity. If you have retries enabled, you can safely ignore this message.';
    const { pool, events, received } = rig((body) => ({ status: 200, body: answerError(body, 429, message) }));
    await expect(pool.request(read(1))).resolves.toEqual({ jsonrpc: '2.0', id: 1, result: '0x2' });
    expect(events).toEqual([{ name: 'a', until: 1_000, ms: 1_000, source: 'rpc-error' }]);
    await pool.request(read(2));
    expect(received).toHaveLength(1);
  });

  it("when every node is rate limited, the last node's rate-limit error is the answer", async () => {
    const clock = new FakeClock();
    const limited = async (body: string) => ({ status: 200, body: answerError(body, -32005, 'daily request count exceeded, request rate limited') });
    const pool = new NodePool({
      nodes: [{ name: 'a', http: 'http://a.test/' }, { name: 'b', http: 'http://b.test/' }],
      clock,
      httpTransport: new FakeHttpTransport().route('http://a.test/', limited).route('http://b.test/', limited),
      consistency: { monotonic: false },
    });
    await expect(pool.request(read(7))).resolves.toEqual({ jsonrpc: '2.0', id: 7, error: { code: -32005, message: 'daily request count exceeded, request rate limited' } });
  });

  it('in part of a batch (QuickNode counts each request of it): the answer stands, the node cools down', async () => {
    const { pool, events } = rig((body) => {
      const batch = JSON.parse(body) as { id: number }[];
      const answers = batch.map(({ id }, i) => (i === 1 ? { jsonrpc: '2.0', id, error: { code: 429, message: 'The requests per second (RPS) of your requests are higher than your plan allows.' } } : { jsonrpc: '2.0', id, result: '0x1' }));
      return { status: 200, body: JSON.stringify(answers) };
    });
    const answers = (await pool.request([read(1), read(2)])) as JsonRpcResponse[];
    expect(answers[0]).toEqual({ jsonrpc: '2.0', id: 1, result: '0x1' });
    expect(answers[1]).toMatchObject({ id: 2, error: { code: 429 } });
    expect(events).toHaveLength(1);
  });
});

describe('a rate limit never makes a write go twice', () => {
  // RFC 6585 §4 says a 429 means too many requests were sent; it does not say this one was not
  // carried out (and QuickNode answers 429 for part of a batch it served), so it is no proof.
  it("a write answered 429 with the node's JSON-RPC error gets that error, and reaches no other node", async () => {
    const { pool, b, events } = rig(() => ({ status: 429, body: rpcError(-32005, 'project ID request rate exceeded') }));
    await expect(pool.request(send(3))).resolves.toEqual({ jsonrpc: '2.0', id: 3, error: { code: -32005, message: 'project ID request rate exceeded' } });
    expect(b.calls.size).toBe(0);
    expect(events).toHaveLength(1);
  });

  it('a write answered 429 with no JSON-RPC body gets NOT_RESENT', async () => {
    const { pool, b } = rig(() => ({ status: 429, body: 'Too Many Requests', retryAfter: '5' }));
    await expect(pool.request(send(4))).resolves.toMatchObject({ id: 4, error: { code: RpcErrorCode.NOT_RESENT, data: { node: 'a', reason: 'http-status' } } });
    expect(b.calls.size).toBe(0);
  });

  it('a write answered with a rate-limit error and HTTP 200 gets it as it is', async () => {
    const { pool, b } = rig((body) => ({ status: 200, body: answerError(body, -32029, 'Rate limit exceeded') }));
    await expect(pool.request(send(5))).resolves.toEqual({ jsonrpc: '2.0', id: 5, error: { code: -32029, message: 'Rate limit exceeded' } });
    expect(b.calls.size).toBe(0);
  });

  it('the next write goes to a node that is not cooling down', async () => {
    const { pool, a, b } = rig(() => ({ status: 429, body: rpcError(-32005, 'rate limited') }));
    await pool.request(send(1));
    await pool.request(send(2));
    expect(a.calls.size).toBe(0);
    expect(b.calls.get('eth_sendTransaction')).toBe(1);
  });
});

describe('with the defaults, once a node has answered 429, at most 3 further requests reach it before its cool-down ends', () => {
  it('under concurrent requests', async () => {
    // Node a rate-limits for 5 s and answers after 50 ms; 10 requests every 100 ms, all reads.
    let firstLimit: number | undefined;
    const { clock, pool, received, events } = rig(
      () => {
        if (clock.now() >= 5_000) return undefined;
        firstLimit ??= clock.now();
        return { status: 429, body: 'Too Many Requests' };
      },
      { latencyMs: 50 },
    );
    const answers: Promise<unknown>[] = [];
    for (let t = 0; t <= 8_000; t += 100) {
      await clock.advance(t - clock.now());
      for (let i = 0; i < 10; i++) answers.push(pool.request(read(t + i)));
    }
    await clock.advance(1_000);
    const results = await Promise.all(answers);
    expect(results.every((r) => (r as { result?: string }).result !== undefined)).toBe(true);
    // The first burst (10 requests at t=0) was on its way before the first 429 came back, at 50 ms.
    expect(firstLimit).toBe(50);
    expect(received.filter((t) => t === 0)).toHaveLength(10);
    // From then on, no request reaches a while it cools down; when a cool-down ends, one request
    // goes first (and meets the 429 again, so a backs off longer), not the whole next burst.
    const cooldowns = events.map((e) => [e.until - e.ms, e.until] as const);
    expect(cooldowns).toEqual([[50, 1_050], [1_150, 3_150], [3_250, 7_250]]);
    for (const [from, until] of cooldowns) expect(received.filter((t) => t > from && t < until)).toEqual([]);
    expect(received.filter((t) => t > 0 && t < 7_250)).toEqual([1_100, 3_200]);
    // Past its rate limit, a answers the trial (at 7.3 s) and takes its traffic back from the next burst.
    const bursts = [7_400, 7_500, 7_600, 7_700, 7_800, 7_900, 8_000].flatMap((t) => Array<number>(10).fill(t));
    expect(received.filter((t) => t >= 7_250)).toEqual([7_300, ...bursts]);
  });
});

describe('every node cooling down', () => {
  it('fails at once, saying when the first is back, and asks no node', async () => {
    const clock = new FakeClock();
    const http = new FakeHttpTransport();
    const pool = new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }, { name: 'b', http: 'http://b.test/' }], clock, httpTransport: http });
    allHealthy(pool);
    pool.coolDown('a', 3_000);
    pool.coolDown('b', 1_200);
    const error = (await pool.request(read(1)).catch((e: unknown) => e)) as SteadyRpcError;
    expect(error).toBeInstanceOf(SteadyRpcError);
    expect(error.code).toBe('ERR_UPSTREAM_UNAVAILABLE');
    expect(error.message).toMatch(/^Every node that could take the request is cooling down after a rate limit \(the first is back in 1200 ms\)/);
    expect(error.details).toBe('a: cooling down after a rate limit for 3000 ms more; b: cooling down after a rate limit for 1200 ms more');
    expect(http.requests).toHaveLength(0);
  });

  it('coolDown() checks its arguments', () => {
    const pool = new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }], clock: new FakeClock(), httpTransport: new FakeHttpTransport() });
    expect(() => pool.coolDown('a', -1)).toThrow('Expected retryAfterMs to be a finite number >= 0, got -1');
    expect(() => pool.coolDown('z')).toThrow('Unknown node "z"');
    expect(() => new NodePool({ nodes: [{ name: 'a', http: 'http://a.test/' }], rateLimit: { cooldownMs: 0 } })).toThrow('Expected rateLimit.cooldownMs to be a finite number > 0, got 0');
  });
});
