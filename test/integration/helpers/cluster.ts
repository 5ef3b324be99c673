/**
 * Two real anvil nodes, each behind its own FaultProxy. The nodes are independent chains with the
 * same chainId but different dev-account balances, so `eth_getBalance(DEV_ACCOUNT)` tells which node
 * answered (compare with `member.anvil.balanceWei`).
 */
import { startProxyServer, type ProxyServer } from '../../../examples/proxy-server.js';
import { startAnvil, type AnvilNode } from './anvil.js';
import { FaultProxy } from './FaultProxy.js';

export { DEV_ACCOUNT } from './anvil.js';

export const CLUSTER_BALANCES_ETH = { a: 10_000, b: 20_000 } as const;

export interface ClusterMember {
  anvil: AnvilNode;
  proxy: FaultProxy;
}

export interface Cluster {
  a: ClusterMember;
  b: ClusterMember;
  /** Closes both proxies and stops both nodes. Idempotent. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Default 1. */
  blockTimeSec?: number;
  /** Default 31337 (the same on both nodes). */
  chainId?: number;
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const started: Array<{ stop(): Promise<void> } | { close(): Promise<void> }> = [];
  const stopAll = async () => {
    await Promise.allSettled(started.map((s) => ('stop' in s ? s.stop() : s.close())));
  };
  const member = async (balanceEth: number): Promise<ClusterMember> => {
    const anvil = await startAnvil({ balanceEth, blockTimeSec: options.blockTimeSec ?? 1, chainId: options.chainId ?? 31337 });
    started.push(anvil);
    const proxy = await FaultProxy.start({ host: '127.0.0.1', port: anvil.port });
    started.push(proxy);
    return { anvil, proxy };
  };
  // allSettled, so a failure of one member never leaves the other running unstopped.
  const [a, b] = await Promise.allSettled([member(CLUSTER_BALANCES_ETH.a), member(CLUSTER_BALANCES_ETH.b)]);
  if (a.status === 'rejected' || b.status === 'rejected') {
    await stopAll();
    throw a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason;
  }
  let stopping: Promise<void> | undefined;
  return { a: a.value, b: b.value, stop: () => (stopping ??= stopAll()) };
}

/** The reference proxy (its default settings) on a free port, with `a` preferred over `b`. */
export function startProxyOver(cluster: Cluster, options: { shareUpstreams?: boolean } = {}): Promise<ProxyServer> {
  return startProxyServer({
    ...options,
    listen: { port: 0 },
    upstreams: [
      { name: 'a', http: cluster.a.proxy.httpUrl, ws: cluster.a.proxy.wsUrl },
      { name: 'b', http: cluster.b.proxy.httpUrl, ws: cluster.b.proxy.wsUrl },
    ],
  });
}
