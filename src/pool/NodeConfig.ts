import { SteadyRpcError } from '../errors.js';
import { redactText, redactUrl } from '../redact.js';
import type { EndpointSource } from '../transport/endpoint.js';
import { staticUrl } from '../transport/endpoint.js';
import type { HttpEndpoint } from '../transport/HttpTransport.js';
import type { SocketEndpoint } from '../transport/SocketTransport.js';

export type NodeTier = 'primary' | 'backup';

/** One upstream node as the user configures it. */
export interface NodeConfig {
  /** Unique name, used in events, metrics and logs. */
  name: string;
  /** JSON-RPC over HTTP: a URL, an endpoint with headers, or a function returning one. */
  http?: EndpointSource<HttpEndpoint>;
  /** JSON-RPC over WebSocket: a URL, an endpoint with headers/protocols, or a function returning one. */
  ws?: EndpointSource<SocketEndpoint>;
  /**
   * Backups are used only while no primary is healthy.
   * @default 'primary'
   */
  tier?: NodeTier;
  /**
   * Relative share for custom selectors that spread load (see `NodePoolOptions.selector`); the
   * default selector ignores it.
   * @default 1
   */
  weight?: number;
  /**
   * Show the path of this node's static URLs in its display form (`NodeInfo.httpDisplay`/`wsDisplay`,
   * and so in pool snapshots and status pages), e.g. `https://eth.example.com/v2/mainnet`: for a
   * path that names a network or a route rather than carrying a key. Userinfo, query and fragment
   * stay masked (`?***`, `#***`) whatever this says. Off: scheme, host and port only, with `/***`
   * when anything else was there. Error messages of the transports always use the short form.
   * @default false
   */
  revealPath?: boolean;
}

/** A validated node: defaults applied, URLs checked, display URLs redacted. */
export interface NodeInfo {
  readonly name: string;
  readonly tier: NodeTier;
  readonly weight: number;
  readonly http: EndpointSource<HttpEndpoint> | undefined;
  readonly ws: EndpointSource<SocketEndpoint> | undefined;
  readonly revealPath: boolean;
  /** The display form of the HTTP URL (see {@link redactUrl}), when it is static. */
  readonly httpDisplay: string | undefined;
  /** The display form of the WebSocket URL (see {@link redactUrl}), when it is static. */
  readonly wsDisplay: string | undefined;
}

function checkUrl(node: string, kind: 'http' | 'ws', source: EndpointSource<{ url: string }>): void {
  if (typeof source === 'function') return;
  const url = staticUrl(source);
  const allowed = kind === 'http' ? ['http:', 'https:'] : ['ws:', 'wss:'];
  let protocol: string;
  try {
    protocol = new URL(url ?? '').protocol;
  } catch {
    throw new SteadyRpcError('ERR_CONFIG', `Node "${node}": ${kind} is not a valid URL`, {
      details: `got ${JSON.stringify(redactUrl(String(url)))}`,
    });
  }
  if (!allowed.includes(protocol)) {
    throw new SteadyRpcError(
      'ERR_CONFIG',
      `Node "${node}": ${kind} URL must start with ${allowed.map((p) => `${p}//`).join(' or ')}, got ${protocol}//`,
    );
  }
}

/**
 * Validates the configured nodes and returns them in preference order: primaries in the order
 * given, then backups in the order given.
 */
export function validateNodes(nodes: readonly NodeConfig[]): NodeInfo[] {
  if (!Array.isArray(nodes) || nodes.length === 0) {
    throw new SteadyRpcError('ERR_CONFIG', 'Expected at least one node in `nodes`');
  }
  const seen = new Set<string>();
  const infos = nodes.map((node, index): NodeInfo => {
    if (typeof node !== 'object' || node === null) {
      throw new SteadyRpcError('ERR_CONFIG', `nodes[${index}] must be an object`);
    }
    const { name, http, ws, tier = 'primary', weight = 1, revealPath = false } = node;
    if (typeof name !== 'string' || name.trim() === '') {
      throw new SteadyRpcError('ERR_CONFIG', `nodes[${index}].name must be a non-empty string`);
    }
    if (seen.has(name)) throw new SteadyRpcError('ERR_CONFIG', `Duplicate node name "${name}"`);
    seen.add(name);
    if (http === undefined && ws === undefined) {
      throw new SteadyRpcError('ERR_CONFIG', `Node "${name}" needs an http or a ws endpoint`);
    }
    if (http !== undefined) checkUrl(name, 'http', http);
    if (ws !== undefined) checkUrl(name, 'ws', ws);
    if (tier !== 'primary' && tier !== 'backup') {
      throw new SteadyRpcError('ERR_CONFIG', `Node "${name}": tier must be 'primary' or 'backup', got ${JSON.stringify(tier)}`);
    }
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
      throw new SteadyRpcError('ERR_CONFIG', `Node "${name}": expected weight to be a finite number > 0, got ${weight}`);
    }
    if (typeof revealPath !== 'boolean') {
      throw new SteadyRpcError('ERR_CONFIG', `Node "${name}": expected revealPath to be a boolean, got ${typeof revealPath}`);
    }
    const httpUrl = http === undefined ? undefined : staticUrl(http);
    const wsUrl = ws === undefined ? undefined : staticUrl(ws);
    return Object.freeze({
      name,
      tier,
      weight,
      http,
      ws,
      revealPath,
      httpDisplay: httpUrl === undefined ? undefined : redactUrl(httpUrl, { revealPath }),
      wsDisplay: wsUrl === undefined ? undefined : redactUrl(wsUrl, { revealPath }),
    });
  });
  return [...infos.filter((n) => n.tier === 'primary'), ...infos.filter((n) => n.tier === 'backup')];
}

/**
 * `text` with every secret of the node's static endpoints (URL parts, header values) scrubbed and
 * its URLs in their display form: a last line of defence for texts the pool shows (a health
 * record's `lastError`) that may come from a custom transport or probe which quoted a URL.
 */
export function redactNodeText(node: NodeInfo, text: string): string {
  let out = text;
  for (const source of [node.http, node.ws]) {
    if (source === undefined || typeof source === 'function') continue;
    out = redactText(out, typeof source === 'string' ? { url: source } : source, { revealPath: node.revealPath });
  }
  return out;
}
