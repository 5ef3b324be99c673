/**
 * The demo's two nodes, `a` (primary) and `b` (backup), each behind a fault-injecting TCP proxy so
 * the demo can cut and blackhole `a` while its chain keeps running. Real anvil nodes when anvil can
 * run (the devDependency ships the binary); otherwise two `FakeNode`s served over real sockets.
 * The nodes hold different balances for the dev account, so a balance tells which node answered.
 */
import { FakeNode } from 'steadyrpc/testing';
import { resolveAnvilCommand } from '../../test/integration/helpers/anvil.js';
import { CLUSTER_BALANCES_ETH, DEV_ACCOUNT, startCluster } from '../../test/integration/helpers/cluster.js';
import { FaultProxy } from '../../test/integration/helpers/FaultProxy.js';
import { serveFakeNode } from './FakeNodeServer.js';

export { DEV_ACCOUNT };

export type NodeName = 'a' | 'b';

export interface DemoNode {
  name: NodeName;
  /** URLs through the node's fault proxy. */
  httpUrl: string;
  wsUrl: string;
  /** The dev account's balance on this node, in wei. */
  balanceWei: bigint;
  fault: FaultProxy;
  /** e.g. `anvil pid 1234 on :45678`. */
  detail: string;
}

export interface DemoNodes {
  kind: 'anvil' | 'fake';
  /** Why anvil was not used, when `kind` is `fake` and anvil was tried. */
  fallbackReason?: string;
  a: DemoNode;
  b: DemoNode;
  /** Which node a balance came from, if either. */
  nodeOf(balanceWei: bigint): NodeName | undefined;
  /** Closes the fault proxies and stops the nodes. Idempotent. */
  stop(): Promise<void>;
}

export type NodeBackend = 'auto' | 'anvil' | 'fake';

const WEI_PER_ETH = 10n ** 18n;
const CHAIN_ID = 31337;

export async function startDemoNodes(options: { backend: NodeBackend; blockTimeMs: number }): Promise<DemoNodes> {
  if (options.backend === 'fake') return startFakeNodes(options.blockTimeMs, undefined);
  try {
    resolveAnvilCommand();
    return await startAnvilNodes(options.blockTimeMs);
  } catch (error) {
    if (options.backend === 'anvil') throw error;
    const reason = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    return startFakeNodes(options.blockTimeMs, reason);
  }
}

async function startAnvilNodes(blockTimeMs: number): Promise<DemoNodes> {
  const cluster = await startCluster({ blockTimeSec: Math.max(1, Math.round(blockTimeMs / 1000)), chainId: CHAIN_ID });
  const node = (name: NodeName): DemoNode => {
    const { anvil, proxy } = cluster[name];
    return { name, httpUrl: proxy.httpUrl, wsUrl: proxy.wsUrl, balanceWei: anvil.balanceWei, fault: proxy, detail: `anvil pid ${anvil.pid} on :${anvil.port}` };
  };
  return withLookup({ kind: 'anvil', a: node('a'), b: node('b'), stop: () => cluster.stop() });
}

async function startFakeNodes(blockTimeMs: number, fallbackReason: string | undefined): Promise<DemoNodes> {
  const started: Array<{ close(): Promise<void> }> = [];
  const stop = async () => {
    await Promise.allSettled(started.map((s) => s.close()));
  };
  try {
    const node = async (name: NodeName): Promise<DemoNode> => {
      const balanceWei = BigInt(CLUSTER_BALANCES_ETH[name]) * WEI_PER_ETH;
      // Both fakes follow the same chain (same heads and hashes), as two real nodes of a network do.
      const server = await serveFakeNode(new FakeNode({ name, chainId: CHAIN_ID, balance: balanceWei, head: 1 }), { blockTimeMs });
      started.push(server);
      const fault = await FaultProxy.start({ host: '127.0.0.1', port: server.port });
      started.push(fault);
      return { name, httpUrl: fault.httpUrl, wsUrl: fault.wsUrl, balanceWei, fault, detail: `in-process FakeNode on :${server.port}` };
    };
    const a = await node('a');
    const b = await node('b');
    let stopping: Promise<void> | undefined;
    return withLookup({ kind: 'fake', ...(fallbackReason === undefined ? {} : { fallbackReason }), a, b, stop: () => (stopping ??= stop()) });
  } catch (error) {
    await stop();
    throw error;
  }
}

function withLookup(nodes: Omit<DemoNodes, 'nodeOf'>): DemoNodes {
  return {
    ...nodes,
    nodeOf: (balanceWei) => (balanceWei === nodes.a.balanceWei ? 'a' : balanceWei === nodes.b.balanceWei ? 'b' : undefined),
  };
}
