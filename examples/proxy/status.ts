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
  const nodes = snapshot.nodes.map(({ http, ws, ...node }): StatusNode => (showUrls ? { ...node, http, ws } : node));
  return { preferred: snapshot.preferred, bestHead: snapshot.bestHead, nodes, clients };
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
