import { describe, expect, it } from 'vitest';
import { NodePool, type HttpResponse, type NodePoolOptions, type RateLimitEvent } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, FakeNode } from '../../src/testing/index.js';

/**
 * Found in review (after the pool property test's seed 20262118): PassiveHealth.admit()'s promise
 * ("every admitted attempt ends in exactly one of answered, failed, abandoned or rateLimited"), and
 * the one trial after a cool-down (RateLimitCooldown) or through a half-open circuit
 * (CircuitBreaker): only the trial's own outcome ends it, never that of a request sent before it.
 */

const read = (id: number) => ({ jsonrpc: '2.0' as const, id, method: 'eth_getBalance', params: ['0x0', 'latest'] });

/** What node a does with one request: wait `delay` ms on the clock, then `reply` (else a FakeNode's answer). */
interface Step {
  delay?: number;
  reply?: HttpResponse;
}

/**
 * Nodes a (preferred) and b, both healthy, on a fake clock; a takes its requests' fates from
 * `script` in order (then answers at once). No view gate (no head reads muddle the counts).
 */
function rig(script: Step[], options: Partial<NodePoolOptions> = {}) {
  const clock = new FakeClock(0);
  const a = new FakeNode({ name: 'a', balance: 1n, head: 100 });
  const b = new FakeNode({ name: 'b', balance: 2n, head: 100 });
  const received: number[] = [];
  const http = new FakeHttpTransport()
    .route('http://a.test/', async (body, signal, endpoint) => {
      received.push(clock.now());
      const step = script.shift() ?? {};
      if (step.delay) await new Promise<void>((resolve) => clock.setTimeout(resolve, step.delay!));
      return step.reply ?? a.http(body, signal, endpoint);
    })
    .route('http://b.test/', b.http);
  const pool = new NodePool({
    nodes: [
      { name: 'a', http: 'http://a.test/' },
      { name: 'b', http: 'http://b.test/' },
    ],
    clock,
    httpTransport: http,
    consistency: { monotonic: false },
    ...options,
  });
  pool.nodes.forEach((n) => pool.update(n.name, { status: 'healthy', head: 100 }));
  const events: RateLimitEvent[] = [];
  pool.on('rateLimited', (e) => events.push(e));
  /** Sends a read; its answer (or error) lands in the returned box. */
  const fire = (id: number, signal?: AbortSignal) => {
    const box: { value?: unknown } = {};
    pool.request(read(id), { signal }).then(
      (v) => (box.value = v),
      (e: unknown) => (box.value = e),
    );
    return box;
  };
  return { clock, pool, received, events, fire };
}

describe('the one trial after a rate limit', () => {
  it('an older request answered after the cool-down ended leaves the trial under way (no burst) and the backoff as it was', async () => {
    // a: read 1 (sent at 0) answered at 1,500; read 2 (sent at 0) limited at 10 ms (1 s, no wait
    // named: until 1,010); read 3, the trial at 1,100, limited at 2,100, naming no wait.
    const { clock, pool, received, events, fire } = rig([
      { delay: 1_500 },
      { delay: 10, reply: { status: 429, body: 'rate limited' } },
      { delay: 1_000, reply: { status: 429, body: 'rate limited' } },
    ]);
    fire(1);
    fire(2);
    await clock.advance(1_100);
    expect(events.map((e) => [e.until, e.ms])).toEqual([[1_010, 1_000]]);
    fire(3); // the trial
    await clock.advance(0);
    expect(received).toEqual([0, 0, 1_100]);
    expect(pool.available('a')).toBe(false); // the trial goes alone
    // Read 1, sent at 0 (before the limit), is answered at 1,500: it says nothing of the trial.
    await clock.advance(400);
    expect(pool.available('a'), 'the trial (read 3) is still under way at 1,500').toBe(false);
  });

  it('…and the trial’s own rate limit is then a second strike, not a first', async () => {
    const { clock, events, fire } = rig([
      { delay: 1_500 },
      { delay: 10, reply: { status: 429, body: 'rate limited' } },
      { delay: 1_000, reply: { status: 429, body: 'rate limited' } },
    ]);
    fire(1);
    fire(2);
    await clock.advance(1_100);
    fire(3);
    await clock.advance(1_000); // read 1 answered at 1,500; the trial limited at 2,100
    // Without read 1 (sent before the cool-down) this is the 2nd strike in a row: 2 s (see
    // httpRateLimits.test.ts "a 429 that comes after the cool-down ended ... is no new strike").
    expect(events.map((e) => [e.until, e.ms])).toEqual([
      [1_010, 1_000],
      [4_100, 2_000],
    ]);
  });

  it("a session's answer to a call sent before the limit (pool.answered with its sentAt) leaves the trial under way", async () => {
    // Sessions tell the pool when the call was sent (UpstreamFrames); without a time, an answer counts as of now.
    const { clock, pool, fire } = rig([{ delay: 10, reply: { status: 429, body: 'rate limited' } }, { delay: 5_000 }]);
    fire(1); // limited at 10: cooling down until 1,010
    await clock.advance(1_100);
    fire(2); // the trial, answered at 6,100
    await clock.advance(0);
    expect(pool.available('a')).toBe(false);
    pool.answered('a', 0); // e.g. a session's eth_getLogs sent at 0, answered now
    expect(pool.available('a'), 'the trial (read 2) is still under way').toBe(false);
    pool.answered('a', 1_200); // one sent after the cool-down ended: the node is answering again
    expect(pool.available('a')).toBe(true);
  });

  it('an older request failing (HTTP 500) while the trial is under way lets no second request through', async () => {
    const { clock, pool, received, fire } = rig([
      { delay: 1_500, reply: { status: 500, body: 'oops' } },
      { delay: 10, reply: { status: 429, body: 'rate limited' } },
      { delay: 5_000 },
    ]);
    fire(1);
    fire(2);
    await clock.advance(1_100);
    fire(3); // the trial, answered at 6,100
    await clock.advance(400); // read 1 fails at 1,500
    expect(pool.available('a'), 'the trial (read 3) is still under way at 1,500').toBe(false);
    fire(4);
    await clock.advance(0);
    expect(received, 'a second request went to a while its trial was under way').toEqual([0, 0, 1_100]);
  });
});

