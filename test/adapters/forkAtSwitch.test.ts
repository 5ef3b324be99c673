import { createPublicClient } from 'viem';
import { watchBlocks, watchEvent } from 'viem/actions';
import { Network } from 'ethers';
import { describe, expect, it } from 'vitest';
import { createEip1193Provider } from '../../src/index.js';
import { ResilientProvider } from '../../src/ethers.js';
import { resilientTransport } from '../../src/viem.js';
import { chainWorld, LOG_ADDRESS } from './chainWorld.js';
import { turns } from './world.js';

describe('removed logs after a fork at a switch', () => {
  it('viem watchEvent({ poll: false }) gets the left logs with removed: true, then the new branch\'s logs', async () => {
    const w = chainWorld();
    const client = createPublicClient({ transport: resilientTransport(w.options()) });
    await w.settle();
    const logs: Array<{ blockNumber: bigint | null; removed: boolean; blockHash: string | null }> = [];
    const errors: unknown[] = [];
    const unwatch = watchEvent(client, { poll: false, address: LOG_ADDRESS, onLogs: (batch) => logs.push(...(batch as any)), onError: (e) => errors.push(e) });
    await w.settle();
    await w.mine(10);
    expect(logs).toHaveLength(10);
    w.nodes.b.forkAt(2, 3);
    w.nodes.b.emitLog(LOG_ADDRESS);
    w.pool.update('b', { head: w.nodes.b.head });
    w.nodes.a.cut();
    await w.settle();
    expect(client.transport.session.node).toBe('b');
    const after = logs.slice(10);
    const removed = after.filter((l) => l.removed);
    expect(removed.map((l) => l.blockNumber)).toEqual([99n, 100n]);
    expect(removed.map((l) => l.blockHash)).toEqual(logs.slice(8, 10).map((l) => l.blockHash));
    expect(after.filter((l) => !l.removed).every((l) => l.blockNumber! >= 99n)).toBe(true);
    expect(errors).toEqual([]);
    unwatch();
    await w.settle();
    expect(w.nodes.b.subscriptionCount).toBe(0);
    client.transport.close();
    w.pool.close();
  });

  it('viem watchBlocks sees the new branch\'s blocks from the fork point, each once, with their new hashes', async () => {
    const w = chainWorld();
    const client = createPublicClient({ transport: resilientTransport(w.options()) });
    await w.settle();
    const blocks: Array<[bigint | null, string | null]> = [];
    watchBlocks(client, { onBlock: (b) => blocks.push([b.number, b.hash]) });
    await w.settle();
    await w.mine(3); // 91..93
    w.nodes.b.forkAt(1, 2); // b: 93' 94'
    w.pool.update('b', { head: w.nodes.b.head });
    w.nodes.a.cut();
    await w.settle();
    await w.settle();
    expect(blocks.map(([n]) => n)).toEqual([91n, 92n, 93n, 93n, 94n]);
    expect(blocks[3]![1]).not.toBe(blocks[2]![1]);
    expect(blocks[3]![1]).toBe(w.nodes.b.block(93).hash);
    client.transport.close();
    w.pool.close();
  });

  it('ethers: an event filter is not handed the retracted logs as new ones; (ethers routes removed logs to its orphan event)', async () => {
    const w = chainWorld();
    const p = new ResilientProvider(w.options(), Network.from(1));
    const seen: Array<{ blockNumber: number; removed: boolean; blockHash: string }> = [];
    const errors: unknown[] = [];
    void p.on('error', (e: unknown) => errors.push(e));
    await p.on({ topics: [] }, (log: any) => seen.push({ blockNumber: log.blockNumber, removed: log.removed, blockHash: log.blockHash }));
    await turns(w);
    await w.mine(10);
    await turns(w);
    expect(seen).toHaveLength(10);
    const dropped = seen.slice(8).map((l) => l.blockHash);
    w.nodes.b.forkAt(2, 3);
    w.nodes.b.emitLog(LOG_ADDRESS);
    w.pool.update('b', { head: w.nodes.b.head });
    w.nodes.a.cut();
    await turns(w);
    expect(p.session.node).toBe('b');
    expect(seen.slice(10).every((l) => !l.removed)).toBe(true);
    expect(seen.slice(10).some((l) => dropped.includes(l.blockHash))).toBe(false);
    expect(errors).toEqual([]);
    p.destroy();
    w.pool.close();
  });

  it('eip1193: the message events carry the removed logs under the client\'s subscription id', async () => {
    const w = chainWorld();
    const p = createEip1193Provider(w.options());
    const messages: any[] = [];
    p.on('message', (m) => messages.push(m));
    const sub = p.request<string>({ method: 'eth_subscribe', params: ['logs', { address: LOG_ADDRESS }] });
    await w.settle();
    const id = await sub;
    await w.mine(5);
    w.nodes.b.forkAt(1, 2);
    w.pool.update('b', { head: w.nodes.b.head });
    w.nodes.a.cut();
    await w.settle();
    const removed = messages.filter((m) => m.data.result.removed);
    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatchObject({ type: 'eth_subscription', data: { subscription: id, result: { blockNumber: '0x5f', removed: true } } });
    p.close();
    w.pool.close();
  });
});
