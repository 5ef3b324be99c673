/**
 * Audit of docs/guides/ethers.md against src/adapters/ethers.ts (and ethers 6.17 itself): claims no
 * existing test pinned. Fake nodes and the fake clock; ethers' own zero-delay timers are let run,
 * nothing waits for time to pass.
 */
import { Network } from 'ethers';
import { describe, expect, it, vi } from 'vitest';
import { ResilientProvider } from '../../../src/ethers.js';
import { adapterWorld, extend, sentTo, turns, unhandledRejections, until, type AdapterWorld } from '../../adapters/world.js';

const ADDRESS = '0x0000000000000000000000000000000000000001';
const RAW = '0x02f86c0180843b9aca00850ba43b740082520894000000000000000000000000000000000000000180c080a0aa';

function provider(world = adapterWorld(), session: Record<string, unknown> = {}, providerOptions?: Record<string, unknown>) {
  const options = world.nodesOptions();
  return { world, p: new ResilientProvider({ ...options, session: { ...options.session, ...session } }, Network.from(1), providerOptions) };
}

describe('ethers guide: network and provider options', () => {
  it('a network passed is static: no eth_chainId is ever sent for it', async () => {
    const { world, p } = provider();
    expect((await until(world, p.getNetwork())).chainId).toBe(1n);
    await until(world, p.getBalance(ADDRESS));
    await until(world, p.getBlockNumber());
    await until(world, p.getNetwork());
    expect(sentTo(world, 'a').filter((f) => f.method === 'eth_chainId')).toEqual([]);
    p.destroy();
  });

  it("batchMaxCount is 1 (ethers refuses more for a socket provider, before anything is opened)", () => {
    const world = adapterWorld();
    const { p } = provider(world);
    expect(p._getOption('batchMaxCount')).toBe(1);
    p.destroy();
    expect(() => new ResilientProvider(world.nodesOptions(), Network.from(1), { batchMaxCount: 2 })).toThrow(/do not support batches/);
    expect(world.clock.pendingTimers).toBe(0);
  });

  it('identical calls made together share one request (cacheTimeout 250 ms); { cacheTimeout: -1 } sends each', async () => {
    const shared = provider();
    const before = shared.world.nodes.a.calls.get('eth_getBalance') ?? 0;
    await until(shared.world, Promise.all([shared.p.getBalance(ADDRESS), shared.p.getBalance(ADDRESS)]));
    expect((shared.world.nodes.a.calls.get('eth_getBalance') ?? 0) - before).toBe(1);
    shared.p.destroy();
    const each = provider(undefined, {}, { cacheTimeout: -1 });
    await until(each.world, Promise.all([each.p.getBalance(ADDRESS), each.p.getBalance(ADDRESS)]));
    expect(each.world.nodes.a.calls.get('eth_getBalance') ?? 0).toBe(2);
    each.p.destroy();
  });
});

describe("ethers guide: a node's errors through ethers' mapping", () => {
  it('"insufficient funds" from eth_estimateGas is INSUFFICIENT_FUNDS, "nonce too low" NONCE_EXPIRED; the node\'s error on info.error', async () => {
    const { world, p } = provider(undefined, {}, { cacheTimeout: -1 });
    let message = 'insufficient funds for gas * price + value';
    extend(world.nodes.a, (r) => (r.method === 'eth_estimateGas' ? { error: { code: -32000, message } } : undefined));
    const funds = (await until(world, p.estimateGas({ to: ADDRESS, value: 1n }).catch((e: unknown) => e))) as any;
    expect(funds).toMatchObject({ code: 'INSUFFICIENT_FUNDS', info: { error: { code: -32000, message } } });
    message = 'nonce too low: next nonce 5, tx nonce 1';
    const nonce = (await until(world, p.estimateGas({ to: ADDRESS, value: 1n }).catch((e: unknown) => e))) as any;
    expect(nonce).toMatchObject({ code: 'NONCE_EXPIRED', info: { error: { code: -32000, message } } });
    p.destroy();
  });

  it('the same from a sent transaction (eth_sendRawTransaction)', async () => {
    const { world, p } = provider(undefined, {}, { cacheTimeout: -1 });
    let message = 'insufficient funds for gas * price + value';
    extend(world.nodes.a, (r) => (r.method === 'eth_sendRawTransaction' ? { error: { code: -32000, message } } : undefined));
    const funds = (await until(world, p.send('eth_sendRawTransaction', [RAW]).catch((e: unknown) => e))) as any;
    expect(funds).toMatchObject({ code: 'INSUFFICIENT_FUNDS', info: { error: { code: -32000, message } } });
    message = 'nonce too low';
    const nonce = (await until(world, p.send('eth_sendRawTransaction', [RAW]).catch((e: unknown) => e))) as any;
    expect(nonce).toMatchObject({ code: 'NONCE_EXPIRED', info: { error: { code: -32000, message } } });
    p.destroy();
  });
});

describe("ethers guide: steadyrpc's own errors for every method", () => {
  it('UPSTREAM_UNAVAILABLE on a plain send() is SERVER_ERROR with request, info.error, info.payload and shortMessage', async () => {
    const { world, p } = provider();
    await until(world, p.getBalance(ADDRESS));
    world.nodes.a.blackhole();
    const pending = p.send('eth_blockNumber', []).catch((e: unknown) => e);
    await turns(world);
    p.session.close(); // the session closes with the call owed: UPSTREAM_UNAVAILABLE (-32050) under its id
    const error = (await until(world, pending)) as any;
    expect(error).toMatchObject({ code: 'SERVER_ERROR', request: 'eth_blockNumber', info: { error: { code: -32050 }, payload: { method: 'eth_blockNumber' } } });
    expect(error.shortMessage).toBe(error.info.error.message);
    p.destroy();
  });
});

describe("ethers guide: ethers' own subscriptions asked again, 500 ms doubling to 30 s, on the session's clock", () => {
  const unhandled = unhandledRejections();

  it('on("block") refused QUEUE_FULL is asked again after 0.5, 1, 2, 4, 8, 16, 30 and 30 s', async () => {
    const world = adapterWorld();
    world.nodes.a.cut();
    world.nodes.b.cut();
    const { p } = provider(world, { queue: { maxCount: 1, maxWaitMs: 600_000 } });
    const waiting = p.send('eth_blockNumber', []).catch(() => {}); // fills the queue
    await turns(world);
    const attempts: number[] = [];
    const send = p.session.send.bind(p.session);
    vi.spyOn(p.session, 'send').mockImplementation((text: string) => {
      if (text.includes('"eth_subscribe"')) attempts.push(world.clock.now());
      return send(text);
    });
    await p.on('block', () => {});
    await turns(world);
    for (let t = 0; t < 184; t++) {
      await world.clock.advance(500);
      await turns(world, 1);
    }
    expect(world.clock.now()).toBe(92_000);
    expect(attempts).toEqual([0, 500, 1_500, 3_500, 7_500, 15_500, 31_500, 61_500, 91_500]);
    expect(unhandled.reasons).toEqual([]);
    p.destroy();
    await waiting;
  });
});
