// Found in review: the view gate took the higher of a node's probed head and the head it answered
// when asked, so once a node's head went down (a geth that rewound after an unclean shutdown, a node
// restored from a snapshot, an endpoint balancing over several nodes) the gate kept trusting it at
// its old head, and its state at `latest`, older than what the client was given, went through.
import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../src/index.js';
import type { FakeHttpHandler } from '../../src/testing/index.js';
import { viewFromA } from '../helpers/pool.js';

const hex = (n: number) => `0x${n.toString(16)}`;
const rpc = (id: number, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, id, method, params });

/** A node whose head is `state.head`; its balance for any address is its head (so stale state shows). */
function node(state: { head: number }): FakeHttpHandler {
  return async (body) => {
    const payload = JSON.parse(body) as { id: number; method: string } | { id: number; method: string }[];
    const answer = (r: { id: number; method: string }) =>
      r.method === 'eth_blockNumber' || r.method === 'eth_getBalance'
        ? { jsonrpc: '2.0', id: r.id, result: hex(state.head) }
        : { jsonrpc: '2.0', id: r.id, error: { code: -32601, message: 'the method does not exist/is not available' } };
    return { status: 200, body: JSON.stringify(Array.isArray(payload) ? payload.map(answer) : answer(payload)) };
  };
}

describe('pool.request() and a node whose head went down', () => {
  it('does not pass on state at latest from a node whose probed head is below the view', async () => {
    const a = { head: 105 };
    const b = { head: 100 };
    const { clock, pool } = await viewFromA({ a: node(a), b: node(b) }, { breaker: false });

    // b catches up to 105 before its probe says so: the gate asks it for its head and serves it.
    b.head = 105;
    const first = pool.request(rpc(2, 'eth_getBalance', ['0x01', 'latest']));
    await clock.advance(0);
    expect(await first).toMatchObject({ result: hex(105) });

    // b crashes and rewinds to 100 (geth does on an unclean shutdown); its probe reads 100.
    await clock.advance(5_000);
    b.head = 100;
    pool.update('b', { head: 100, headAt: clock.now() });
    expect(pool.headOf('b')).toBe(100);

    let answer: unknown;
    void pool.request(rpc(3, 'eth_getBalance', ['0x01', 'latest'])).then((x) => (answer = x), (e) => (answer = e));
    await clock.advance(1_500);
    // Promised: state at latest only from a node at the view (105), else BEHIND after waitMs.
    // On HEAD: b's state at 100 is returned as the answer.
    expect(answer).not.toMatchObject({ result: hex(100) });
    expect(answer).toMatchObject({ id: 3, error: { code: RpcErrorCode.BEHIND } });
    pool.close();
  });
});
