import { describe, expect, it } from 'vitest';
import type { HedgeEvent, HedgeOptions, JsonRpcRequest, NodePoolOptions } from '../../../src/index.js';
import { NodePool } from '../../../src/index.js';
import { FakeClock, FakeHttpTransport } from '../../../src/testing/index.js';

/**
 * Audit of docs/guides/http.md:231-258 (hedged reads), two details no test pins:
 * - http.md:234 / reference.md:31: the percentile is "of that node's own latency over its last 128
 *   answers" ("answered attempts"): failed attempts are no samples (src/pool/HedgedSend.ts:99).
 * - http.md:256: "A failure or a 'not this node' answer with nothing else in flight fails over at
 *   once". With a copy in flight, that copy is the failover: no further node is asked
 *   (src/pool/HedgedSend.ts:179-186). Without that, a failing primary would cost a third node a
 *   request while the copy is still running.
 */

const read = (id: number): JsonRpcRequest => ({ jsonrpc: '2.0', id, method: 'eth_getBalance', params: ['0x0', 'latest'] });

/** How a node answers now: after `ms` on the fake clock, with its name as the result or with HTTP `status`. */
interface Reply {
  ms: number;
  status?: number;
}

function rig(replies: Record<string, Reply>, hedge: HedgeOptions, options: Partial<NodePoolOptions> = {}) {
  const clock = new FakeClock();
  const seen: string[] = [];
  const http = new FakeHttpTransport();
  for (const name of Object.keys(replies)) {
    http.route(`http://${name}.test/`, (body, signal) => {
      seen.push(name);
      const { id } = JSON.parse(body) as { id: number };
      const { ms, status = 200 } = replies[name]!;
      return new Promise((resolve, reject) => {
        const timer = clock.setTimeout(() => resolve({ status, body: status === 200 ? JSON.stringify({ jsonrpc: '2.0', id, result: name }) : 'oops' }), ms);
        signal.addEventListener('abort', () => (clock.clearTimeout(timer), reject(signal.reason)), { once: true });
      });
    });
  }
  const pool = new NodePool({
    nodes: Object.keys(replies).map((name) => ({ name, http: `http://${name}.test/` })),
    clock,
    httpTransport: http,
    consistency: { monotonic: false },
    hedge,
    ...options,
  });
  for (const name of Object.keys(replies)) pool.update(name, { status: 'healthy', head: 100 });
  const hedges: HedgeEvent[] = [];
  pool.on('hedged', (event) => hedges.push(event));
  const timed = async (payload: JsonRpcRequest) => {
    let done: { at: number; answer: unknown } | undefined;
    const start = clock.now();
    void pool.request(payload).then((answer) => (done = { at: clock.now() - start, answer }));
    for (let i = 0; i < 5_000 && done === undefined; i++) await clock.advance(1);
    return done!;
  };
  return { clock, pool, seen, hedges, timed, replies };
}

describe('audit http.md:234: the percentile is over the node’s answers; failed attempts are no samples', () => {
  it('20 fast failures of a (HTTP 500 at once) leave a with no samples: a slow answer of a is still waited for delayMs, not hedged at once', async () => {
    const replies: Record<string, Reply> = { a: { ms: 0, status: 500 }, b: { ms: 5 } };
    const { seen, hedges, timed } = rig(replies, { delayMs: 1_000, percentile: 50 }, { breaker: false });
    for (let i = 0; i < 20; i++) expect((await timed(read(i))).answer).toMatchObject({ result: 'b' });
    expect(hedges).toEqual([]);
    replies.a = { ms: 300 };
    seen.length = 0;
    const done = await timed(read(99));
    expect(done).toEqual({ at: 300, answer: { jsonrpc: '2.0', id: 99, result: 'a' } });
    expect(seen).toEqual(['a']);
    expect(hedges).toEqual([]);
  });
});

describe('audit http.md:256: a primary that fails while its copy is in flight: the copy is the failover', () => {
  it('a fails at 150 ms, b (the copy, sent at 100 ms) answers at 400 ms: c is never asked', async () => {
    const { seen, hedges, timed } = rig({ a: { ms: 150, status: 500 }, b: { ms: 300 }, c: { ms: 1 } }, { delayMs: 100 });
    const done = await timed(read(1));
    expect(done).toEqual({ at: 400, answer: { jsonrpc: '2.0', id: 1, result: 'b' } });
    expect(seen).toEqual(['a', 'b']);
    expect(hedges).toEqual([{ name: 'b', primary: 'a', won: true }]);
  });
});
