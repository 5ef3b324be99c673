import { AbstractProvider, Contract, Interface, isCallException, isError, Network, SocketProvider } from 'ethers';
import { describe, expect, it } from 'vitest';
import type { FakeNode } from '../../src/testing/index.js';
import { ResilientProvider } from '../../src/ethers.js';
import { adapterWorld, extend, turns, until, type AdapterWorld } from './world.js';

const ADDRESS = '0x0000000000000000000000000000000000000001';
const iface = new Interface(['function boom() view returns (uint256)', 'error Oops(uint256 code, string why)']);
const revertData = iface.encodeErrorResult('Oops', [7n, 'nope']);

function provider(world = adapterWorld(), session: Record<string, unknown> = {}) {
  const options = world.nodesOptions();
  return { world, p: new ResilientProvider({ ...options, session: { ...options.session, ...session } }, Network.from(1), { cacheTimeout: -1 }) };
}

/** ethers' own SocketProvider over the same fake node, without steadyrpc: the reference. */
class Plain extends SocketProvider {
  constructor(readonly node: FakeNode) {
    super(Network.from(1));
    this._start();
  }
  override async _write(message: string): Promise<void> {
    queueMicrotask(() => void this._processMessage(JSON.stringify(this.node.answer(JSON.parse(message)))));
  }
}

async function boom(world: AdapterWorld, p: AbstractProvider) {
  const contract = new Contract(ADDRESS, iface, p);
  return (await until(world, contract.boom!().catch((e: unknown) => e))) as any;
}

/**
 * steadyrpc's own answers (an outage, a timeout, a limit) are not what a node said about the call.
 * ethers' getRpcError reads any eth_call / eth_estimateGas error as a revert (CALL_EXCEPTION,
 * "missing revert data"), so ResilientProvider maps steadyrpc's codes itself: TIMEOUT for
 * REQUEST_TIMEOUT, SERVER_ERROR for the others, with steadyrpc's error on `info.error`.
 */
describe('ethers: steadyrpc\'s own errors are not reverts', () => {
  it('a contract call while every node is down rejects with TIMEOUT (REQUEST_TIMEOUT on info.error), not CALL_EXCEPTION', async () => {
    const world = adapterWorld();
    world.nodes.a.cut();
    world.nodes.b.cut();
    const { p } = provider(world);
    const call = boom(world, p);
    await turns(world);
    await world.clock.advance(11_000); // past queue.maxWaitMs
    const error = await until(world, call);
    expect(isCallException(error)).toBe(false);
    expect(isError(error, 'TIMEOUT')).toBe(true);
    expect(error).toMatchObject({
      operation: 'eth_call',
      reason: 'timeout',
      shortMessage: 'Request timed out waiting for an upstream node',
      info: { error: { code: -32052, message: 'Request timed out waiting for an upstream node' }, payload: { method: 'eth_call' } },
    });
    p.destroy();
  });

  it('estimateGas refused QUEUE_FULL rejects with SERVER_ERROR (QUEUE_FULL on info.error), not CALL_EXCEPTION', async () => {
    const world = adapterWorld();
    world.nodes.a.cut();
    world.nodes.b.cut();
    const { p } = provider(world, { queue: { maxCount: 1 } });
    const first = p.send('eth_blockNumber', []).catch((e: unknown) => e); // fills the queue
    const error = (await until(world, p.estimateGas({ to: ADDRESS, data: '0x' }).catch((e: unknown) => e))) as any;
    expect(isCallException(error)).toBe(false);
    expect(isError(error, 'SERVER_ERROR')).toBe(true);
    expect(error).toMatchObject({ request: 'eth_estimateGas', info: { error: { code: -32051 } } });
    p.destroy();
    await first;
  });

  it('LIMIT_EXCEEDED from the session (data { limit, max }) is SERVER_ERROR; a node\'s own -32005 keeps ethers\' mapping', async () => {
    const { world, p } = provider(undefined, { maxInFlight: 1 });
    world.nodes.a.blackhole(); // the first call stays in flight
    await turns(world);
    const first = p.send('eth_blockNumber', []).catch((e: unknown) => e);
    const limited = (await until(world, p.call({ to: ADDRESS, data: '0x' }).catch((e: unknown) => e))) as any;
    expect(isCallException(limited)).toBe(false);
    expect(limited).toMatchObject({ code: 'SERVER_ERROR', info: { error: { code: -32005, data: { limit: 'maxInFlight', max: 1 } } } });
    p.destroy();
    await first;

    const other = provider();
    extend(other.world.nodes.a, (r) => (r.method === 'eth_call' ? { error: { code: -32005, message: 'daily request count exceeded' } } : undefined));
    const nodes = (await until(other.world, other.p.call({ to: ADDRESS, data: '0x' }).catch((e: unknown) => e))) as any;
    expect(isCallException(nodes)).toBe(true); // what ethers makes of a node's eth_call error, as over its own providers
    other.p.destroy();
  });

  it('BEHIND: getBlock of a block the client saw, with only a node behind it left, rejects with SERVER_ERROR instead of answering null', async () => {
    const { world, p } = provider();
    const blocks: number[] = [];
    await p.on('block', (n: number) => blocks.push(n));
    await turns(world);
    world.nodes.a.advance(1);
    await turns(world);
    expect(blocks).toEqual([101]);
    world.nodes.a.cut();
    await turns(world);
    expect(p.session.node).toBe('b');
    const block = p.getBlock(101).then((b) => b, (e: unknown) => e);
    for (let i = 0; i < 20; i++) {
      await world.clock.advance(1_000);
      await turns(world, 1);
    }
    expect(await block).toMatchObject({ code: 'SERVER_ERROR', info: { error: { code: -32055 } } });
    p.destroy();
  });

  it('eth_sendTransaction cut mid-flight rejects with SERVER_ERROR (NOT_RESENT on info.error), sent once', async () => {
    const { world, p } = provider();
    await until(world, p.getBalance(ADDRESS));
    world.nodes.a.blackhole();
    const sent = p.send('eth_sendTransaction', [{ from: ADDRESS, to: ADDRESS }]).catch((e: unknown) => e);
    await turns(world);
    world.nodes.a.cut();
    await turns(world);
    expect(await until(world, sent)).toMatchObject({ code: 'SERVER_ERROR', info: { error: { code: -32053 } } });
    const sendsTo = (name: string) =>
      world.sockets.sockets.filter((s) => s.endpoint.url === `ws://${name}.test/`).flatMap((s) => s.sentJson() as any[]).filter((f) => f.method === 'eth_sendTransaction');
    expect(sendsTo('a')).toHaveLength(1);
    expect(sendsTo('b')).toHaveLength(0);
    p.destroy();
  });
});

