/**
 * What every adversarial probe runs against: real anvil nodes, each behind a {@link RelayNode} that
 * can misbehave, and the reference proxy (in this process) in front of them, on free loopback ports.
 */
import { startProxyServer, type ProxyServer, type ProxyServerOptions } from '../../../examples/proxy-server.js';
import { startAnvil, type AnvilNode } from '../../integration/helpers/anvil.js';
import { poll } from '../../integration/helpers/wsClient.js';
import { RelayNode } from './RelayNode.js';

export interface StackNode {
  readonly name: string;
  readonly anvil: AnvilNode;
  readonly relay: RelayNode;
}

export interface Stack {
  readonly nodes: StackNode[];
  /** Nodes `a`, `b`, … in order of preference. */
  node(name: string): StackNode;
  /** Starts a proxy over the nodes (stopped with the stack); waits until it prefers `a`. */
  proxy(options?: Partial<ProxyServerOptions>): Promise<ProxyServer>;
  stop(): Promise<void>;
}

/** `count` anvil nodes (balances 10,000, 20,000 … ETH, so a balance tells which answered), each behind a relay. */
export async function startStack(count = 2): Promise<Stack> {
  const nodes: StackNode[] = [];
  const proxies: ProxyServer[] = [];
  const stop = async () => {
    await Promise.allSettled(proxies.map((p) => p.close()));
    await Promise.allSettled(nodes.map(async (n) => {
      await n.relay.close();
      await n.anvil.stop();
    }));
  };
  try {
    const started = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const anvil = await startAnvil({ balanceEth: 10_000 * (i + 1) });
        return { name: String.fromCharCode(97 + i), anvil, relay: await RelayNode.start(anvil) };
      }),
    );
    nodes.push(...started);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    nodes,
    node: (name) => nodes.find((n) => n.name === name)!,
    async proxy(options = {}) {
      const proxy = await startProxyServer({
        listen: { port: 0 },
        upstreams: nodes.map((n) => ({ name: n.name, http: n.relay.httpUrl, ws: n.relay.wsUrl })),
        ...options,
      });
      proxies.push(proxy);
      await poll('the proxy prefers a', async () => proxy.pool.preferred() === 'a', 15_000);
      return proxy;
    },
    stop,
  };
}
