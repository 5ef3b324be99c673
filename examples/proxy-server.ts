/**
 * The reference proxy: one port serves WebSocket JSON-RPC (any path, one UpstreamSession per
 * client), HTTP JSON-RPC (POST, single and batch, through the pool with failover), GET /metrics
 * (Prometheus text) and GET /status (JSON). Built only from steadyrpc's public API.
 *
 *   npm run proxy -- --upstream a=http://127.0.0.1:8545 --upstream b=http://127.0.0.1:8546
 *   npm run proxy -- --help
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  HealthChecker,
  Metrics,
  NodePool,
  RpcErrorCode,
  SharedSocketTransport,
  UpstreamSession,
  isSteadyRpcError,
  type HealthCheckerOptions,
  type JsonRpcRequest,
  type NodeConfig,
  type UpstreamSessionOptions,
} from 'steadyrpc';

export interface ProxyServerOptions {
  /** @default { host: '127.0.0.1', port: 8080 } (port 0 picks a free one) */
  listen?: { host?: string; port?: number };
  /** Nodes in order of preference; `tier: 'backup'` for backups. */
  upstreams: NodeConfig[];
  /** Health checking. The proxy's defaults aim at failback within 2 s of the primary answering again. */
  health?: HealthCheckerOptions;
  /** Settings for every client's session. */
  session?: Omit<UpstreamSessionOptions, 'pool'>;
  /** Largest client frame or HTTP body, in bytes. @default 5 MiB */
  maxFrameBytes?: number;
  /**
   * Every client's session on one SharedSocketTransport: one upstream socket per node, one upstream
   * subscription per distinct params, however many clients (ignored when `session.transport` is set).
   * @default false
   */
  shareUpstreams?: boolean;
}

/** Defaults that give failback in under 2 s (2 good probes, 500 ms apart) without flapping. */
export const PROXY_HEALTH_DEFAULTS = Object.freeze({
  intervalMs: 500,
  timeoutMs: 2_000,
  maxLagBlocks: 5,
  failuresToDown: 3,
  successesToUp: 2,
});

export interface ProxyServer {
  readonly url: string;
  readonly wsUrl: string;
  readonly pool: NodePool;
  readonly health: HealthChecker;
  readonly metrics: Metrics;
  /** Client WebSockets open now. */
  readonly clients: number;
  /** Stops accepting, closes client sockets (1001) and sessions, then the pool. Idempotent. */
  close(): Promise<void>;
}

