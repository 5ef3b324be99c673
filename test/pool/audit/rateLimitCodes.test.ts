import { describe, expect, it } from 'vitest';
import type { RateLimitEvent } from '../../../src/index.js';
import { classifyNodeError } from '../../../src/index.js';
import { FakeNode, type FakeHttpHandler } from '../../../src/testing/index.js';
import { httpPool } from '../../helpers/scriptedHttp.js';

/**
 * Audit of docs/guides/http.md:152-156: "a JSON-RPC error `classifyError` calls 'rate-limited' — by
 * default code 429 (Alchemy over WebSocket, QuickNode), -32029 (TheRPC), ...". The code
 * (src/pool/nodeErrors.ts:51, 100) takes the code alone as a rate limit, whatever the text. Every
 * existing test (test/pool/nodeErrors.test.ts:138-143, test/pool/httpRateLimits.test.ts) pairs
 * these codes with a message the text patterns catch anyway, so dropping a code from the set goes
 * unnoticed.
 */

const read = (id: number) => ({ jsonrpc: '2.0' as const, id, method: 'eth_getBalance', params: ['0x0', 'latest'] });

/** Node a answers each request with HTTP 200 and the JSON-RPC error `error`; b is a FakeNode. */
function rig(error: { code: number; message: string }) {
  const b = new FakeNode({ name: 'b', balance: 2n, head: 100 });
  const a: FakeHttpHandler = async (body) => ({ status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: (JSON.parse(body) as { id: unknown }).id, error }) });
  const { pool, http } = httpPool({ a, b: b.http }, { consistency: { monotonic: false } });
  const events: RateLimitEvent[] = [];
  pool.on('rateLimited', (event) => events.push(event));
  return { pool, http, events };
}

describe('audit http.md:153-154: the codes 429 and -32029 are rate limits by themselves', () => {
  it.each([
    [429, 'Request failed'],
    [-32029, 'Please slow down'],
  ])('classifyNodeError: code %i with a message no text pattern knows ("%s") is rate-limited', (code, message) => {
    expect(classifyNodeError({ code, message }, 'eth_getBalance')).toBe('rate-limited');
  });

  it.each([
    [429, 'Request failed'],
    [-32029, 'Please slow down'],
  ])('pool.request(): code %i ("%s") with HTTP 200 cools the node down and the read is answered by the next', async (code, message) => {
    const { pool, http, events } = rig({ code, message });
    expect(await pool.request(read(1))).toEqual({ jsonrpc: '2.0', id: 1, result: '0x2' });
    expect(events).toEqual([{ name: 'a', until: 1_000, ms: 1_000, source: 'rpc-error' }]);
    http.requests.length = 0;
    await pool.request(read(2));
    expect(http.requests.map((r) => r.url)).toEqual(['http://b.test/']);
  });

  it('contrast: code -32000 with the same neutral text is the answer (no cool-down, b never asked)', async () => {
    const { pool, http, events } = rig({ code: -32000, message: 'Request failed' });
    expect(await pool.request(read(1))).toEqual({ jsonrpc: '2.0', id: 1, error: { code: -32000, message: 'Request failed' } });
    expect(events).toEqual([]);
    expect(http.requests.map((r) => r.url)).toEqual(['http://a.test/']);
  });
});
