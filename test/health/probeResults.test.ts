import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Probe, ProbeResult } from '../../src/index.js';
import { beaconProbe } from '../../examples/beacon-probe.js';
import { checkedCluster, status } from '../helpers/checkedCluster.js';

/**
 * "A probe succeeds when it returns a head and ... its head is at most maxLagBlocks behind the best
 * head among the nodes." Custom probes return `{ head, chainId? }`, chainId only when asked, and
 * optional at that.
 */
describe('the lag check with custom probes that report no chain id', () => {
  const heads: Record<string, number> = { a: 1_000, b: 900, c: 1_000 };
  const probe: Probe = async ({ node }) => ({ head: heads[node.name]! });

  it('without chainId: b, 100 blocks behind, is unhealthy', async () => {
    const c = checkedCluster([{ name: 'a' }, { name: 'b' }, { name: 'c' }], { probe });
    c.checker.start();
    await c.clock.advance(3_000);
    expect(status(c, 'b')).toBe('unhealthy');
    c.checker.close();
  });

  it('with chainId configured: b, 100 blocks behind, is still unhealthy (no node reports another chain)', async () => {
    const c = checkedCluster([{ name: 'a' }, { name: 'b' }, { name: 'c' }], { probe, chainId: 1 });
    c.checker.start();
    await c.clock.advance(3_000);
    expect(c.pool.health('b')).toMatchObject({ head: 900, lag: 100, status: 'unhealthy' });
    expect(status(c, 'a')).toBe('healthy');
    c.checker.close();
  });

  it('once a node reports another chain, only heads known to be on the expected chain count', async () => {
    // c is on chain 5 and says so; a says nothing of its chain: its head is no yardstick any more.
    const mixed: Probe = async ({ node }) =>
      node.name === 'a' ? { head: 1_000 } : node.name === 'b' ? { head: 900, chainId: 1 } : { head: 5_000, chainId: 5 };
    const c = checkedCluster([{ name: 'a' }, { name: 'b' }, { name: 'c' }], { probe: mixed, chainId: 1 });
    c.checker.start();
    await c.clock.advance(3_000);
    expect(c.pool.health('c')).toMatchObject({ status: 'unhealthy', wrongChain: true });
    expect(c.pool.health('b')).toMatchObject({ status: 'healthy', lag: 0 });
    c.checker.close();
  });
});

describe("a custom probe's result is checked", () => {
  const heads: Record<string, number> = { a: 1_000, b: 900 };
  const bad = (value: unknown): Probe => async ({ node }) => (node.name === 'c' ? (value as ProbeResult) : { head: heads[node.name]! });

  it('one node whose probe returns head NaN (Number(missing field)) does not make a lagging node healthy', async () => {
    const c = checkedCluster([{ name: 'a' }, { name: 'b' }, { name: 'c' }], { probe: bad({ head: Number(undefined) }) });
    c.checker.start();
    await c.clock.advance(3_000);
    expect(c.pool.health('c')).toMatchObject({
      status: 'unhealthy',
      head: undefined,
      lastError: 'Probe of "c" returned head NaN: expected a safe integer >= 0',
    });
    expect(c.pool.health('b')).toMatchObject({ status: 'unhealthy', lag: 100 });
    expect(c.pool.snapshot().bestHead).toBe(1_000);
    c.checker.close();
  });

  it.each([
    ['Infinity', { head: Infinity }, 'head Infinity'],
    ['negative', { head: -1 }, 'head -1'],
    ['fractional', { head: 1.5 }, 'head 1.5'],
    ['unsafe', { head: 2 ** 53 }, `head ${2 ** 53}`],
    ['a string', { head: '1000' }, 'head "1000"'],
    ['a bigint', { head: 1000n }, 'head 1000n'],
    ['a bad chain id', { head: 1_000, chainId: '0x1' }, 'chainId "0x1"'],
  ])('a head or chain id that is %s fails the probe', async (_, value, named) => {
    const c = checkedCluster([{ name: 'a' }, { name: 'b' }, { name: 'c' }], { probe: bad(value) });
    await c.checker.checkNow();
    const probe = c.probes.find((p) => p.name === 'c')!;
    expect(probe).toMatchObject({ ok: false, head: undefined });
    expect(probe.error).toMatchObject({ code: 'ERR_BAD_RESPONSE', message: expect.stringContaining(named) });
    c.checker.close();
  });

  it('a probe that resolves nothing fails, with a clear reason', async () => {
    const c = checkedCluster([{ name: 'c' }], { probe: bad(undefined), failuresToDown: 1 });
    await c.checker.checkNow();
    expect(c.pool.health('c')).toMatchObject({ status: 'unhealthy', lastError: 'Probe of "c" returned undefined instead of { head }' });
    c.checker.close();
  });

  it('head 0 and chain id 0 are fine', async () => {
    const c = checkedCluster([{ name: 'c' }], { probe: bad({ head: 0, chainId: 0 }), successesToUp: 1 });
    await c.checker.checkNow();
    expect(c.pool.health('c')).toMatchObject({ status: 'healthy', head: 0, chainId: 0 });
    c.checker.close();
  });
});

describe('examples/beacon-probe.ts reads the node answer defensively', () => {
  afterEach(() => vi.unstubAllGlobals());

  const answering = (body: unknown) => vi.fn(async () => new Response(JSON.stringify(body), { status: 200 }));
  const context = { node: { name: 'beacon0', http: 'http://beacon.test/' }, signal: new AbortController().signal, wantChainId: true, call: async () => undefined } as unknown as Parameters<Probe>[0];

  it('reads head_slot', async () => {
    vi.stubGlobal('fetch', answering({ data: { head_slot: '1234', is_syncing: false } }));
    await expect(beaconProbe(context)).resolves.toEqual({ head: 1_234 });
  });

  it.each([
    ['no head_slot', { data: { is_syncing: false } }],
    ['an empty head_slot', { data: { head_slot: '', is_syncing: false } }],
    ['a head_slot that is no number', { data: { head_slot: '12a', is_syncing: false } }],
    ['no data', {}],
    ['null', null],
  ])('fails on %s', async (_, body) => {
    vi.stubGlobal('fetch', answering(body));
    await expect(beaconProbe(context)).rejects.toMatchObject({ code: 'ERR_BAD_RESPONSE' });
  });

  it('fails a syncing node', async () => {
    vi.stubGlobal('fetch', answering({ data: { head_slot: '1234', is_syncing: true } }));
    await expect(beaconProbe(context)).rejects.toMatchObject({ code: 'ERR_LAGGING' });
  });
});
