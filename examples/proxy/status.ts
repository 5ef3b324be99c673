/**
 * What the proxy says about its nodes: the GET /status body and the startup log lines. Node URLs
 * are configuration that often carries a provider key (in the path, the query or the userinfo),
 * so both show only their display forms (scheme, host and port, `/***` when anything else was
 * there; see `NodeConfig.revealPath`), and /status leaves them out altogether unless asked.
 */
import type { NodePool, NodeSnapshot } from 'steadyrpc';
import type { ProxyServer } from '../proxy-server.js';

/** One node in GET /status: its health record; its URLs (display forms) only with `showUrls`. */
export type StatusNode = Omit<NodeSnapshot, 'http' | 'ws'> & { http?: string; ws?: string };

export interface StatusBody {
  preferred: string | undefined;
  bestHead: number | undefined;
  nodes: StatusNode[];
  clients: number;
}

/**
 * The GET /status body: per node its name, tier, status, head, lag, latency, last error (already
 * free of credentials: the pool scrubs it) and the rest of its health record. `showUrls` adds each
 * node's `http` and `ws` display forms (`--status-urls`); off, a status page that leaks to the
 * wrong reader still names no host.
 */
export function statusBody(pool: NodePool, clients: number, showUrls: boolean): StatusBody {
  const snapshot = pool.snapshot();
  const hosts = showUrls ? [] : hostsOf(pool);
  const nodes = snapshot.nodes.map(({ http, ws, ...node }): StatusNode =>
    showUrls ? { ...node, http, ws } : { ...node, ...(node.lastError === undefined ? {} : { lastError: withoutAddresses(node.lastError, hosts) }) },
  );
  return { preferred: snapshot.preferred, bestHead: snapshot.bestHead, nodes, clients };
}

/** The host names of the nodes' static URLs (from their display forms), longest first. */
function hostsOf(pool: NodePool): string[] {
  const hosts = new Set<string>();
  for (const node of pool.nodes) {
    for (const display of [node.httpDisplay, node.wsDisplay]) {
      if (display === undefined) continue;
      const { hostname } = new URL(display);
      if (hostname !== '') hosts.add(hostname.replace(/^\[(.*)\]$/, '$1'));
    }
  }
  return [...hosts].sort((a, b) => b.length - a.length);
}

/**
 * An error text with every URL, IP address (with its port), the nodes' host names and the address
 * a system error names (`connect ECONNREFUSED …`, `getaddrinfo ENOTFOUND …`) replaced by
 * `<hidden>`: without `--status-urls`, /status names no host, though the errors Node reports quote
 * the address they failed to reach.
 */
export function withoutAddresses(text: string, hosts: readonly string[]): string {
  let out = text
    .replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>()]+/gi, '<hidden>')
    .replace(/\b(getaddrinfo|connect|read|write) (E[A-Z]+) [^\s)]+/g, '$1 $2 <hidden>')
    .replace(/\[[0-9a-f:.]+\](?::\d+)?|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/gi, '<hidden>');
  for (const host of hosts) out = out.split(host).join('<hidden>');
  return out;
}

/**
 * The lines `main()` prints once the proxy listens: where clients and the admin listener connect,
 * and each node with the display forms of its URLs (`-` for none, `(function)` for an endpoint
 * function, whose URL is not known until it is called).
 */
export function describeStartup(proxy: Pick<ProxyServer, 'url' | 'wsUrl' | 'adminUrl' | 'pool'>): string[] {
  const lines = [`steadyrpc proxy listening on ${proxy.url} (ws: ${proxy.wsUrl})`];
  for (const node of proxy.pool.nodes) {
    const shown = (source: unknown, display: string | undefined) => (source === undefined ? '-' : (display ?? '(function)'));
    lines.push(`  ${node.tier} ${node.name}: ${shown(node.http, node.httpDisplay)} ${shown(node.ws, node.wsDisplay)}`);
  }
  if (proxy.adminUrl !== undefined) lines.push(`admin listener (/status, /metrics, /readyz, /livez) on ${proxy.adminUrl}`);
  return lines;
}
