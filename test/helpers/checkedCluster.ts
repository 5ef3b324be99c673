import type { NodeConfig, NodePoolOptions, ProbeEvent } from '../../src/index.js';
import { HealthChecker } from '../../src/index.js';
import { fakeCluster, type FakeCluster } from './pool.js';

/** A pool over fake HTTP nodes (see ./pool.ts) with a HealthChecker recording its probes (and when). */
export function checkedCluster(
  configs: Array<Omit<NodeConfig, 'http'> & { head?: number; chainId?: number }>,
  checkerOptions: ConstructorParameters<typeof HealthChecker>[1] = {},
  poolOptions: Partial<NodePoolOptions> = {},
) {
  const cluster = fakeCluster(configs, poolOptions);
  const checker = new HealthChecker(cluster.pool, checkerOptions);
  const probes: Array<ProbeEvent & { at: number }> = [];
  checker.on('probe', (event) => probes.push({ ...event, at: cluster.clock.now() }));
  return { ...cluster, cluster, checker, probes };
}

/** The node's status in the pool. */
export const status = (c: FakeCluster, name: string) => c.pool.health(name).status;
