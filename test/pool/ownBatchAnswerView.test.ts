// Found in review: a batch answer a node sends with a non-2xx status (its "own" answer) was final
// when no node did better, and final answers skip the view gate. Unlike a single request's own
// answer (always an error), a batch's may hold results: an eth_blockNumber below what the client was
// given then reached it.
import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../src/index.js';
import type { FakeHttpHandler } from '../../src/testing/index.js';
import { viewFromA } from '../helpers/pool.js';

const hex = (n: number) => `0x${n.toString(16)}`;
const rpc = (id: number, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, id, method, params });

function node(head: number, status: number): FakeHttpHandler {
  return async (body) => {
    const payload = JSON.parse(body) as { id: number } | { id: number }[];
    const answer = (r: { id: number }) => ({ jsonrpc: '2.0', id: r.id, result: hex(head) });
    return { status, body: JSON.stringify(Array.isArray(payload) ? payload.map(answer) : answer(payload)) };
  };
}

describe('pool.request() and a batch answered with a non-2xx status', () => {
  it('does not answer eth_blockNumber below the view because the answer came with HTTP 500', async () => {
    const { clock, pool } = await viewFromA({ a: node(105, 200), b: node(100, 500) });

    let answer: unknown;
    void pool.request([rpc(2, 'eth_blockNumber')]).then((x) => (answer = x), (e) => (answer = e));
    await clock.advance(1_500);
    // Promised: block numbers never go back (BEHIND, or an error, after waitMs).
    expect(answer).not.toEqual([expect.objectContaining({ result: hex(100) })]);
    expect(answer).toEqual([expect.objectContaining({ id: 2, error: expect.objectContaining({ code: RpcErrorCode.BEHIND }) })]);
    pool.close();
  });
});
