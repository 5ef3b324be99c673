// Found in review: the view gate read a block argument only as a hex quantity or a tag. Erigon
// reads a decimal string ("103") and a JSON number (103) as that block (rpc/types.go,
// BlockNumber.UnmarshalJSON: strconv.ParseUint(input, 10, 64) first, then hex), and anvil reads a
// JSON number so too: such a read of a block the caller was given, served by a node behind, was
// never held, and its `null` reached the caller.
import { describe, expect, it } from 'vitest';
import { RpcErrorCode } from '../../src/index.js';
import { outcome, poolAfterCut, viewFromA } from '../helpers/pool.js';
import type { FakeHttpHandler } from '../../src/testing/index.js';
import { ChainView } from '../../src/consistency/ChainView.js';

const rpc = (id: number, method: string, params: unknown[] = []) => ({ jsonrpc: '2.0' as const, id, method, params });

describe('pool.request(): a block number written in decimal, as erigon and anvil read it', () => {
  it('eth_getBlockByNumber(103) (a JSON number, anvil and erigon read it as block 103) of a served block waits, not null', async () => {
    const c = await poolAfterCut({ consistency: { waitMs: 1_000, pollMs: 250 } });
    try {
      const block = outcome(c.pool.request(rpc(2, 'eth_getBlockByNumber', [103, false])));
      await c.clock.advance(500);
      // On HEAD: b (at 100) answers null for block 103, which the pool has served: it went through.
      expect(block.done).toBe(false);
      c.nodes.b!.advance(3);
      c.pool.update('b', { head: 103 });
      await c.clock.advance(250);
      expect(block.value).toMatchObject({ id: 2, result: { number: '0x67' } });
    } finally {
      c.pool.close();
    }
  });

  it('nothing caught up: BEHIND after waitMs, never null', async () => {
    const c = await poolAfterCut({ consistency: { waitMs: 1_000, pollMs: 250 } });
    try {
      const block = outcome(c.pool.request(rpc(2, 'eth_getBlockByNumber', [103, false])));
      await c.clock.advance(1_500);
      expect(block.value).toMatchObject({ id: 2, error: { code: RpcErrorCode.BEHIND } });
    } finally {
      c.pool.close();
    }
  });

  it('ChainView: a decimal string and a JSON number name the block as 0x67 does', () => {
    const view = new ChainView();
    view.raise(103);
    const hexDemand = view.demand('eth_getBlockByNumber', ['0x67', false], 103);
    expect(hexDemand).toBeDefined();
    expect(view.demand('eth_getBlockByNumber', ['103', false], 103)).toEqual(hexDemand);
    expect(view.demand('eth_getBlockByNumber', [103, false], 103)).toEqual(hexDemand);
    expect(view.demand('eth_getBalance', ['0x01', 103], 103)).toEqual(view.demand('eth_getBalance', ['0x01', '0x67'], 103));
    expect(view.demand('eth_getLogs', [{ fromBlock: '100', toBlock: '103' }], 110)).toEqual({ kind: 'head', need: 103, onlyIfMissing: false });
    // Not numbers: left as they were (never held).
    for (const odd of ['', '-1', '1e3', '0x', 'soon', 1.5, -1]) expect(view.demand('eth_getBlockByNumber', [odd, false], 103)).toBeUndefined();
  });

  // Found in review: erigon reads the string "null" as `latest` (rpc/types.go, BlockNumber.UnmarshalJSON,
  // `case "null": *bn = LatestBlockNumber`), so a lagging erigon answered it with its older head and state.
  it('ChainView: the string "null" names latest, as erigon reads it', () => {
    const view = new ChainView();
    view.raise(103);
    expect(view.demand('eth_getBalance', ['0x01', 'null'], 100)).toBeDefined();
    expect(view.demand('eth_getBalance', ['0x01', 'null'], 100)).toEqual(view.demand('eth_getBalance', ['0x01', 'latest'], 100));
    expect(view.demand('eth_getBlockByNumber', ['null', false], 100)).toEqual(view.demand('eth_getBlockByNumber', ['latest', false], 100));
  });

  it('eth_getBalance(addr, "null") from a node behind the served head: held, answered once it caught up', async () => {
    // Each node answers any read with its head, as erigon would read "null": at its latest block.
    const head = { a: 105, b: 100 };
    const erigon = (name: 'a' | 'b'): FakeHttpHandler => async (body) => {
      const r = JSON.parse(body) as { id: number };
      return { status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: r.id, result: `0x${head[name].toString(16)}` }) };
    };
    const { clock, pool } = await viewFromA({ a: erigon('a'), b: erigon('b') }, { breaker: false });
    try {
      const balance = outcome(pool.request(rpc(2, 'eth_getBalance', ['0x01', 'null'])));
      await clock.advance(500);
      // Before: b's state at block 100 (0x64) went to a caller given block 105.
      expect(balance.done).toBe(false);
      head.b = 105;
      pool.update('b', { head: 105 });
      await clock.advance(250);
      expect(balance.value).toMatchObject({ id: 2, result: '0x69' });
    } finally {
      pool.close();
    }
  });
});
