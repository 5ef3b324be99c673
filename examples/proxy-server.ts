/**
 * The reference proxy: the client port serves WebSocket JSON-RPC (any path, one UpstreamSession per
 * client, served by `serveSocket`), HTTP JSON-RPC (POST, single and batch, through the pool with
 * failover), GET /readyz and /livez, and GET /metrics (Prometheus text) and /status (JSON) unless
 * an admin listener takes those two. Hardened: a cap on clients (HTTP 503 + Retry-After past it),
 * deadlines for slow or silent connections, per-client limits, and a drain on SIGTERM (readiness
 * 503 first, owed answers delivered, then close code 1012). Built only from steadyrpc's public API.
 *
 *   npm run proxy -- --upstream a=http://127.0.0.1:8545 --upstream b=http://127.0.0.1:8546
 *   npm run proxy -- --help
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  HealthChecker,
  Metrics,
  NodePool,
  RpcErrorCode,
  SharedSocketTransport,
  UpstreamSession,
  serveHttp,
  serveSocket,
  type ServedSocket,
  type HealthCheckerOptions,
  type HedgeOptions,
  type HttpDispatcherOptions,
  type NodeConfig,
  type UpstreamSessionOptions,
} from 'steadyrpc';
import { HELP, parseCommandLine } from './proxy/commandLine.js';
import { PROXY_HEALTH_DEFAULTS, PROXY_LIMIT_DEFAULTS, checkClientSettings, proxyDeadlines, type ProxyDeadlines } from './proxy/defaults.js';
import { ActiveRequests, UnstartedConnections, answerProbe, asksForWebSocket, pathOf, refuseUpgrade, serveAsHttp, serverOptions, type Readiness } from './proxy/listeners.js';
import { Shutdown } from './proxy/shutdown.js';
import { describeStartup, statusBody } from './proxy/status.js';

export { HELP, parseCommandLine, parseHostPort, parseNode } from './proxy/commandLine.js';
export { describeStartup, statusBody, type StatusBody, type StatusNode } from './proxy/status.js';
export { PROXY_DEADLINE_DEFAULTS, PROXY_HEALTH_DEFAULTS, PROXY_LIMIT_DEFAULTS, worstCaseCloseMs, type ProxyDeadlines } from './proxy/defaults.js';

export interface ProxyServerOptions {
  /** @default { host: '127.0.0.1', port: 8080 } (port 0 picks a free one) */
  listen?: { host?: string; port?: number };
  /**
   * A second listener for monitoring: /status, /metrics, /readyz and /livez. When set, the client
   * port no longer serves /status and /metrics (readiness and liveness stay on both), so node
   * names, heads and counters are not shown to every client. @default none
   */
  adminListen?: { host?: string; port?: number };
  /** Nodes in order of preference; `tier: 'backup'` for backups. */
  upstreams: NodeConfig[];
  /** Health checking. The proxy's defaults aim at failback within 2 s of the primary answering again. */
  health?: HealthCheckerOptions;
  /** How POST / reaches the nodes: per-attempt deadline and attempts (NodePool's `http`). */
  upstreamHttp?: HttpDispatcherOptions;
  /**
   * Hedged reads for POST / (NodePool's `hedge`): a read safe to repeat that its node has not
   * answered after the wait also goes to the next node; the first good answer is used. @default off
   */
  hedge?: HedgeOptions | false;
  /** Settings for every client's session (`maxInFlight` and `maxSubscriptions` cap each client). */
  session?: Omit<UpstreamSessionOptions, 'pool'>;
  /** Largest client frame or HTTP body, in bytes. @default 5 MiB */
  maxFrameBytes?: number;
  /**
   * Every client's session on one SharedSocketTransport: one upstream socket per node, one upstream
   * subscription per distinct params, however many clients (ignored when `session.transport` is set).
   * @default false
   */
  shareUpstreams?: boolean;
  /** Client WebSockets open at once; past it an upgrade is refused with HTTP 503 + Retry-After. @default 10_000 */
  maxClients?: number;
  /**
   * HTTP JSON-RPC requests (POST /) in progress at once, all connections together (pipelined ones
   * included); past it a POST is answered HTTP 503 with Retry-After and a LIMIT_EXCEEDED (-32005)
   * error, counted as `steadyrpc_proxy_http_requests_total{outcome="busy"}`. @default 1_000
   */
  maxHttpInFlight?: number;
  /** Deadlines of client HTTP connections (both listeners). @default PROXY_DEADLINE_DEFAULTS */
  deadlines?: Partial<ProxyDeadlines>;
  /** Bytes queued for a client that does not read, past which it is closed with 1013. @default 16 MiB */
  maxBufferedBytes?: number;
  /** Ping every client this often (ms); one silent for a whole interval is dropped. @default 20_000 */
  pingIntervalMs?: number;
  /** The drain deadline `main()` gives `close()` on SIGTERM/SIGINT, in ms. @default 10_000 */
  drainMs?: number;
  /**
   * GET /status shows each node's `http` and `ws` URLs, in their display forms only (scheme, host
   * and port; see `NodeConfig.revealPath`). Off, /status names no node URL at all.
   * @default false
   */
  statusShowsUrls?: boolean;
}

