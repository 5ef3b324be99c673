import { describe, expect, it } from 'vitest';
import type { ProbeEvent, RateLimitEvent } from '../../src/index.js';
import { HealthChecker } from '../../src/index.js';
import { MAX_NAMED_WAIT_MS, retryAfterMs } from '../../src/pool/RateLimitCooldown.js';
import { suggestedBackoffMs } from '../../src/pool/nodeErrors.js';
import { fakeCluster } from '../helpers/pool.js';
import { rpc, sessionHarness } from '../helpers/session.js';

/**
 * A node's own numbers are untrusted input: a huge `Retry-After` or `backoff_seconds` is read as a
 * long wait (then capped by rateLimit.maxCooldownMs), never as Infinity that makes NodePool.coolDown
 * throw from the health checker or a session.
 */
const HUGE_RETRY_AFTER = '9'.repeat(400);
const rateLimitError = (id: unknown) => ({
  jsonrpc: '2.0',
  id,
  error: { code: -32005, message: 'daily request count exceeded', data: { backoff_seconds: 1e306 } },
});

describe('parsing the wait a node names', () => {
  it('Retry-After: a delay too long to be a number is the longest wait, not Infinity', () => {
    expect(retryAfterMs(HUGE_RETRY_AFTER, 0)).toBe(MAX_NAMED_WAIT_MS);
    expect(retryAfterMs('99999999999', 0)).toBe(MAX_NAMED_WAIT_MS);
    expect(retryAfterMs('7', 0)).toBe(7_000);
    expect(retryAfterMs('Fri, 31 Dec 9999 23:59:59 GMT', 0)).toBe(MAX_NAMED_WAIT_MS);
    expect(retryAfterMs('Thu, 01 Jan 1970 00:00:00 GMT', 5_000)).toBe(0);
  });

  it('backoff_seconds: 1e306 (or 1e300) is the longest wait, not Infinity', () => {
    expect(suggestedBackoffMs({ code: -32005, message: '', data: { backoff_seconds: 1e306 } })).toBe(MAX_NAMED_WAIT_MS);
    expect(suggestedBackoffMs({ code: -32005, message: '', data: { rate: { backoff_seconds: 1e300 } } })).toBe(MAX_NAMED_WAIT_MS);
    expect(suggestedBackoffMs({ code: -32005, message: '', data: { backoff_seconds: 1.5 } })).toBe(1_500);
  });
});

describe('a rate-limited probe naming an absurd wait', () => {
  function world() {
    const c = fakeCluster([{ name: 'a' }, { name: 'b' }]);
    const checker = new HealthChecker(c.pool);
    const probes: ProbeEvent[] = [];
    const limits: RateLimitEvent[] = [];
    checker.on('probe', (e) => probes.push(e));
    c.pool.on('rateLimited', (e) => limits.push(e));
    return { ...c, checker, probes, limits };
  }

  it('HTTP 429 with a 400-digit Retry-After: recorded as rate-limited, cooled down for maxCooldownMs, no throw', async () => {
    const w = world();
    await w.checker.checkNow();
    w.http.route('http://a.test/', async () => ({ status: 429, body: '', retryAfter: HUGE_RETRY_AFTER }));
    await expect(w.checker.checkNow()).resolves.toBeUndefined();
    expect(w.probes.filter((p) => p.name === 'a').at(-1)).toMatchObject({ ok: false, rateLimited: true });
    expect(w.limits).toEqual([{ name: 'a', until: 60_000, ms: 60_000, source: 'http-status' }]);
    expect(w.pool.snapshot().nodes.find((n) => n.name === 'a')!.rateLimited).toBe(true);
    w.checker.close();
  });

  it('a JSON-RPC rate-limit error with backoff_seconds 1e306: same', async () => {
    const w = world();
    await w.checker.checkNow();
    w.http.route('http://a.test/', async (body) => ({ status: 200, body: JSON.stringify(rateLimitError(JSON.parse(body).id)) }));
    await expect(w.checker.checkNow()).resolves.toBeUndefined();
    expect(w.probes.filter((p) => p.name === 'a').at(-1)).toMatchObject({ ok: false, rateLimited: true });
    expect(w.limits).toEqual([{ name: 'a', until: 60_000, ms: 60_000, source: 'rpc-error' }]);
    w.checker.close();
  });

  it('under start(): probing goes on (no rejection left unhandled)', async () => {
    const w = world();
    w.http.route('http://a.test/', async () => ({ status: 429, body: '', retryAfter: HUGE_RETRY_AFTER }));
    w.checker.start();
    await w.clock.advance(3_000);
    expect(w.probes.filter((p) => p.name === 'a').map((p) => p.rateLimited)).toEqual([true, true, true, true]);
    w.checker.close();
  });

  it('request() answered so: cooled down for maxCooldownMs, the read served by the next node', async () => {
    const w = world();
    w.pool.update('a', { status: 'healthy' });
    w.pool.update('b', { status: 'healthy' });
    w.http.route('http://a.test/', async () => ({ status: 429, body: '', retryAfter: HUGE_RETRY_AFTER }));
    await expect(w.pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] })).resolves.toMatchObject({ result: '0x1' });
    expect(w.limits).toEqual([{ name: 'a', until: 60_000, ms: 60_000, source: 'http-status' }]);
  });
});

describe('a session whose node names an absurd backoff_seconds', () => {
  it('passes the answer on and cools the node down for maxCooldownMs, without throwing', async () => {
    const h = await sessionHarness();
    const limits: RateLimitEvent[] = [];
    h.pool.on('rateLimited', (e) => limits.push(e));
    h.sockets.last()!.onSend((text, s) => {
      expect(() => s.receiveJson(rateLimitError((JSON.parse(text) as { id: unknown }).id))).not.toThrow();
    });
    h.send(rpc(1, 'eth_call', [{}, 'latest']));
    await h.settle();
    expect(h.answers(1)).toEqual([rateLimitError(1)]);
    expect(limits).toEqual([{ name: 'a', until: 60_000, ms: 60_000, source: 'rpc-error' }]);
    h.session.close();
  });
});
