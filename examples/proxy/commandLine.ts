/**
 * The proxy's command line: flags to {@link ProxyServerOptions}, and the help text that documents
 * every flag with its default. Flags left out are left out of the options, so the library's and
 * the proxy's defaults apply in one place each.
 */
import { parseArgs } from 'node:util';
import { SERVE_SOCKET_DEFAULTS, SESSION_DEFAULTS, redactUrl, type NodeConfig } from 'steadyrpc';
import type { ProxyServerOptions } from '../proxy-server.js';
import { PROXY_DEADLINE_DEFAULTS, PROXY_HEALTH_DEFAULTS, PROXY_LIMIT_DEFAULTS } from './defaults.js';

export const HELP = `Usage: npm run proxy -- [options]

Fronts Ethereum nodes for WebSocket and HTTP JSON-RPC clients, with failover and failback.

Options:
  --listen HOST:PORT            where clients connect (default 127.0.0.1:8080)
  --admin-listen HOST:PORT      serve /status and /metrics (and /readyz, /livez) on this listener
                                only, not on the client port (default: on the client port)
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
  --keepalive-interval-ms N     idle time before an upstream keepalive call (default 2000)
  --keepalive-timeout-ms N      deadline for its answer (default 4000)
  --request-timeout-ms N        deadline for an upstream answer: a WebSocket call's (default
                                30000), and each try of a POST / (default 10000, 3 tries at most)
  --queue-max N                 messages held per client while reconnecting (default 1000)
  --max-frame-bytes N           largest client frame or HTTP body (default 5242880)
  --hedge-delay-ms N            hedged reads for POST /: a read safe to repeat that its node has
                                not answered after N ms also goes to the next node; the first
                                good answer is used (default: no hedging)
  --hedge-percentile P          hedge instead after that node's P-th percentile latency (1-100,
                                over its last 128 answers; N ms until it has 20)
  --share-upstreams             one upstream socket per node for all clients, and one upstream
                                subscription per distinct params (for many clients)
  --status-urls                 show each node's URLs in /status, in display form only (scheme,
                                host and port); default: /status names no node URL

Limits (every one has a safe default):
  --max-clients N               client WebSockets open at once; past it an upgrade gets HTTP 503
                                with Retry-After (default ${PROXY_LIMIT_DEFAULTS.maxClients})
  --max-http-in-flight N        POST / requests in progress at once, all connections together;
                                past it a POST gets HTTP 503 with Retry-After and error -32005
                                (default ${PROXY_LIMIT_DEFAULTS.maxHttpInFlight})
  --max-buffered-bytes N        bytes queued for a client that does not read; past it the client
                                is closed with 1013 (default ${SERVE_SOCKET_DEFAULTS.maxBufferedBytes})
  --max-in-flight N             calls one client may have unanswered; past it a call gets error
                                -32005 (default ${SESSION_DEFAULTS.maxInFlight})
  --max-subscriptions N         subscriptions per client; past it error -32005 (default ${SESSION_DEFAULTS.maxSubscriptions})
  --ping-interval-ms N          ping every client this often; one silent until the next ping is
                                dropped (default ${SERVE_SOCKET_DEFAULTS.pingIntervalMs})
  --headers-timeout-ms N        a client connection must complete its request headers (or its
                                WebSocket upgrade request) within N ms, else 408 and closed
                                (default ${PROXY_DEADLINE_DEFAULTS.headersTimeoutMs})
  --http-request-timeout-ms N   ... and its whole HTTP request, body included (default ${PROXY_DEADLINE_DEFAULTS.requestTimeoutMs})
  --http-keepalive-timeout-ms N an idle keep-alive HTTP connection is closed (default ${PROXY_DEADLINE_DEFAULTS.keepAliveTimeoutMs})
  --deadline-check-interval-ms N  how often those deadlines are checked (default ${PROXY_DEADLINE_DEFAULTS.checkIntervalMs});
                                a connection is closed at most one interval after its deadline
  --drain-ms N                  on SIGTERM/SIGINT: readiness turns 503, new connections are
                                taken until none came for 1 s, owed answers have N ms to arrive
                                (then errors), then clients are closed with 1012
                                (default ${PROXY_LIMIT_DEFAULTS.drainMs}); a second signal closes at once
  --help                        show this help

Endpoints: WebSocket JSON-RPC (any path), POST / (HTTP JSON-RPC, single and batch),
GET /readyz (200 once a node is usable, 503 when none is or from the start of a drain),
GET /livez (200 while the process serves), GET /metrics (Prometheus text), GET /status (JSON);
the last two on --admin-listen instead when it is given.`;

