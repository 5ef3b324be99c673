// Found in review: for an answer whose worth depends on the node's head and that head was not
// known high enough, the gate read the node's head (eth_blockNumber) once per item of the batch,
// one after the other: a batch of N state reads at `latest` from a node behind the view cost N
// sequential round trips before anything else happened (N requests against a rate-limited
// provider, and N × the round trip of delay, which alone can outlast consistency.waitMs).
import { describe, expect, it } from 'vitest';
import type { FakeHttpHandler } from '../../src/testing/index.js';
import { outcome, viewFromA } from '../helpers/pool.js';

const hex = (n: number) => `0x${n.toString(16)}`;
type Req = { id: number; method: string };

function node(state: { head: number }, log: string[]): FakeHttpHandler {
  return async (body) => {
    const payload = JSON.parse(body) as Req | Req[];
    const answer = (r: Req) => (log.push(r.method), { jsonrpc: '2.0', id: r.id, result: hex(state.head) });
    return { status: 200, body: JSON.stringify(Array.isArray(payload) ? payload.map(answer) : answer(payload)) };
  };
}

describe('pool.request(): the head of the node that answered a batch is read once for it', () => {
  it('a batch of 20 balances at latest from a node behind: one eth_blockNumber, not 20', async () => {
    const aLog: string[] = [];
    const bLog: string[] = [];
    const { clock, pool } = await viewFromA({ a: node({ head: 105 }, aLog), b: node({ head: 100 }, bLog) }, { breaker: false });
    try {
      const batch = Array.from({ length: 20 }, (_, i) => ({ jsonrpc: '2.0' as const, id: i + 1, method: 'eth_getBalance', params: ['0x01', 'latest'] }));
      // b's probed head (100) is below the view (105): its answers depend on its head now.
      bLog.length = 0;
      const answer = outcome(pool.request(batch));
      await clock.advance(0);
      // On HEAD: 20 eth_blockNumber, one per balance.
      expect(bLog.filter((m) => m === 'eth_blockNumber').length).toBe(1);
      await clock.advance(2_000);
      expect(answer.done).toBe(true);
    } finally {
      pool.close();
    }
  });
});
