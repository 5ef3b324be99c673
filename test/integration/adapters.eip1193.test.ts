/**
 * createEip1193Provider against two real anvil nodes behind fault proxies.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEip1193Provider, type Eip1193Provider, type Eip1193SubscriptionMessage } from '../../src/index.js';
import { clusterNodes, cutAndRestore, describeReport, DEV_ACCOUNT, FAST_HEALTH, waitFor, type BlockEvent } from '../adapters/realNodes.js';
import { startCluster, type Cluster } from './helpers/cluster.js';

describe('createEip1193Provider on real nodes', { timeout: 30_000 }, () => {
  let cluster: Cluster;
  let provider: Eip1193Provider | undefined;

  beforeAll(async () => {
    cluster = await startCluster();
  }, 30_000);

  afterEach(async () => {
    provider?.close();
    provider = undefined;
    await cluster.a.proxy.restore();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('answers requests during a 5 s cut of the primary; notifications keep their subscription id; no disconnect', async () => {
    const p = (provider = createEip1193Provider({ nodes: clusterNodes(cluster), health: FAST_HEALTH }));
    const events: string[] = [];
    const connected = new Promise<{ chainId: string }>((resolve) => p.on('connect', resolve));
    p.on('connect', () => events.push('connect'));
    p.on('disconnect', () => events.push('disconnect'));
    p.on('chainChanged', () => events.push('chainChanged'));
    const messages: Array<Eip1193SubscriptionMessage & { at: number }> = [];
    p.on('message', (message) => messages.push({ ...message, at: Date.now() }));
    expect(await connected).toEqual({ chainId: '0x7a69' });

    const subscription = await p.request<string>({ method: 'eth_subscribe', params: ['newHeads'] });
    const blocks: BlockEvent[] = [];
    p.on('message', ({ data }) => blocks.push({ at: Date.now(), number: Number((data.result as { number: string }).number) }));
    await waitFor('a first head', () => blocks.length > 0, 3_000);
    const balance = async () => BigInt(await p.request<string>({ method: 'eth_getBalance', params: [DEV_ACCOUNT, 'latest'] }));
    expect(await balance()).toBe(cluster.a.anvil.balanceWei);

    const report = await cutAndRestore({ cluster, getBalance: balance, blockEvents: blocks });

    console.log(describeReport('EIP-1193 message (newHeads)', report));
    expect(report.settledDuringCut.every((s) => s.status === 'fulfilled')).toBe(true);
    expect(report.balancesDuringCut.slice(1).every((b) => b === cluster.b.anvil.balanceWei)).toBe(true);
    expect(report.blocksDuringCut.length).toBeGreaterThanOrEqual(3);
    expect(report.blocksAfterRestore.length).toBeGreaterThanOrEqual(2);
    expect(report.failbackMs).toBeLessThan(5_000);
    expect(new Set(messages.map((m) => m.data.subscription))).toEqual(new Set([subscription]));
    expect(messages.every((m) => m.type === 'eth_subscription')).toBe(true);
    expect(events).toEqual(['connect']);
    expect(p.session.node).toBe('a');
  });

  it('emits disconnect (4900) when every node is cut, and connect when they are back', async () => {
    const p = (provider = createEip1193Provider({ nodes: clusterNodes(cluster), health: FAST_HEALTH }));
    const events: Array<[string, unknown]> = [];
    p.on('connect', (info) => events.push(['connect', info]));
    p.on('disconnect', (error) => events.push(['disconnect', error.code]));
    await waitFor('connect', () => events.length === 1, 3_000);
    try {
      await Promise.all([cluster.a.proxy.cut(), cluster.b.proxy.cut()]);
      await waitFor('disconnect', () => events.length === 2, 3_000);
      const during = p.request({ method: 'eth_chainId' });
      await Promise.all([cluster.a.proxy.restore(), cluster.b.proxy.restore()]);
      await waitFor('connect again', () => events.length === 3, 5_000);
      expect(await during).toBe('0x7a69'); // queued while no node was reachable, then answered
    } finally {
      await cluster.b.proxy.restore();
    }
    expect(events).toEqual([
      ['connect', { chainId: '0x7a69' }],
      ['disconnect', 4900],
      ['connect', { chainId: '0x7a69' }],
    ]);
  });
});
