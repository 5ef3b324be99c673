import { RpcRequestError } from 'viem';
import { describe, expect, it } from 'vitest';
import type { AdapterWorld } from './world.js';
import { ADDRESS, viemClient } from './viemClient.js';

const RAW = '0x02f86c0180843b9aca00850ba43b740082520894000000000000000000000000000000000000000180c080a0aa' as const;

const sentOf = (world: AdapterWorld, name: string, method: string) =>
  world.sockets.sockets.filter((s) => s.endpoint.url === `ws://${name}.test/`).flatMap((s) => s.sentJson() as any[]).filter((f) => f.method === method);

describe('viem: writes and retries', () => {
  it('eth_sendTransaction cut mid-flight surfaces NOT_RESENT (-32053) and is sent once, even with retryCount 3', async () => {
    const { world, client } = await viemClient({ retryCount: 3 });
    world.nodes.a.blackhole(); // a takes the frame and goes silent
    const tx = { from: ADDRESS, to: ADDRESS, value: '0x1' };
    const sent = client.request({ method: 'eth_sendTransaction', params: [tx] } as never).catch((e: unknown) => e);
    await world.settle();
    expect(sentOf(world, 'a', 'eth_sendTransaction')).toHaveLength(1);
    world.nodes.a.cut();
    await world.settle();
    await world.clock.advance(10_000);
    await world.settle();
    const error = await sent;
    expect(error).toBeInstanceOf(RpcRequestError);
    expect((error as RpcRequestError).code).toBe(-32053);
    expect(sentOf(world, 'b', 'eth_sendTransaction')).toHaveLength(0);
    expect(sentOf(world, 'a', 'eth_sendTransaction')).toHaveLength(1);
    client.transport.close();
  });

  it('eth_sendRawTransaction cut mid-flight is re-sent to the next node once (documented: repeatable), not again by viem', async () => {
    const { world, client } = await viemClient({ retryCount: 3 });
    world.nodes.a.blackhole();
    const sent = client.request({ method: 'eth_sendRawTransaction', params: [RAW] }).catch((e: unknown) => e);
    await world.settle();
    world.nodes.a.cut();
    await world.settle();
    await world.clock.advance(10_000);
    await world.settle();
    await sent;
    expect(sentOf(world, 'a', 'eth_sendRawTransaction')).toHaveLength(1);
    expect(sentOf(world, 'b', 'eth_sendRawTransaction')).toHaveLength(1);
    client.transport.close();
  });

  it('batch: a write and a read in one batch cut mid-flight: the write gets NOT_RESENT, the read its result (matched by id)', async () => {
    const { world, client } = await viemClient({ batch: true });
    world.nodes.a.blackhole();
    const tx = { from: ADDRESS, to: ADDRESS, value: '0x1' };
    const write = client.request({ method: 'eth_sendTransaction', params: [tx] } as never).catch((e: unknown) => e);
    const read = client.request({ method: 'eth_getBalance', params: [ADDRESS, 'latest'] }).catch((e: unknown) => e);
    await world.clock.advance(0);
    await world.settle();
    world.nodes.a.cut();
    await world.settle();
    await world.clock.advance(10_000);
    await world.settle();
    expect(await read).toBe('0x2');
    expect(await write).toMatchObject({ code: -32053 });
    client.transport.close();
  });

  it('BEHIND (-32055) surfaces as an error, never as a null block', async () => {
    const { world, client } = await viemClient();
    const blocks: bigint[] = [];
    client.watchBlockNumber({ onBlockNumber: (n) => blocks.push(n) });
    await world.settle();
    world.nodes.a.advance(1); // the client has seen 101
    await world.settle();
    expect(blocks).toEqual([101n]);
    world.nodes.a.cut(); // b is at 100 and stays there
    await world.settle();
    expect(client.transport.session.node).toBe('b');
    const block = client.getBlock({ blockNumber: 101n }).catch((e: unknown) => e);
    for (let i = 0; i < 20; i++) {
      await world.clock.advance(1_000);
      await world.settle();
    }
    const got = await block;
    expect(got).toBeInstanceOf(Error);
    expect((got as any).walk((e: any) => e?.code === -32055)).toBeTruthy();
    client.transport.close();
  });
});