/** `NAME=HTTP_URL[,WS_URL]` to a node; the WebSocket URL defaults to the HTTP one with ws(s):. */
export function parseNode(spec: string, tier: 'primary' | 'backup'): NodeConfig {
  const eq = spec.indexOf('=');
  const name = spec.slice(0, Math.max(0, eq));
  // A URL given without NAME= (its query's `apikey=` is no name): the message shows it redacted,
  // since a node's URL often carries its API key.
  if (eq <= 0 || /[/:?@]/.test(name)) {
    const shown = spec.split(',').map((part) => redactUrl(part.replace(/^[^/:?@=]*=/, ''))).join(',');
    throw new Error(`Expected NAME=HTTP_URL[,WS_URL] (NAME: no "/", ":", "?" or "@"), got ${JSON.stringify(shown)}`);
  }
  const [httpUrl, wsUrl] = spec.slice(eq + 1).split(',');
  if (!httpUrl) throw new Error(`Node ${name}: missing HTTP URL`);
  return { name, tier, http: httpUrl, ws: wsUrl ?? httpUrl.replace(/^http(s?):/, 'ws$1:') };
}

/** `HOST:PORT` (IPv6 in brackets) to a listen address. */
export function parseHostPort(flag: string, value: string): { host: string; port: number } {
  const colon = value.lastIndexOf(':');
  const port = Number(value.slice(colon + 1));
  if (colon <= 0 || value.slice(colon + 1) === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--${flag} must be HOST:PORT, got ${JSON.stringify(value)}`);
  }
  return { host: value.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port };
}

const INTEGER_FLAGS = [
  'health-interval-ms', 'health-timeout-ms', 'max-lag-blocks', 'failures-to-down', 'successes-to-up', 'chain-id',
  'connect-timeout-ms', 'keepalive-interval-ms', 'keepalive-timeout-ms', 'request-timeout-ms', 'queue-max', 'max-frame-bytes',
  'max-clients', 'max-http-in-flight', 'max-buffered-bytes', 'max-in-flight', 'max-subscriptions', 'ping-interval-ms', 'headers-timeout-ms',
  'http-request-timeout-ms', 'http-keepalive-timeout-ms', 'deadline-check-interval-ms', 'drain-ms', 'hedge-delay-ms', 'hedge-percentile',
] as const;

type IntegerFlag = (typeof INTEGER_FLAGS)[number];

/** The integer flags for which 0 means something (no lag allowed, no drain, no client, no hedge delay); the others need ≥ 1. */
const ZERO_ALLOWED: ReadonlySet<IntegerFlag> = new Set(['max-lag-blocks', 'drain-ms', 'max-clients', 'hedge-delay-ms', 'chain-id']);

export function parseCommandLine(argv: string[]): ProxyServerOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      listen: { type: 'string', default: '127.0.0.1:8080' },
      'admin-listen': { type: 'string' },
      upstream: { type: 'string', multiple: true, default: [] },
      backup: { type: 'string', multiple: true, default: [] },
      'share-upstreams': { type: 'boolean', default: false },
      'status-urls': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
      ...(Object.fromEntries(INTEGER_FLAGS.map((flag) => [flag, { type: 'string' }])) as Record<IntegerFlag, { type: 'string' }>),
    },
  });
  if (values.help) return 'help';
  const upstreams = [...values.upstream.map((s) => parseNode(s, 'primary')), ...values.backup.map((s) => parseNode(s, 'backup'))];
  if (upstreams.length === 0) throw new Error('At least one --upstream is required (see --help)');
  const int = (flag: IntegerFlag) => {
    const raw = (values as Record<string, unknown>)[flag] as string | undefined;
    if (raw === undefined) return undefined;
    const n = Number(raw);
    const min = ZERO_ALLOWED.has(flag) ? 0 : 1;
    if (raw.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new Error(`--${flag} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
    return n;
  };
  const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
  const adminListen = values['admin-listen'];
  // Either hedging flag turns hedging on; the pool checks the values.
  const hedgeDelayMs = int('hedge-delay-ms');
  const hedgePercentile = int('hedge-percentile');
  const hedge = hedgeDelayMs === undefined && hedgePercentile === undefined ? undefined : defined({ delayMs: hedgeDelayMs, percentile: hedgePercentile });
  return {
    listen: parseHostPort('listen', values.listen),
    ...(adminListen === undefined ? {} : { adminListen: parseHostPort('admin-listen', adminListen) }),
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
      maxInFlight: int('max-in-flight'),
      maxSubscriptions: int('max-subscriptions'),
    }),
    deadlines: defined({
      headersTimeoutMs: int('headers-timeout-ms'),
      requestTimeoutMs: int('http-request-timeout-ms'),
      keepAliveTimeoutMs: int('http-keepalive-timeout-ms'),
      checkIntervalMs: int('deadline-check-interval-ms'),
    }),
    ...defined({
      maxFrameBytes: int('max-frame-bytes'),
      maxClients: int('max-clients'),
      maxHttpInFlight: int('max-http-in-flight'),
      maxBufferedBytes: int('max-buffered-bytes'),
      pingIntervalMs: int('ping-interval-ms'),
      drainMs: int('drain-ms'),
    }),
    ...(hedge === undefined ? {} : { hedge }),
    // The same deadline for each try of a POST / (pool.request), or a slow node holds it 10 s a try.
    ...(int('request-timeout-ms') === undefined ? {} : { upstreamHttp: { attemptTimeoutMs: int('request-timeout-ms')! } }),
    ...(values['share-upstreams'] ? { shareUpstreams: true } : {}),
    ...(values['status-urls'] ? { statusShowsUrls: true } : {}),
  };
}
