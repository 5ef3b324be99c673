import { describe, expect, it } from 'vitest';
import type { HttpResponse } from '../../../src/index.js';
import { fakeCluster, outcome } from '../../helpers/pool.js';

/**
 * Audit of docs/guides/http.md:9-18 (and docs/reference.md:20, `http.retryDelayMs`): which failures
 * earn the pause before every node is asked again, and which node is asked once more on a new
 * connection. Fake clock, fake transport: nothing sleeps.
 */

const rpc = (id: number, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, id, method, params });

/** Nodes a and b, both healthy (a preferred). */
function twoHealthy(options: Parameters<typeof fakeCluster>[1] = {}) {
  const c = fakeCluster([{ name: 'a' }, { name: 'b' }], options);
  c.pool.update('a', { status: 'healthy', head: 100 });
  c.pool.update('b', { status: 'healthy', head: 100 });
  return c;
}

const urls = (c: ReturnType<typeof twoHealthy>) => c.http.requests.map((r) => r.url.replace(/^http:\/\/(\w+)\.test\/$/, '$1'));

describe('audit http.md:13-16: a rate limit "says how long", so it earns no pause', () => {
  // http.md:13-15: "(refused, broken, timed out, HTTP 5xx or 408: not a rate limit, which says how
  // long, ...)". A 503 is a 5xx, but a 503 naming its wait is a rate limit (http.md:153). No existing
  // test has every node answer one: test/pool/retryDelay.test.ts only uses 429s (which are no 5xx).
  it('every node answering 503 with Retry-After: both cool down, the read fails at once, no pause and no third attempt', async () => {
    const c = twoHealthy();
    const maintenance = async (): Promise<HttpResponse> => ({ status: 503, body: 'Service Unavailable', retryAfter: '5' });
    c.http.route('http://a.test/', maintenance).route('http://b.test/', maintenance);
    const read = outcome(c.pool.request(rpc(1, 'eth_blockNumber')));
    await c.clock.advance(0);
    expect(read.done).toBe(true);
    expect(read.value).toMatchObject({ code: 'ERR_UPSTREAM_UNAVAILABLE', message: expect.stringMatching(/^All 2 attempts failed/) });
    expect(urls(c)).toEqual(['a', 'b']);
    expect(c.pool.snapshot().nodes.map((n) => n.rateLimited)).toEqual([true, true]);
    expect(c.clock.pendingTimers).toBe(0);
  });

  it('contrast: every node answering 503 without Retry-After (no rate limit) pauses 250 ms and asks a again', async () => {
    const c = twoHealthy();
    const down = async (): Promise<HttpResponse> => ({ status: 503, body: 'Service Unavailable' });
    c.http.route('http://a.test/', down).route('http://b.test/', down);
    const read = outcome(c.pool.request(rpc(1, 'eth_blockNumber')));
    await c.clock.advance(249);
    expect(read.done).toBe(false);
    await c.clock.advance(1);
    expect(read.value).toMatchObject({ code: 'ERR_UPSTREAM_UNAVAILABLE', message: expect.stringMatching(/^All 3 attempts failed/) });
    expect(urls(c)).toEqual(['a', 'b', 'a']);
  });
});

describe('audit http.md:9-12: a read whose connection broke mid-way is asked "once more" of that node', () => {
  // "Last, a read whose connection broke mid-way on a node (...) is asked once more of that node, on
  // a new connection". test/pool/beyondCandidates.test.ts shows one more attempt, but with the
  // default maxAttempts (3) nothing tells "once more" from "again and again until attempts run out".
  it('with attempts to spare (maxAttempts 6, no pause), each broken node is asked once more, not more', async () => {
    const c = twoHealthy({ http: { maxAttempts: 6, retryDelayMs: 0 } });
    c.http.fail('http://a.test/', 'reset-after-send').fail('http://b.test/', 'reset-after-send');
    await expect(c.pool.request(rpc(1, 'eth_blockNumber'))).rejects.toMatchObject({ code: 'ERR_UPSTREAM_UNAVAILABLE', message: expect.stringMatching(/^All 4 attempts failed/) });
    expect(urls(c)).toEqual(['a', 'b', 'a', 'b']);
  });

  it('one node alone: asked, then once more, then the read fails', async () => {
    const c = fakeCluster([{ name: 'a' }], { http: { maxAttempts: 6, retryDelayMs: 0 } });
    c.pool.update('a', { status: 'healthy', head: 100 });
    c.http.fail('http://a.test/', 'reset-after-send');
    await expect(c.pool.request(rpc(1, 'eth_blockNumber'))).rejects.toMatchObject({ message: expect.stringMatching(/^All 2 attempts failed/) });
    expect(c.http.requests).toHaveLength(2);
  });
});

describe('the pause needs one node to have failed in a way that may be over in a moment, and none to have answered', () => {
  // src/pool/NodeQueue.ts: a pause when any node failed that way (b refused: it may be back in a
  // moment) and none answered; a's 404, which the same request would get again, earns none by itself.
  it('a answers 404 (no JSON-RPC body), b refuses: the read pauses 250 ms, then asks a (the best node) again', async () => {
    const c = twoHealthy();
    c.http.route('http://a.test/', async () => ({ status: 404, body: 'Not Found' }));
    c.http.fail('http://b.test/', 'refuse');
    const read = outcome(c.pool.request(rpc(1, 'eth_blockNumber')));
    await c.clock.advance(0);
    expect(urls(c)).toEqual(['a', 'b']);
    expect(read.done).toBe(false);
    await c.clock.advance(249);
    expect(urls(c)).toEqual(['a', 'b']);
    await c.clock.advance(1);
    expect(urls(c)).toEqual(['a', 'b', 'a']);
    expect(read.done).toBe(true);
    expect(read.value).toMatchObject({ code: 'ERR_UPSTREAM_UNAVAILABLE', message: expect.stringMatching(/^All 3 attempts failed/) });
  });

  it('both answer 404: no pause, the read fails at once after a and b', async () => {
    const c = twoHealthy();
    c.http.route('http://a.test/', async () => ({ status: 404, body: 'Not Found' }));
    c.http.route('http://b.test/', async () => ({ status: 404, body: 'Not Found' }));
    const read = outcome(c.pool.request(rpc(1, 'eth_blockNumber')));
    await c.clock.advance(0);
    expect(urls(c)).toEqual(['a', 'b']);
    expect(read.done).toBe(true);
  });
});
