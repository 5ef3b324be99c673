import { describe, expect, it } from 'vitest';
import type { HttpResponse, RateLimitEvent } from '../../src/index.js';
import { checkedCluster } from '../helpers/checkedCluster.js';
import { fakeCluster } from '../helpers/pool.js';

/**
 * rateLimit.cooldownMs: a rate limit naming no wait cools the node down "for this long, doubling
 * with each further one, starting over once it answers": a good health probe is an answer.
 */
describe('the rate-limit backoff starts over once the node answers a probe', () => {
  it('a 429 to a probe, ten minutes of good probes, another 429: the cool-down is 1 s again, not 2 s', async () => {
    const c = checkedCluster([{ name: 'a' }, { name: 'b' }], { intervalMs: 1_000 });
    let limit = false;
    const answer = c.nodes.a!.http;
    c.http.route('http://a.test/', async (body, signal, endpoint): Promise<HttpResponse> => (limit ? { status: 429, body: 'slow down' } : answer(body, signal, endpoint)));
    const cooled: RateLimitEvent[] = [];
    c.pool.on('rateLimited', (e) => cooled.push(e));
    c.checker.start();
    await c.clock.advance(3_000);
    expect(c.pool.health('a').status).toBe('healthy');
    limit = true;
    await c.clock.advance(1_000);
    limit = false;
    expect(cooled.map((e) => e.ms)).toEqual([1_000]);
    await c.clock.advance(600_000);
    expect(c.probes.filter((p) => p.name === 'a').slice(-5).every((p) => p.ok)).toBe(true);
    limit = true;
    await c.clock.advance(1_000);
    limit = false;
    expect(cooled.map((e) => e.ms)).toEqual([1_000, 1_000]);
    c.checker.close();
  });

  it('rate limits sessions report (pool.coolDown) an hour apart, good probes in between: 1 s each time', async () => {
    const c = checkedCluster([{ name: 'a' }, { name: 'b' }], { intervalMs: 60_000 });
    const cooled: RateLimitEvent[] = [];
    c.pool.on('rateLimited', (e) => cooled.push(e));
    c.checker.start();
    for (let hour = 0; hour < 7; hour++) {
      c.pool.coolDown('a');
      await c.clock.advance(3_600_000);
    }
    expect(c.probes.filter((p) => p.name === 'a').slice(-5).every((p) => p.ok)).toBe(true);
    expect(cooled.map((e) => e.ms)).toEqual([1_000, 1_000, 1_000, 1_000, 1_000, 1_000, 1_000]);
    c.checker.close();
  });

  it('rate limits in a row, with no answer in between, still double', async () => {
    const c = checkedCluster([{ name: 'a' }, { name: 'b' }], { intervalMs: 1_000 });
    c.http.route('http://a.test/', async () => ({ status: 429, body: 'slow down' }));
    const cooled: RateLimitEvent[] = [];
    c.pool.on('rateLimited', (e) => cooled.push(e));
    c.checker.start();
    await c.clock.advance(10_000);
    expect(cooled.map((e) => e.ms)).toEqual([1_000, 2_000, 4_000, 8_000]);
    c.checker.close();
  });
});

describe('NodePool.answered(name): what a probe (or a session) reports of an answer', () => {
  it('during the cool-down it changes nothing; after it, the backoff starts over', async () => {
    const c = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    const cooled: number[] = [];
    c.pool.on('rateLimited', (e) => cooled.push(e.ms));
    c.pool.coolDown('a');
    c.pool.answered('a'); // still cooling down: no answer counts yet
    await c.clock.advance(1_000);
    c.pool.coolDown('a');
    await c.clock.advance(2_000);
    c.pool.answered('a');
    c.pool.coolDown('a');
    expect(cooled).toEqual([1_000, 2_000, 1_000]);
    expect(() => c.pool.answered('nope')).toThrow(/Unknown node "nope"/);
  });

  it('leaves an open circuit open: only a request answering (or the node coming back) closes it', async () => {
    const c = checkedCluster([{ name: 'a' }, { name: 'b' }], { intervalMs: 1_000 }, { breaker: { failures: 1, openMs: 30_000 } });
    const answer = c.nodes.a!.http;
    // a answers its probes, and HTTP 500 to eth_getBalance.
    c.http.route('http://a.test/', async (body, signal, endpoint) =>
      body.includes('eth_getBalance') ? { status: 500, body: 'oops' } : answer(body, signal, endpoint),
    );
    c.checker.start();
    await c.clock.advance(3_000);
    const reply = await c.pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_getBalance', params: ['0x0000000000000000000000000000000000000001', 'latest'] });
    expect(reply).toMatchObject({ result: '0x2' }); // b's
    expect(c.pool.snapshot().nodes[0]).toMatchObject({ name: 'a', circuit: 'open', status: 'healthy' });
    c.pool.coolDown('a'); // a session's call was rate-limited meanwhile
    // Good probes after the cool-down: the circuit stays open for its 30 s.
    await c.clock.advance(5_000);
    expect(c.probes.filter((p) => p.name === 'a').slice(-5).every((p) => p.ok)).toBe(true);
    expect(c.pool.snapshot().nodes[0]).toMatchObject({ name: 'a', circuit: 'open' });
    c.checker.close();
  });
});
