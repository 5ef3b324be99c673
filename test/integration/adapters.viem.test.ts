/**
 * steadyrpc/viem against two real anvil nodes behind fault proxies, with a real viem client.
 */
import { createPublicClient, parseAbiItem, toEventSelector, type PublicClient } from 'viem';
import { watchBlockNumber } from 'viem/actions';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { resilientTransport, type ResilientTransport } from '../../src/viem.js';
import { clusterNodes, cutAndRestore, describeReport, DEV_ACCOUNT, emitLog, FAST_HEALTH, LOG_TOPIC, waitFor, type BlockEvent } from '../adapters/realNodes.js';
import { startCluster, type Cluster } from './helpers/cluster.js';

describe('steadyrpc/viem on real nodes', { timeout: 30_000 }, () => {
  let cluster: Cluster;
  let client: PublicClient<ResilientTransport> | undefined;

  beforeAll(async () => {
    cluster = await startCluster();
  }, 30_000);

  afterEach(async () => {
    client?.transport.close();
    client = undefined;
    await cluster.a.proxy.restore();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  const connect = () => {
    client = createPublicClient({ transport: resilientTransport({ nodes: clusterNodes(cluster), health: FAST_HEALTH }) });
    return client;
  };

  it('answers plain requests, and a batch as one frame', async () => {
    const c = createPublicClient({ transport: resilientTransport({ nodes: clusterNodes(cluster), health: FAST_HEALTH, batch: true }) });
    client = c;
    const send = vi.spyOn(c.transport.session, 'send');
    const [balance, chainId, block] = await Promise.all([c.getBalance({ address: DEV_ACCOUNT }), c.getChainId(), c.getBlockNumber()]);
    expect(send).toHaveBeenCalledTimes(1);
    expect(JSON.parse(send.mock.calls[0]![0])).toHaveLength(3);
    expect(balance).toBe(cluster.a.anvil.balanceWei);
    expect(chainId).toBe(31337);
    expect(block).toBeGreaterThanOrEqual(0n);
  });

  it('keeps watchBlockNumber({ poll: false }) and watchEvent ticking through a 5 s cut of the primary and after failback', async () => {
    const c = connect();
    const blocks: BlockEvent[] = [];
    const errors: unknown[] = [];
    watchBlockNumber(c, {
      poll: false,
      onBlockNumber: (n) => blocks.push({ at: Date.now(), number: Number(n) }),
      onError: (e) => errors.push(e),
    });
    const logs: Array<{ blockNumber: bigint | null; blockHash: string | null; logIndex: number | null; removed: boolean }> = [];
    c.watchEvent({ poll: false, event: parseAbiItem('event Ping()'), onLogs: (batch) => logs.push(...batch), onError: (e) => errors.push(e) });
    // Subscriptions, not polling: one eth_subscribe per watcher went through the session.
    await waitFor('a first block', () => blocks.length > 0, 3_000);
    expect(c.transport.session.stats().subscriptions).toBe(2);
    expect(await c.getBalance({ address: DEV_ACCOUNT })).toBe(cluster.a.anvil.balanceWei);

    await emitLog(cluster.a.anvil.httpUrl);
    await waitFor('a log from the primary', () => logs.length >= 1, 3_000);

    const report = await cutAndRestore({
      cluster,
      getBalance: () => c.getBalance({ address: DEV_ACCOUNT }),
      blockEvents: blocks,
      duringCut: async () => {
        await emitLog(cluster.b.anvil.httpUrl);
      },
    });
    await emitLog(cluster.a.anvil.httpUrl);
    const live = () => logs.filter((log) => !log.removed);
    await waitFor('a log from the primary after failback', () => live().length >= 3, 3_000);

    console.log(`${describeReport('viem watchBlockNumber({ poll: false })', report)}; watchEvent logs: ${logs.length}`);
    expect(report.blocksDuringCut.length).toBeGreaterThanOrEqual(3);
    expect(report.blocksAfterRestore.length).toBeGreaterThanOrEqual(2);
    expect(report.balancesDuringCut.length).toBeGreaterThan(0);
    // Answered by the backup while the primary was cut (the first call may have beaten the cut).
    expect(report.balancesDuringCut.slice(1).every((b) => b === cluster.b.anvil.balanceWei)).toBe(true);
    expect(report.settledDuringCut.every((s) => s.status === 'fulfilled')).toBe(true);
    expect(report.failbackMs).toBeLessThan(5_000);
    expect(c.transport.session.node).toBe('a');
    // The two anvil nodes are independent chains (a fork at genesis), so each switch is announced
    // as a reorg: the logs of the chain left are retracted (removed: true, as viem passes them on).
    const key = (log: (typeof logs)[number]) => `${log.blockHash}:${log.logIndex}`;
    expect(live()).toHaveLength(3);
    expect(logs.filter((log) => log.removed).map(key)).toEqual(live().slice(0, 2).map(key));
    expect(c.transport.session.stats().reorgs).toBe(2);
    expect(errors).toEqual([]);
    expect(toEventSelector('Ping()')).toBe(LOG_TOPIC); // what watchEvent filters on
  });
});
