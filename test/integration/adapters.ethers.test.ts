/**
 * steadyrpc/ethers against two real anvil nodes behind fault proxies: a real ethers v6 provider.
 */
import { Network, type Log } from 'ethers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ResilientProvider } from '../../src/ethers.js';
import { clusterNodes, cutAndRestore, describeReport, DEV_ACCOUNT, emitLog, FAST_HEALTH, LOG_TOPIC, waitFor, within, type BlockEvent } from '../adapters/realNodes.js';
import { startCluster, type Cluster } from './helpers/cluster.js';

describe('steadyrpc/ethers on real nodes', { timeout: 30_000 }, () => {
  let cluster: Cluster;
  let provider: ResilientProvider | undefined;

  beforeAll(async () => {
    cluster = await startCluster();
  }, 30_000);

  afterEach(async () => {
    provider?.destroy();
    provider = undefined;
    await cluster.a.proxy.restore();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  // cacheTimeout -1: no 250 ms result cache in ethers, so a balance shows the node that answered now.
  const connect = () => (provider = new ResilientProvider({ nodes: clusterNodes(cluster), health: FAST_HEALTH }, Network.from(31337), { cacheTimeout: -1 }));

  it('answers getBalance and send, and reads the network once when none is given', async () => {
    provider = new ResilientProvider({ nodes: clusterNodes(cluster), health: FAST_HEALTH });
    expect((await provider.getNetwork()).chainId).toBe(31337n);
    expect(await provider.getBalance(DEV_ACCOUNT)).toBe(cluster.a.anvil.balanceWei);
    expect(await provider.send('eth_chainId', [])).toBe('0x7a69');
  });

  it("keeps on('block') and an event filter delivering through a 5 s cut of the primary and after failback; no call left pending", async () => {
    const p = connect();
    const blocks: BlockEvent[] = [];
    const logs: Log[] = [];
    const errors: unknown[] = [];
    await p.on('error', (error: unknown) => errors.push(error));
    await p.on('block', (number: number) => blocks.push({ at: Date.now(), number }));
    await p.on({ topics: [LOG_TOPIC] }, (log: Log) => logs.push(log));
    await waitFor('a first block', () => blocks.length > 0, 3_000);
    expect(p.session.stats().subscriptions).toBe(2);
    expect(await p.getBalance(DEV_ACCOUNT)).toBe(cluster.a.anvil.balanceWei);

    await emitLog(cluster.a.anvil.httpUrl);
    await waitFor('a log from the primary', () => logs.length >= 1, 3_000);

    const report = await cutAndRestore({
      cluster,
      getBalance: () => p.getBalance(DEV_ACCOUNT),
      blockEvents: blocks,
      duringCut: async () => {
        await emitLog(cluster.b.anvil.httpUrl);
      },
    });
    await emitLog(cluster.a.anvil.httpUrl);
    await waitFor('a log from the primary after failback', () => logs.length >= 3, 3_000);

    console.log(`${describeReport("ethers on('block')", report)}; event filter logs: ${logs.length}`);
    expect(report.blocksDuringCut.length).toBeGreaterThanOrEqual(3);
    expect(report.blocksAfterRestore.length).toBeGreaterThanOrEqual(2);
    expect(report.settledDuringCut.every((s) => s.status === 'fulfilled')).toBe(true);
    expect(report.balancesDuringCut.slice(1).every((b) => b === cluster.b.anvil.balanceWei)).toBe(true);
    expect(report.failbackMs).toBeLessThan(5_000);
    expect(p.session.node).toBe('a');
    expect(logs.map((log) => log.topics[0])).toEqual([LOG_TOPIC, LOG_TOPIC, LOG_TOPIC]);
    expect(errors).toEqual([]);
  });

  it('destroy() rejects a call in flight on a blackholed node at once', async () => {
    const p = connect();
    expect(await p.getBalance(DEV_ACCOUNT)).toBe(cluster.a.anvil.balanceWei);
    await cluster.a.proxy.blackhole({ discard: true });
    const pending = p.getBalance(DEV_ACCOUNT).then(
      () => 'resolved',
      (error: { shortMessage?: string }) => error.shortMessage,
    );
    await waitFor('the call in flight', () => p.session.stats().inFlight > 0, 1_000);
    p.destroy();
    expect(await within(pending, 100, 'the pending getBalance')).toBe('provider destroyed; cancelled request');
  });
});
