import { describe, expect, it } from 'vitest';
import type { CircuitEvent, HttpResponse } from '../../src/index.js';
import { fakeCluster } from '../helpers/pool.js';

const read = (id: number) => ({ jsonrpc: '2.0' as const, id, method: 'eth_getBalance', params: ['0x0', 'latest'] });

/**
 * Found in review: a request that left before a node's circuit opened proves nothing new when it
 * fails (`CircuitBreaker.failed`: "a request that left before it opened"), but only while the circuit
 * was `open`. Once half-open, with its trial under way, such a request's failure (its attempt timeout
 * longer than `breaker.openMs`) was taken for the trial's: the circuit opened again for twice as long
 * while the trial was still on its way. It is dated now, as `released(sentAt)` is.
 */
describe('a request sent before the circuit opened, failing while it is half-open', () => {
  it('is not the trial: the circuit stays half-open and the trial decides', async () => {
    const c = fakeCluster([{ name: 'a' }, { name: 'b' }], { breaker: { failures: 1, openMs: 1_000 }, http: { attemptTimeoutMs: 10_000, retryDelayMs: 0 } });
    const { pool, clock, nodes } = c;
    pool.update('a', { status: 'healthy', head: 100 });
    pool.update('b', { status: 'healthy', head: 100 });
    const circuits: CircuitEvent[] = [];
    pool.on('circuit', (e) => circuits.push(e));
    let calls = 0;
    let answerTrial: ((result: string) => void) | undefined;
    c.http.route('http://a.test/', (body, signal, endpoint) => {
      calls += 1;
      if (calls === 1) return new Promise<HttpResponse>(() => {}); // hangs: times out at 10 s
      if (calls === 2) return Promise.resolve({ status: 500, body: 'oops' }); // opens the circuit
      if (calls === 3) {
        const { id } = JSON.parse(body) as { id: unknown };
        return new Promise<HttpResponse>((resolve) => (answerTrial = (result) => resolve({ status: 200, body: JSON.stringify({ jsonrpc: '2.0', id, result }) }))); // the trial
      }
      return nodes.a!.http(body, signal, endpoint);
    });
    const first = pool.request(read(1)); // sent at 0, fails at 10 s (then b answers it)
    await clock.advance(0);
    expect(await pool.request(read(2))).toMatchObject({ result: '0x2' }); // a's 500, then b
    expect(circuits).toEqual([{ name: 'a', from: 'closed', to: 'open', openUntil: 1_000 }]);
    await clock.advance(1_000);
    const trial = pool.request(read(3)); // the trial, on a
    await clock.advance(0);
    expect(answerTrial).toBeDefined();
    expect(circuits.at(-1)).toMatchObject({ from: 'open', to: 'half-open' });
    await clock.advance(9_000); // the request sent at 0 times out
    expect(await first).toMatchObject({ result: '0x2' });
    expect(circuits.at(-1)).toMatchObject({ from: 'open', to: 'half-open' });
    expect(pool.snapshot().nodes[0]).toMatchObject({ name: 'a', circuit: 'half-open' });
    expect(pool.available('a')).toBe(false); // the trial is still under way
    answerTrial!('0x1');
    expect(await trial).toMatchObject({ result: '0x1' });
    expect(circuits.at(-1)).toMatchObject({ from: 'half-open', to: 'closed' });
    expect(circuits.map((e) => e.to)).toEqual(['open', 'half-open', 'closed']);
  });
});