export interface ProxyServer {
  readonly url: string;
  readonly wsUrl: string;
  /** `http://host:port` of the admin listener, when there is one. */
  readonly adminUrl: string | undefined;
  readonly pool: NodePool;
  readonly health: HealthChecker;
  readonly metrics: Metrics;
  /** Client WebSockets open now. */
  readonly clients: number;
  /** What GET /readyz answers now. */
  readiness(): Readiness;
  /**
   * Without `drainMs`: stops accepting, answers what is owed with errors, closes client sockets
   * (1001) and sessions, then the pool. With `drainMs`: a drain: /readyz turns 503; the client
   * port keeps serving HTTP requests (upgrades refused with 503) until none came for 1 s, then
   * stops accepting; HTTP requests in progress are answered, each client stops being read, gets
   * every answer owed and is closed with 1012 (service restart) so it reconnects elsewhere at once;
   * past `drainMs` what is still owed is answered with an error (NOT_RESENT for a write that went
   * out) and what remains is closed. Idempotent; a call without `drainMs` during a drain cuts it
   * short (1001).
   */
  close(options?: { drainMs?: number }): Promise<void>;
}

export async function startProxyServer(options: ProxyServerOptions): Promise<ProxyServer> {
  const { listen = {}, adminListen, upstreams, health = {}, session: sessionOptions = {}, maxFrameBytes = 5 * 1024 * 1024, shareUpstreams = false } = options;
  const { maxClients = PROXY_LIMIT_DEFAULTS.maxClients, maxHttpInFlight = PROXY_LIMIT_DEFAULTS.maxHttpInFlight, maxBufferedBytes, pingIntervalMs, upstreamHttp, hedge } = options;
  if (!Number.isSafeInteger(maxClients) || maxClients < 0) throw new Error(`Expected maxClients to be an integer >= 0, got ${String(maxClients)}`);
  if (!Number.isSafeInteger(maxHttpInFlight) || maxHttpInFlight < 1) throw new Error(`Expected maxHttpInFlight to be an integer >= 1, got ${String(maxHttpInFlight)}`);
  checkClientSettings({ session: sessionOptions, maxFrameBytes, maxBufferedBytes, pingIntervalMs });
  const deadlines = proxyDeadlines(options.deadlines);
  const pool = new NodePool({ nodes: upstreams, ...(upstreamHttp === undefined ? {} : { http: upstreamHttp }), ...(hedge === undefined ? {} : { hedge }) });
  const shared = shareUpstreams && sessionOptions.transport === undefined ? new SharedSocketTransport() : undefined;
  const checker = new HealthChecker(pool, { ...PROXY_HEALTH_DEFAULTS, ...health });
  const metrics = new Metrics();
  metrics.trackPool(pool);
  metrics.trackHealth(checker);
  const clients = new Map<ServedSocket, WebSocket>();
  metrics.addGauge('client_connections', 'Client WebSockets open on the proxy.', () => clients.size);
  if (shared) {
    metrics.addGauge('shared_upstream_sockets', 'Upstream sockets the client sessions share.', () => shared.stats().sockets);
    metrics.addGauge('shared_upstream_subscriptions', 'Upstream subscriptions the client sessions share.', () => shared.stats().upstreamSubscriptions);
    metrics.addCounter('shared_upstream_isolated_calls_total', 'Calls sent on an upstream socket of their own: they were in flight on a shared one an answer too large closed.', () => shared.stats().isolated);
    metrics.addCounter('shared_upstream_isolated_too_large_total', 'Of those, calls answered FRAME_TOO_LARGE: their answer failed a socket they were alone on.', () => shared.stats().isolatedTooLarge);
  }
  const httpRequests = metrics.counter('proxy_http_requests_total', 'HTTP JSON-RPC requests, by outcome.');
  const refusals = metrics.counter('proxy_upgrades_refused_total', 'Client WebSocket upgrades refused with HTTP 503, by reason.');
  refusals.inc({ reason: 'max-clients' }, 0);
  let draining = false;
  metrics.addGauge('proxy_draining', '1 from the start of a drain.', () => (draining ? 1 : 0));
  const readiness = (): Readiness => (draining ? { ready: false, reason: 'draining' } : pool.usable().length > 0 ? { ready: true } : { ready: false, reason: 'no usable node' });
  const active = new ActiveRequests();
  /** POST / requests being answered (see maxHttpInFlight). */
  let httpInFlight = 0;

  /** GET /metrics and GET /status: on the admin listener when there is one, else on the client port. */
  function answerMonitoring(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    if (req.method === 'GET' && pathOf(req) === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(metrics.render());
      return true;
    }
    if (req.method === 'GET' && pathOf(req) === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(statusBody(pool, clients.size, options.statusShowsUrls === true), null, 2));
      return true;
    }
    return false;
  }

  const server = http.createServer(serverOptions(deadlines), (req, res) => {
    const gone = active.track(res);
    // During a drain, each connection closes once its answer is out.
    if (draining) res.setHeader('connection', 'close');
    if (answerProbe(req, res, readiness)) return;
    active.arrived();
    if (adminListen === undefined && answerMonitoring(req, res)) return;
    // serveHttp never rejects; should anything else fail, no error text (which could quote a node URL) reaches the client.
    void handleHttp(req, res, gone).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error');
    });
  });
  const unstarted = new UnstartedConnections(server);
  const admin =
    adminListen === undefined
      ? undefined
      : http.createServer(serverOptions(deadlines), (req, res) => {
          if (answerProbe(req, res, readiness) || answerMonitoring(req, res)) return;
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'not found: /status, /metrics, /readyz, /livez' }));
        });
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxFrameBytes * 2 });

  /** POST /: the same checks and answers as a WebSocket frame (serveHttp), exact ids, writes sent once. */
  /** `gone`: the client went away before its answer; the nodes are no longer asked for it. */
  async function handleHttp(req: http.IncomingMessage, res: http.ServerResponse, gone: AbortSignal): Promise<void> {
    if (req.method !== 'POST') {
      res.writeHead(req.method === 'GET' ? 404 : 405, { allow: 'POST, GET' });
      return void res.end();
    }
    if (httpInFlight >= maxHttpInFlight) {
      // Its body is not read: Node discards it, and the connection serves the requests behind it.
      httpRequests.inc({ outcome: 'busy' });
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': String(PROXY_LIMIT_DEFAULTS.retryAfterSec) });
      const error = { code: RpcErrorCode.LIMIT_EXCEEDED, message: `Proxy busy: ${maxHttpInFlight} HTTP requests in progress`, data: { limit: 'maxHttpInFlight', max: maxHttpInFlight } };
      return void res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error }));
    }
    httpInFlight++;
    try {
      const { maxBatchSize } = sessionOptions;
      const answer = await serveHttp(pool, req, { maxBodyBytes: maxFrameBytes, ...(maxBatchSize === undefined ? {} : { maxBatchSize }), signal: gone });
      httpRequests.inc({ outcome: answer.outcome });
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    } finally {
      httpInFlight--;
    }
  }

  server.on('upgrade', (req, socket, head) => {
    if (!asksForWebSocket(req)) return serveAsHttp(server, req, socket, head);
    active.arrived();
    const refused = draining ? 'draining' : clients.size >= maxClients ? 'max-clients' : undefined;
    if (refused !== undefined) {
      refusals.inc({ reason: refused });
      return refuseUpgrade(socket, refused === 'draining' ? 'proxy draining' : `proxy full (${maxClients} clients)`, PROXY_LIMIT_DEFAULTS.retryAfterSec);
    }
    // ws completes (or refuses) a valid handshake synchronously: no upgrade is half counted.
    wss.handleUpgrade(req, socket, head, (ws) => {
      const session = new UpstreamSession({ pool, ...(shared ? { transport: shared } : {}), ...sessionOptions, maxFrameBytes });
      metrics.trackSession(session);
      const served = serveSocket(ws, session, { ...(maxBufferedBytes === undefined ? {} : { maxBufferedBytes }), ...(pingIntervalMs === undefined ? {} : { pingIntervalMs }) });
      metrics.trackServedSocket(served);
      clients.set(served, ws);
      void served.closed.then(() => clients.delete(served));
    });
  });

  const listening = async (target: http.Server, where: { host?: string; port?: number }, port: number) => {
    target.listen(where.port ?? port, where.host ?? '127.0.0.1');
    await once(target, 'listening');
    const { address, port: bound } = target.address() as AddressInfo;
    return `${address.includes(':') ? `[${address}]` : address}:${bound}`;
  };
  let hostPort: string;
  let adminHostPort: string | undefined;
  try {
    hostPort = await listening(server, listen, 8080);
    if (admin && adminListen) adminHostPort = await listening(admin, adminListen, 8081);
  } catch (error) {
    server.close();
    checker.close();
    pool.close();
    throw error;
  }
  checker.start();

  // What is still owed to HTTP clients at the end is answered by the pool's close (a write that
  // may have been carried out: NOT_RESENT; anything else: UPSTREAM_UNAVAILABLE), never cut.
  const shutdown = new Shutdown({ server, last: admin ? [admin] : [], clients, active, unstarted, settle: () => pool.close() });
  let closing: Promise<void> | undefined;
  const close = async (drainMs: number | undefined) => {
    draining = true;
    await shutdown.run(drainMs);
    wss.close();
    checker.close();
    pool.close();
  };

  return {
    url: `http://${hostPort}`,
    wsUrl: `ws://${hostPort}`,
    adminUrl: adminHostPort && `http://${adminHostPort}`,
    pool,
    health: checker,
    metrics,
    get clients() {
      return clients.size;
    },
    readiness,
    close: ({ drainMs } = {}) => {
      if (closing !== undefined && drainMs === undefined) shutdown.hurry();
      return (closing ??= close(drainMs));
    },
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
  for (const line of describeStartup(proxy)) console.log(line);
  proxy.pool.on('switch', ({ from, to, reason }) => console.log(`${new Date().toISOString()} preferred node ${from ?? '-'} -> ${to ?? '-'} (${reason})`));
  // The first signal drains (readiness 503, owed answers delivered, clients closed with 1012); a
  // second one closes at once.
  const drainMs = options.drainMs ?? PROXY_LIMIT_DEFAULTS.drainMs;
  let signalled = false;
  const stop = (signal: string) => {
    if (signalled) {
      console.log(`${signal}: closing now`);
      void proxy.close();
      return;
    }
    signalled = true;
    console.log(`${signal}: draining (up to ${drainMs} ms)`);
    void proxy.close({ drainMs }).then(() => {
      console.log('drained, exiting');
      process.exit(0);
    });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) void main();
