// Found in review: when the pass asking again what was behind in a batch came back `final` (a
// node's own errors with a non-2xx status, which no other node is asked to better), the gate
// returned the batch as it stood: an item that final answer did not answer (its body held an error
// under `id: null`, or under other ids) kept the first answer it had, the one from the node behind
// the view: a lower eth_blockNumber went to the caller, silently.
import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../src/index.js';
import type { FakeHttpHandler } from '../../src/testing/index.js';
import { outcome, viewFromA } from '../helpers/pool.js';

const hex = (n: number) => `0x${n.toString(16)}`;
const rpc = (id: number, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, id, method, params });
type Req = { id: number; method: string };

/** a: at 105 (it serves the caller's view). */
const a: FakeHttpHandler = async (body) => {
  const payload = JSON.parse(body) as Req | Req[];
  const answer = (r: Req) => ({ jsonrpc: '2.0', id: r.id, result: r.method === 'eth_chainId' ? '0x1' : hex(105) });
  return { status: 200, body: JSON.stringify(Array.isArray(payload) ? payload.map(answer) : answer(payload)) };
};

/**
 * b: answers a batch first as a node at 100; its head, asked alone, is 105 (it has caught up);
 * every later batch it answers HTTP 500 with an error under `id: null` (a proxy in front of it).
 */
function b(): FakeHttpHandler {
  let batches = 0;
  return async (body) => {
    const payload = JSON.parse(body) as Req | Req[];
    if (!Array.isArray(payload)) return { status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: payload.id, result: hex(105) }) };
    if (batches++ === 0) return { status: 200, body: JSON.stringify(payload.map((r) => ({ jsonrpc: '2.0', id: r.id, result: r.method === 'eth_chainId' ? '0x1' : hex(100) }))) };
    return { status: 500, body: JSON.stringify([{ jsonrpc: '2.0', id: null, error: { code: -32603, message: 'internal error' } }]) };
  };
}

describe('pool.request(): a final answer to what was behind in a batch', () => {
  it('an item it leaves unanswered gets BEHIND, not the answer of the node behind the view', async () => {
    const { clock, pool } = await viewFromA({ a, b: b() }, { breaker: false });
    try {
      const batch = outcome(pool.request([rpc(1, 'eth_chainId'), rpc(2, 'eth_blockNumber')]));
      await clock.advance(2_000);
      expect(batch.done).toBe(true);
      const answers = batch.value as Array<{ id: unknown; result?: unknown; error?: { code: number } }>;
      // On HEAD: [{ id: 1, result: '0x1' }, { id: 2, result: '0x64' }]: block 100, below the 105 served.
      expect(answers.find((r) => r.id === 2)).not.toMatchObject({ result: hex(100) });
      expect(answers.find((r) => r.id === 2)).toMatchObject({ error: { code: RpcErrorCode.BEHIND } });
      expect(answers.find((r) => r.id === 1)).toMatchObject({ result: '0x1' });
    } finally {
      pool.close();
    }
  });
});