export async function startProxyServer(options: ProxyServerOptions): Promise<ProxyServer> {
  const { listen = {}, upstreams, health = {}, session: sessionOptions = {}, maxFrameBytes = 5 * 1024 * 1024, shareUpstreams = false } = options;
  const pool = new NodePool({ nodes: upstreams });
  const shared = shareUpstreams && sessionOptions.transport === undefined ? new SharedSocketTransport() : undefined;
  const checker = new HealthChecker(pool, { ...PROXY_HEALTH_DEFAULTS, ...health });
  const metrics = new Metrics();
  metrics.trackPool(pool);
  metrics.trackHealth(checker);
  const sockets = new Set<WebSocket>();
  metrics.addGauge('client_connections', 'Client WebSockets open on the proxy.', () => sockets.size);
  if (shared) {
    metrics.addGauge('shared_upstream_sockets', 'Upstream sockets the client sessions share.', () => shared.stats().sockets);
    metrics.addGauge('shared_upstream_subscriptions', 'Upstream subscriptions the client sessions share.', () => shared.stats().upstreamSubscriptions);
  }
  const httpRequests = metrics.counter('proxy_http_requests_total', 'HTTP JSON-RPC requests, by outcome.');

  const server = http.createServer((req, res) => {
    void handleHttp(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`internal error: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxFrameBytes * 2 });

  async function handleHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      return void res.end(metrics.render());
    }
    if (req.method === 'GET' && req.url === '/status') {
      const snapshot = pool.snapshot();
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ preferred: snapshot.preferred, bestHead: snapshot.bestHead, nodes: snapshot.nodes, clients: sockets.size }, null, 2));
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST, GET' });
      return void res.end();
    }
    const body = await readBody(req, maxFrameBytes);
    const reply = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (body === undefined) return reply(413, rpcError(null, RpcErrorCode.FRAME_TOO_LARGE, `Body larger than ${maxFrameBytes} bytes`));
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      httpRequests.inc({ outcome: 'parse-error' });
      return reply(200, rpcError(null, RpcErrorCode.PARSE_ERROR, 'Parse error'));
    }
    const requests = (Array.isArray(payload) ? payload : [payload]) as JsonRpcRequest[];
    if (requests.length === 0 || requests.some((r) => typeof r !== 'object' || r === null || typeof r.method !== 'string')) {
      httpRequests.inc({ outcome: 'invalid' });
      return reply(200, rpcError(null, RpcErrorCode.INVALID_REQUEST, 'Invalid request'));
    }
    try {
      const answer = Array.isArray(payload) ? await pool.request(requests) : await pool.request(requests[0]!);
      httpRequests.inc({ outcome: 'answered' });
      reply(200, answer);
    } catch (error) {
      if (!isSteadyRpcError(error, 'ERR_UPSTREAM_UNAVAILABLE')) throw error;
      httpRequests.inc({ outcome: 'unavailable' });
      const failures = requests.map((r) => rpcError(r.id ?? null, RpcErrorCode.UPSTREAM_UNAVAILABLE, error.message.split('\n')[0]!));
      reply(200, Array.isArray(payload) ? failures : failures[0]);
    }
  }

  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new UpstreamSession({ pool, ...(shared ? { transport: shared } : {}), ...sessionOptions, maxFrameBytes });
      metrics.trackSession(session);
      sockets.add(ws);
      session.on('message', (text) => {
        if (ws.readyState === ws.OPEN) ws.send(text);
      });
      ws.on('message', (data) => {
        if (session.state === 'closed') return;
        const text = Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8');
        session.send(text);
      });
      ws.on('close', () => {
        sockets.delete(ws);
        session.close();
      });
      ws.on('error', () => ws.terminate());
    });
  });

  server.listen(listen.port ?? 8080, listen.host ?? '127.0.0.1');
  await once(server, 'listening');
  checker.start();
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}`,
    pool,
    health: checker,
    metrics,
    get clients() {
      return sockets.size;
    },
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise((resolve) => server.close(resolve));
        for (const ws of sockets) ws.close(1001, 'proxy shutting down');
        server.closeAllConnections();
        await stopped;
        wss.close();
        checker.close();
        pool.close();
      })()),
  };
}

function rpcError(id: unknown, code: number, message: string) {
  return { jsonrpc: '2.0', id: id ?? null, error: { code, message } };
}

/** The request body, or `undefined` when it exceeds `limit` bytes. */
async function readBody(req: http.IncomingMessage, limit: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

// ---- command line ---------------------------------------------------------------------------

const HELP = `Usage: npm run proxy -- [options]

Fronts Ethereum nodes for WebSocket and HTTP JSON-RPC clients, with failover and failback.

Options:
  --listen HOST:PORT            where to listen (default 127.0.0.1:8080)
  --upstream NAME=HTTP[,WS]     a node, repeatable; the order given is the order of preference.
                                WS defaults to HTTP with http->ws, https->wss
  --backup NAME=HTTP[,WS]       a backup-tier node (used only while no --upstream is healthy)
  --health-interval-ms N        probe every node every N ms (default ${PROXY_HEALTH_DEFAULTS.intervalMs})
  --health-timeout-ms N         deadline of one probe (default ${PROXY_HEALTH_DEFAULTS.timeoutMs})
  --max-lag-blocks N            a node further behind the best head is unhealthy (default ${PROXY_HEALTH_DEFAULTS.maxLagBlocks})
  --failures-to-down N          failed probes in a row to mark a node down (default ${PROXY_HEALTH_DEFAULTS.failuresToDown})
  --successes-to-up N           good probes in a row to bring it back (default ${PROXY_HEALTH_DEFAULTS.successesToUp})
  --chain-id N                  refuse nodes on another chain (default: the chain most nodes report)
  --connect-timeout-ms N        deadline for an upstream socket to open (default 5000)
  --keepalive-interval-ms N     idle time before a keepalive call (default 2000)
  --keepalive-timeout-ms N      deadline for its answer (default 4000)
  --request-timeout-ms N        deadline for an upstream answer (default 30000)
  --queue-max N                 messages held per client while reconnecting (default 1000)
  --max-frame-bytes N           largest client frame or HTTP body (default 5242880)
  --share-upstreams             one upstream socket per node for all clients, and one upstream
                                subscription per distinct params (for many clients)
  --help                        show this help

Endpoints on the one port: WebSocket JSON-RPC (any path), POST / (HTTP JSON-RPC, single and batch),
GET /metrics (Prometheus text), GET /status (JSON).`;

export function parseNode(spec: string, tier: 'primary' | 'backup'): NodeConfig {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`Expected NAME=HTTP_URL[,WS_URL], got ${JSON.stringify(spec)}`);
  const name = spec.slice(0, eq);
  const [httpUrl, wsUrl] = spec.slice(eq + 1).split(',');
  if (!httpUrl) throw new Error(`Node ${name}: missing HTTP URL`);
  return { name, tier, http: httpUrl, ws: wsUrl ?? httpUrl.replace(/^http(s?):/, 'ws$1:') };
}

