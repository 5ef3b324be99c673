/**
 * The reference proxy (its default settings, like `startProxyOver` in cluster.ts) over the nodes
 * of a SharedChain, through their FaultProxies: the first name is preferred.
 */
import { startProxyServer, type ProxyServer, type ProxyServerOptions } from '../../../examples/proxy-server.js';
import { SharedSocketTransport, WsSocketTransport, type SocketTransport } from '../../../src/index.js';
import type { SharedChain } from './sharedChain.js';

export function startProxyOverChain(chain: SharedChain, options: Omit<ProxyServerOptions, 'upstreams' | 'listen'> & { names?: string[] } = {}): Promise<ProxyServer> {
  const { names = Object.keys(chain.nodes), ...rest } = options;
  return startProxyServer({
    ...rest,
    listen: { port: 0 },
    upstreams: names.map((name) => ({ name, http: chain.nodes[name]!.proxy.httpUrl, ws: chain.nodes[name]!.proxy.wsUrl })),
  });
}

/**
 * The proxy's sessions' socket transport with upstream messages capped at `maxPayload` bytes (the
 * proxy's `session.transport`): ws's, under one SharedSocketTransport for all sessions when `shared`
 * (what `shareUpstreams` builds, which the proxy skips when a transport is given; only its two
 * `shared_upstream_*` gauges go).
 */
export function cappedUpstreams(maxPayload: number, shared: boolean): SocketTransport {
  const ws = new WsSocketTransport({ maxPayload });
  return shared ? new SharedSocketTransport({ transport: ws }) : ws;
}

/** Sums the samples of a Prometheus counter in `text` whose labels match `labels` (all of them). */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.split(' ').at(-1));
  }
  return sum;
}
