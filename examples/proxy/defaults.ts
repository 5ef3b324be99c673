/**
 * The reference proxy's defaults in one place: health checking, connection limits, client HTTP
 * deadlines and the drain. Every limit has a safe default, so the proxy is safe with no flag.
 */
import { UpstreamSession, type UpstreamSessionOptions } from 'steadyrpc';

/** Defaults that give failback in under 2 s (2 good probes, 500 ms apart) without flapping. */
export const PROXY_HEALTH_DEFAULTS = Object.freeze({
  intervalMs: 500,
  timeoutMs: 2_000,
  maxLagBlocks: 5,
  failuresToDown: 3,
  successesToUp: 2,
});

/**
 * Deadlines of a client's HTTP connection, applied through Node's own server options.
 * Node checks `headersTimeoutMs` and `requestTimeoutMs` on a sweep every `checkIntervalMs`
 * (its default sweep, 30 s, would let a slow-drip client live 90 s with Node's 60 s headers
 * deadline), so a connection is closed at most `deadline + checkIntervalMs` after it opened.
 */
export interface ProxyDeadlines {
  /**
   * From the connection's first byte (or its opening, if it sends none) to the end of the request
   * headers. Covers a client that connects and sends nothing, drips its request line or headers, or
   * never completes a WebSocket upgrade request: it gets HTTP 408 and is closed.
   * @default 20_000 (ms)
   */
  headersTimeoutMs: number;
  /**
   * From the request's start to its last body byte: a body dripped or never sent gets HTTP 408
   * and the connection is closed. Not a deadline for the answer (an upstream may take its time).
   * @default 30_000 (ms)
   */
  requestTimeoutMs: number;
  /**
   * An idle keep-alive HTTP connection is closed after this long (Node 20 adds 1 s of grace, so
   * the client, told `Keep-Alive: timeout=5`, closes first). @default 5_000 (ms)
   */
  keepAliveTimeoutMs: number;
  /** How often Node sweeps connections for the two deadlines above. @default 5_000 (ms) */
  checkIntervalMs: number;
}

export const PROXY_DEADLINE_DEFAULTS: Readonly<ProxyDeadlines> = Object.freeze({
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  checkIntervalMs: 5_000,
});

/** Limits of the proxy as a whole. */
export const PROXY_LIMIT_DEFAULTS = Object.freeze({
  /** Client WebSockets open at once; past it an upgrade gets HTTP 503 with Retry-After. */
  maxClients: 10_000,
  /**
   * HTTP JSON-RPC requests (POST /) in progress at once, all connections together; past it a POST
   * gets HTTP 503 with Retry-After and a LIMIT_EXCEEDED (-32005) error.
   */
  maxHttpInFlight: 1_000,
  /** SIGTERM/SIGINT: how long owed answers have to arrive before what remains is closed anyway (ms). */
  drainMs: 10_000,
  /** Retry-After (s) sent with a refused upgrade or POST. */
  retryAfterSec: 1,
});

/**
 * The latest a slow or silent client HTTP connection is closed after it opened, in ms: its
 * deadline plus one sweep interval (Node finds an expired connection on the next sweep).
 * An idle keep-alive connection: its timeout plus Node's 1 s of grace.
 * With the defaults: headers 25 s, body 35 s, idle 6 s; all under 60 s.
 */
export function worstCaseCloseMs(deadlines: ProxyDeadlines): { headers: number; body: number; idle: number } {
  return {
    headers: deadlines.headersTimeoutMs + deadlines.checkIntervalMs,
    body: deadlines.requestTimeoutMs + deadlines.checkIntervalMs,
    idle: deadlines.keepAliveTimeoutMs + 1_000,
  };
}

/** Applies defaults and checks them as Node would (headers ≤ request), with precise messages. */
export function proxyDeadlines(options: Partial<ProxyDeadlines> = {}): Readonly<ProxyDeadlines> {
  const deadlines = { ...PROXY_DEADLINE_DEFAULTS };
  for (const key of Object.keys(PROXY_DEADLINE_DEFAULTS) as Array<keyof ProxyDeadlines>) {
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value <= 0) throw new Error(`Expected ${key} to be an integer > 0, got ${String(value)}`);
    deadlines[key] = value;
  }
  if (deadlines.headersTimeoutMs > deadlines.requestTimeoutMs) {
    throw new Error(`Expected headersTimeoutMs (${deadlines.headersTimeoutMs}) <= requestTimeoutMs (${deadlines.requestTimeoutMs})`);
  }
  return Object.freeze(deadlines);
}

/**
 * Checks, before the proxy listens, the settings it applies to each client later (its session,
 * its socket, its HTTP body): a bad one must stop the start with a clear message, not surface at
 * the first client (where it would throw inside the upgrade handler and take the process down).
 */
export function checkClientSettings(settings: {
  session: Omit<UpstreamSessionOptions, 'pool'>;
  maxFrameBytes: number;
  maxBufferedBytes: number | undefined;
  pingIntervalMs: number | undefined;
}): void {
  const { session, maxFrameBytes, maxBufferedBytes, pingIntervalMs } = settings;
  const fail = (name: string, rule: string, value: unknown) => {
    throw new Error(`Expected ${name} to be ${rule}, got ${String(value)}`);
  };
  if (!Number.isSafeInteger(maxFrameBytes) || maxFrameBytes < 1) fail('maxFrameBytes', 'an integer >= 1', maxFrameBytes);
  for (const [name, value] of [['maxBufferedBytes', maxBufferedBytes], ['pingIntervalMs', pingIntervalMs]] as const) {
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) fail(name, 'a finite number > 0', value);
  }
  // What a session would throw at the first client, thrown now (every session option but `pool`).
  UpstreamSession.checkOptions(session);
  // The HTTP path takes it too (serveHttp), where a batch's size is a count.
  if (session.maxBatchSize !== undefined && (!Number.isSafeInteger(session.maxBatchSize) || session.maxBatchSize < 1)) {
    fail('session.maxBatchSize', 'an integer >= 1', session.maxBatchSize);
  }
}
