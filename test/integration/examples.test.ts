/**
 * The examples run as users would run them: against two real anvil nodes, with the primary cut
 * while they work. (The proxy example has its own suite: proxy.test.ts.)
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { beaconProbe, watchBeacons } from '../../examples/beacon-probe.js';
import { main as eip1193 } from '../../examples/eip1193.js';
import { main as ethersClient } from '../../examples/ethers-client.js';
import { main as viemClient } from '../../examples/viem-client.js';
import { CLUSTER_BALANCES_ETH, DEV_ACCOUNT, startCluster, type Cluster } from './helpers/cluster.js';
import { poll, sleep } from './helpers/wsClient.js';

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
}, 30_000);

const quiet = () => {};
const nodeOf = (wei: bigint) => (wei / 10n ** 18n > BigInt(CLUSTER_BALANCES_ETH.a + CLUSTER_BALANCES_ETH.b) / 2n ? 'b' : 'a');

describe('the client examples through a cut of the primary', { timeout: 60_000 }, () => {
  it('viem, ethers and EIP-1193 keep working and come back to the primary', async () => {
    const urls = [cluster.a.proxy.httpUrl, cluster.b.proxy.httpUrl];
    const runs = Promise.all([viemClient(urls, DEV_ACCOUNT, 9, quiet), ethersClient(urls, DEV_ACCOUNT, 9, quiet), eip1193(urls, 9, quiet)]);
    await sleep(2_000);
    await cluster.a.proxy.cut();
    await sleep(3_000);
    await cluster.a.proxy.restore();
    const [viem, ethers, provider] = await runs;
    for (const run of [viem, ethers]) {
      const nodes = run.balances.map((b) => nodeOf(BigInt(b)));
      expect(nodes).toContain('b'); // the backup answered during the cut
      expect(nodes.at(-1)).toBe('a'); // and the primary again at the end
      expect(run.blocks.length).toBeGreaterThanOrEqual(5);
    }
    expect(provider.chainId).toBe('0x7a69');
    expect(provider.subscriptionIds).toEqual([provider.subscription]);
    expect(provider.heads.length).toBeGreaterThanOrEqual(5);
  });
});

describe('the beacon-node probe example', { timeout: 30_000 }, () => {
  it('prefers the beacon node that is synced and not behind', async () => {
    const beacon = (behind: number) =>
      http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ data: { head_slot: String(1_000 - behind), is_syncing: false } }));
      });
    const servers = [beacon(0), beacon(10)];
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
    const urls = servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/`);
    const { pool, health } = watchBeacons(urls, quiet);
    try {
      await poll('beacon0 preferred', async () => pool.preferred() === 'beacon0', 10_000, 100);
      await poll('beacon1 down (10 slots behind)', async () => pool.health('beacon1').status === 'unhealthy', 10_000, 100);
      expect(pool.health('beacon1')).toMatchObject({ lag: 10, lastError: 'Node "beacon1" is 10 blocks behind (max 2)' });
      expect(beaconProbe).toBeTypeOf('function');
    } finally {
      health.close();
      pool.close();
      for (const s of servers) s.close();
    }
  });
});