describe('ethers: a node\'s errors as ethers maps them', () => {
  it('a custom-error revert (code 3, data) decodes to CALL_EXCEPTION with revert Oops(7, "nope")', async () => {
    const { world, p } = provider();
    extend(world.nodes.a, (r) => (r.method === 'eth_call' ? { error: { code: 3, message: 'execution reverted', data: revertData } } : undefined));
    const error = await boom(world, p);
    expect(isCallException(error)).toBe(true);
    expect(error.data).toBe(revertData);
    expect(error.revert).toMatchObject({ name: 'Oops', args: [7n, 'nope'] });
    p.destroy();
  });

  it('-32000 with revert data, and data as an object, decode as over a plain SocketProvider', async () => {
    const { world, p } = provider();
    const plain = new Plain(world.nodes.a);
    let shape: 'flat' | 'object' = 'flat';
    extend(world.nodes.a, (r) =>
      r.method === 'eth_call'
        ? { error: shape === 'flat' ? { code: -32000, message: 'execution reverted', data: revertData } : { code: -32015, message: 'VM Exception', data: { data: revertData } } }
        : undefined,
    );
    const flat = await boom(world, p);
    const plainFlat = await boom(world, plain);
    shape = 'object';
    const object = await boom(world, p);
    const plainObject = await boom(world, plain);
    expect(isCallException(flat)).toBe(true);
    expect(flat.revert).toMatchObject({ name: 'Oops', args: [7n, 'nope'] });
    for (const [got, want] of [[flat, plainFlat], [object, plainObject]]) {
      expect({ code: got.code, data: got.data, revert: got.revert?.name, reason: got.reason }).toEqual({ code: want.code, data: want.data, revert: want.revert?.name, reason: want.reason });
    }
    p.destroy();
    plain.destroy();
  });

  it('a code ethers does not map is UNKNOWN_ERROR with the node\'s error on error.error', async () => {
    const { world, p } = provider();
    world.nodes.a.setMode('rpc-error');
    const error = await until(world, p.send('eth_blockNumber', []).catch((e: unknown) => e));
    expect(error).toMatchObject({ code: 'UNKNOWN_ERROR', error: { code: -32603, message: 'a: internal error' } });
    p.destroy();
  });

  it('a null result is null (getBlock of a block not there)', async () => {
    const { world, p } = provider();
    expect(await until(world, p.getBlock(1_000))).toBeNull();
    p.destroy();
  });
});