export function parseCommandLine(argv: string[]): ProxyServerOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      listen: { type: 'string', default: '127.0.0.1:8080' },
      upstream: { type: 'string', multiple: true, default: [] },
      backup: { type: 'string', multiple: true, default: [] },
      'health-interval-ms': { type: 'string' },
      'health-timeout-ms': { type: 'string' },
      'max-lag-blocks': { type: 'string' },
      'failures-to-down': { type: 'string' },
      'successes-to-up': { type: 'string' },
      'chain-id': { type: 'string' },
      'connect-timeout-ms': { type: 'string' },
      'keepalive-interval-ms': { type: 'string' },
      'keepalive-timeout-ms': { type: 'string' },
      'request-timeout-ms': { type: 'string' },
      'queue-max': { type: 'string' },
      'max-frame-bytes': { type: 'string' },
      'share-upstreams': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const upstreams = [...values.upstream.map((s) => parseNode(s, 'primary')), ...values.backup.map((s) => parseNode(s, 'backup'))];
  if (upstreams.length === 0) throw new Error('At least one --upstream is required (see --help)');
  const int = (flag: keyof typeof values) => {
    const raw = values[flag];
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${flag} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    return n;
  };
  const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const colon = values.listen.lastIndexOf(':');
  const port = Number(values.listen.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--listen must be HOST:PORT, got ${JSON.stringify(values.listen)}`);
  }
  return {
    listen: { host: values.listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port },
    upstreams,
    health: defined({
      intervalMs: int('health-interval-ms'),
      timeoutMs: int('health-timeout-ms'),
      maxLagBlocks: int('max-lag-blocks'),
      failuresToDown: int('failures-to-down'),
      successesToUp: int('successes-to-up'),
      chainId: int('chain-id'),
    }),
    session: defined({
      connectTimeoutMs: int('connect-timeout-ms'),
      keepaliveIntervalMs: int('keepalive-interval-ms'),
      keepaliveTimeoutMs: int('keepalive-timeout-ms'),
      requestTimeoutMs: int('request-timeout-ms'),
      queue: values['queue-max'] === undefined ? undefined : { maxCount: int('queue-max') },
    }),
    ...defined({ maxFrameBytes: int('max-frame-bytes') }),
    ...(values['share-upstreams'] ? { shareUpstreams: true } : {}),
  };
}

async function main(): Promise<void> {
  let options: ProxyServerOptions | 'help';
  try {
    options = parseCommandLine(process.argv.slice(2));
  } catch (error) {
    console.error(`proxy: ${error instanceof Error ? error.message : String(error)}\n\n${HELP}`);
    process.exit(2);
  }
  if (options === 'help') {
    console.log(HELP);
    return;
  }
  const proxy = await startProxyServer(options);
  console.log(`steadyrpc proxy listening on ${proxy.url} (ws: ${proxy.wsUrl})`);
  for (const node of proxy.pool.snapshot().nodes) console.log(`  ${node.tier} ${node.name}: ${node.http ?? '-'} ${node.ws ?? '-'}`);
  proxy.pool.on('switch', ({ from, to, reason }) => console.log(`${new Date().toISOString()} preferred node ${from ?? '-'} -> ${to ?? '-'} (${reason})`));
  const stop = (signal: string) => {
    console.log(`${signal}: closing`);
    void proxy.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
