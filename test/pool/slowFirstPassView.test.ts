// Found in review: consistency.waitMs ran from when pool.request() was called, not from when an
// answer was found behind the view. When reaching a node took longer than waitMs (a primary that
// accepts the request and never answers: the attempt times out after http.attemptTimeoutMs, 10 s
// by default), the first answer, from a node behind, was already past the deadline: the read got
// BEHIND ("no node caught up … within 5000 ms") without the candidate that had caught up ever being
// asked.
import { describe, expect, it } from 'vitest';
import { NodePool } from '../../src/index.js';
import { FakeClock, FakeHttpTransport, type FakeHttpHandler } from '../../src/testing/index.js';
import { outcome } from '../helpers/pool.js';

const hex = (n: number) => `0x${n.toString(16)}`;
type Req = { id: number; method: string };

function node(state: { head: number; hang?: boolean }): FakeHttpHandler {
  return (body, signal) => {
    if (state.hang) return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    const payload = JSON.parse(body) as Req | Req[];
    const answer = (r: Req) => ({ jsonrpc: '2.0', id: r.id, result: hex(state.head) });
    return Promise.resolve({ status: 200, body: JSON.stringify(Array.isArray(payload) ? payload.map(answer) : answer(payload)) });
  };
}

describe('pool.request(): a first answer behind the view that took longer than waitMs to get', () => {
  it('the caught-up candidate is still asked: its answer, not BEHIND', async () => {
    const clock = new FakeClock();
    const a = { head: 105, hang: false };
    const b = { head: 100 };
    const c = { head: 105 };
    const http = new FakeHttpTransport().route('http://a.test/', node(a)).route('http://b.test/', node(b)).route('http://c.test/', node(c));
    const pool = new NodePool({
      nodes: ['a', 'b', 'c'].map((name) => ({ name, http: `http://${name}.test/` })),
      clock,
      httpTransport: http,
      breaker: false,
      http: { attemptTimeoutMs: 2_000 },
      consistency: { waitMs: 1_000, pollMs: 250 },
    });
    for (const [name, head] of [['a', 105], ['b', 100], ['c', 105]] as const) pool.update(name, { status: 'healthy', head });
    try {
      expect(await pool.request({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] })).toMatchObject({ result: hex(105) });
      a.hang = true; // a takes requests and never answers (the probes have not seen it yet)
      const answer = outcome(pool.request({ jsonrpc: '2.0', id: 2, method: 'eth_blockNumber', params: [] }));
      await clock.advance(2_000); // a's attempt times out; b answers 100 (behind); c is at 105
      await clock.advance(2_500); // the next pass asks a again (its timeout once more), then c
      // On HEAD: { error: BEHIND } at once, c never asked.
      expect(answer.value).toEqual({ jsonrpc: '2.0', id: 2, result: hex(105) });
    } finally {
      pool.close();
    }
  });
});
