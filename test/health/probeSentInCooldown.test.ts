import { describe, expect, it } from 'vitest';
import type { HttpResponse, RateLimitEvent } from '../../src/index.js';
import { HealthChecker } from '../../src/index.js';
import { fakeCluster } from '../helpers/pool.js';

const balance = { jsonrpc: '2.0' as const, id: 1, method: 'eth_getBalance', params: ['0x0000000000000000000000000000000000000001', 'latest'] };

/**
 * Found in review: a probe's good answer is reported to the pool (`answered`) as if the probe had
 * been sent when it was answered. A probe sent during a cool-down and answered just after it ended
 * then counted as the answer to the trial request (the one request let through after a cool-down):
 * the trial was over while it was still on its way, and every request went to the node at once.
 * Like its rate limit (`coolDown(…, sentAt)`), a probe's answer is dated when it was sent.
 */
describe('a probe sent during a cool-down and answered after it', () => {
  it('does not end the trial request under way: the node takes no other request until the trial is answered', async () => {
    const c = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    const node = c.nodes.a!;
    let probeDelay = 0;
    let answerTrial: ((r: HttpResponse) => void) | undefined;
    c.http.route('http://a.test/', (body, signal, endpoint) => {
      if (body.includes('eth_getBalance')) return new Promise<HttpResponse>((resolve) => (answerTrial = resolve));
      if (probeDelay === 0) return node.http(body, signal, endpoint);
      return new Promise<HttpResponse>((resolve, reject) => c.clock.setTimeout(() => node.http(body, signal, endpoint).then(resolve, reject), probeDelay));
    });
    const checker = new HealthChecker(c.pool, { intervalMs: 60_000 });
    await checker.checkNow();
    await checker.checkNow();
    expect(c.pool.preferred()).toBe('a');
    c.pool.coolDown('a'); // from 0 to 1 s
    await c.clock.advance(500);
    probeDelay = 700;
    const probe = checker.checkNow(); // sent at 0.5 s, answered at 1.2 s
    await c.clock.advance(600); // 1.1 s: the cool-down is over; the next request is the trial
    const trial = c.pool.request(balance);
    await c.clock.advance(0);
    expect(answerTrial).toBeDefined();
    expect(c.pool.available('a')).toBe(false);
    await c.clock.advance(100);
    await probe;
    // The probe left before the cool-down ended: it proves nothing new, the trial is still under way.
    expect(c.pool.available('a')).toBe(false);
    answerTrial!({ status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: 1, result: '0x1' }) });
    expect(await trial).toMatchObject({ result: '0x1' });
    expect(c.pool.available('a')).toBe(true);
    checker.close();
  });

  it('does not start the backoff over: the next rate limit naming no wait still doubles it', async () => {
    const c = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    const node = c.nodes.a!;
    let probeDelay = 0;
    c.http.route('http://a.test/', (body, signal, endpoint) =>
      probeDelay === 0
        ? node.http(body, signal, endpoint)
        : new Promise<HttpResponse>((resolve, reject) => c.clock.setTimeout(() => node.http(body, signal, endpoint).then(resolve, reject), probeDelay)),
    );
    const checker = new HealthChecker(c.pool, { intervalMs: 60_000 });
    const cooled: RateLimitEvent[] = [];
    c.pool.on('rateLimited', (e) => cooled.push(e));
    await checker.checkNow();
    c.pool.coolDown('a'); // 1 s
    await c.clock.advance(900);
    probeDelay = 200;
    const probe = checker.checkNow(); // sent at 0.9 s, answered at 1.1 s
    await c.clock.advance(200);
    await probe;
    c.pool.coolDown('a'); // no answer since the first limit: 2 s
    expect(cooled.map((e) => e.ms)).toEqual([1_000, 2_000]);
    checker.close();
  });
});