describe('the one trial through a half-open circuit', () => {
  it('the caller giving up on a request sent before the circuit opened leaves the half-open trial under way', async () => {
    // breaker.failures 1: read 2's 500 at 10 ms opens a's circuit for 1 s; read 1 (sent at 0) is slow.
    const { clock, pool, received, fire } = rig(
      [{ delay: 60_000 }, { delay: 10, reply: { status: 500, body: 'oops' } }, { delay: 5_000 }],
      { breaker: { failures: 1, openMs: 1_000 }, http: { attemptTimeoutMs: 100_000 } },
    );
    const giveUp = new AbortController();
    fire(1, giveUp.signal);
    fire(2);
    await clock.advance(1_100);
    fire(3); // the half-open trial, answered at 6,100
    await clock.advance(0);
    expect(received).toEqual([0, 0, 1_100]);
    expect(pool.available('a')).toBe(false);
    giveUp.abort(new Error('gave up'));
    await clock.advance(0);
    expect(pool.available('a'), 'the half-open trial (read 3) is still under way').toBe(false);
  });

  it('a rate limit of a request sent before the circuit opened leaves the half-open trial under way', async () => {
    const { clock, pool, fire } = rig(
      [{ delay: 1_500, reply: { status: 429, body: 'rate limited', retryAfter: '0' } }, { delay: 10, reply: { status: 500, body: 'oops' } }, { delay: 5_000 }],
      { breaker: { failures: 1, openMs: 1_000 } },
    );
    fire(1);
    fire(2);
    await clock.advance(1_100);
    fire(3); // the half-open trial
    await clock.advance(400); // read 1's 429 (Retry-After 0) at 1,500
    expect(pool.available('a'), 'the half-open trial (read 3) is still under way').toBe(false);
  });
});

describe('an admitted attempt that is never made', () => {
  it('a listener that throws on the half-open change: the attempt it stopped is no trial, and the node takes requests again', async () => {
    const { clock, pool, received, fire } = rig([{ reply: { status: 500, body: 'oops' } }], { breaker: { failures: 1, openMs: 1_000 } });
    let throwOnce = true;
    pool.on('circuit', (e) => {
      if (e.to === 'half-open' && throwOnce) {
        throwOnce = false;
        throw new Error('a bug in an app listener');
      }
    });
    await pool.request(read(1)); // a: 500, circuit open until 1,000; b answers
    await clock.advance(1_000);
    const trial = fire(2);
    await clock.advance(0);
    expect(trial.value).toMatchObject({ message: 'a bug in an app listener' });
    expect(received).toEqual([0]); // admitted (half-open, trial under way) but never sent
    // a answers fine from now on; a long while later it still takes nothing.
    await clock.advance(3_600_000);
    for (let id = 3; id < 6; id++) await pool.request(read(id));
    // The attempt the listener stopped was no trial: the next request was, and closed the circuit.
    expect(received).toEqual([0, 3_601_000, 3_601_000, 3_601_000]);
    expect(pool.snapshot().nodes.find((n) => n.name === 'a')).toMatchObject({ circuit: 'closed' });
    expect(pool.available('a'), 'a answers fine but takes no request an hour later').toBe(true);
  });

  it('the same with a rate limit cool-down: a “health” listener that throws at the first request after both does not hold the node for good', async () => {
    // a: 500 (circuit open 1 s) ... the first request after it both the circuit's and the cool-down's trial.
    const { clock, pool, received, fire } = rig([{ reply: { status: 500, body: 'oops' } }], { breaker: { failures: 1, openMs: 1_000 } });
    pool.coolDown('a', 500);
    let armed = false;
    pool.on('health', () => {
      if (armed) {
        armed = false;
        throw new Error('a bug in an app listener');
      }
    });
    await pool.request(read(1)); // goes to b (a cooling down); a is not asked
    await clock.advance(600);
    expect(pool.available('a')).toBe(true);
    // Make a's circuit open through a request a gets (cool-down over: this is its trial, a 500).
    await pool.request(read(2));
    expect(received).toEqual([600]);
    await clock.advance(1_000);
    armed = true;
    const trial = fire(3);
    await clock.advance(0);
    expect(trial.value).toMatchObject({ message: 'a bug in an app listener' });
    await clock.advance(3_600_000);
    expect(pool.available('a'), 'a takes no request an hour later').toBe(true);
  });
});
