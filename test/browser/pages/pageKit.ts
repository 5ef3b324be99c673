/**
 * What every browser test page shares: its configuration (from the query string), and the report
 * it keeps for the test (read with `page.evaluate(() => window.steadyPage.snapshot())`).
 *
 * Import this module first in a page: it replaces the global `WebSocket` with a subclass that
 * notes every socket the page opens (its URL and time) before any other module can capture the
 * global, so the test can count connect attempts even when the browser never lets one reach the
 * network (as when it is offline). The subclass changes nothing else.
 */
import type { HealthCheckerOptions, NodeConfig, NodePool, SessionSwitchEvent, UpstreamSession } from 'steadyrpc';

export interface PageConfig {
  nodes: NodeConfig[];
  /** Health checker settings (fast rounds in tests). */
  health: Pick<HealthCheckerOptions, 'intervalMs' | 'timeoutMs'>;
  /** Session settings passed to the adapter. */
  session?: Record<string, unknown>;
  /** The account whose balance each call reads (it tells which node answered). */
  account: string;
  /** `static`: the session gets `staticEnvironment` (no network or visibility hooks), for contrast. */
  environment?: 'static';
}

export interface Timed {
  /** `Date.now()` in the page (the same clock as the test's: one machine). */
  at: number;
}

export interface CallRecord extends Timed {
  settledAt?: number;
  /** The balance, in wei, as a decimal string. */
  value?: string;
  error?: string;
}

export interface PageSnapshot {
  /** The adapter is built and its first block arrived. */
  ready: boolean;
  blocks: Array<Timed & { number: number }>;
  calls: CallRecord[];
  switches: Array<Timed & SessionSwitchEvent>;
  reconnecting: Array<Timed & { attempt: number; delayMs: number }>;
  upstreamCloses: Array<Timed & { node: string; code: number; reason: string }>;
  /** The session's `error` events: handled by the session (timeouts, refusals), not page errors. */
  sessionErrors: Array<Timed & { code: string; message: string }>;
  /** The pool's health records as the checker wrote them (status, head, the last failure). */
  probes: Array<Timed & { name: string; status: string; head: number | undefined; ok: boolean; error: string | undefined }>;
  /** The pool's `switch` events: the node it prefers changed. */
  poolSwitches: Array<Timed & { from: string | undefined; to: string | undefined; reason: string }>;
  /** Every `new WebSocket(…)` the page made. */
  sockets: Array<Timed & { url: string }>;
  /** The session's `network` events: what it made of the page's `online` / `offline`. */
  sessionNetwork: Array<Timed & { online: boolean }>;
  /** `visibilitychange` events, with `document.visibilityState` after each. */
  visibility: Array<Timed & { state: string }>;
  /** `online` / `offline` events on window, with `navigator.onLine` at that moment. */
  network: Array<Timed & { event: 'online' | 'offline'; onLine: boolean }>;
  /** Errors the page saw: uncaught, unhandled rejections, CSP violations, watcher errors. */
  errors: string[];
  node: string | undefined;
  state: string;
  onLine: boolean;
  /** The pool's view now: the node it prefers, each node's status and probed head. */
  pool: { preferred: string | undefined; nodes: Array<{ name: string; status: string; head: number | undefined; lastError: string | undefined }> };
}

export interface PageApi {
  snapshot(): PageSnapshot;
  /** Calls `getBalance(account)` every `intervalMs` without waiting for answers. */
  startCalls(intervalMs: number): void;
  stopCalls(): void;
  /** One `getBalance(account)`; resolves with the decimal string. */
  balance(): Promise<string>;
  /**
   * Holds the main thread for `ms` right after the page next sends a frame calling `method` on the
   * socket to `url` (once the task that sent it is over); resolves with the time the hold began,
   * or `undefined` if no such frame was sent within `waitMs`.
   */
  holdAfterSend(options: { method: string; url: string; ms: number; waitMs: number }): Promise<number | undefined>;
  /** Closes the adapter (its session, health checker and pool). */
  close(): void;
}

declare global {
  interface Window {
    steadyPage?: PageApi;
    /** Set if the page failed to start. */
    steadyPageError?: string;
  }
}

const report = {
  blocks: [] as PageSnapshot['blocks'],
  calls: [] as CallRecord[],
  switches: [] as PageSnapshot['switches'],
  reconnecting: [] as PageSnapshot['reconnecting'],
  upstreamCloses: [] as PageSnapshot['upstreamCloses'],
  sessionErrors: [] as PageSnapshot['sessionErrors'],
  sockets: [] as PageSnapshot['sockets'],
  probes: [] as PageSnapshot['probes'],
  poolSwitches: [] as PageSnapshot['poolSwitches'],
  network: [] as PageSnapshot['network'],
  sessionNetwork: [] as PageSnapshot['sessionNetwork'],
  visibility: [] as PageSnapshot['visibility'],
  errors: [] as string[],
};

const describe = (value: unknown): string => (value instanceof Error ? `${value.name}: ${value.message}` : String(value));

/** Notes an error the page saw; the test fails on any. */
export function pageError(what: string, error: unknown): void {
  report.errors.push(`${what}: ${describe(error)}`);
}

/** Set by `holdAfterSend`: the next frame naming `method` on `url` is followed by a held main thread. */
let holdAfter: { method: string; url: string; ms: number; done: (at: number) => void } | undefined;

/**
 * Count sockets: a transparent subclass in place of the global, installed before steadyrpc loads.
 * Its `send` only looks for the frame `holdAfterSend` waits for.
 */
const NativeWebSocket = globalThis.WebSocket;
globalThis.WebSocket = class CountingWebSocket extends NativeWebSocket {
  constructor(url: string | URL, protocols?: string | string[]) {
    super(url, protocols);
    report.sockets.push({ at: Date.now(), url: String(url) });
  }

  override send(data: string | ArrayBufferLike | Blob | ArrayBufferView): void {
    super.send(data);
    const hold = holdAfter;
    if (hold === undefined || this.url !== hold.url || typeof data !== 'string' || !data.includes(`"method":"${hold.method}"`)) return;
    holdAfter = undefined;
    // After the task that sent it has finished (and armed its deadline), hold the thread.
    queueMicrotask(() => {
      const at = Date.now();
      while (Date.now() < at + hold.ms) {
        // held: no timer and no socket event runs
      }
      hold.done(at);
    });
  }
};

addEventListener('error', (event) => pageError('uncaught', event.error ?? event.message));
addEventListener('unhandledrejection', (event) => pageError('unhandled rejection', event.reason));
addEventListener('securitypolicyviolation', (event) => pageError('CSP violation', `${event.violatedDirective} ${event.blockedURI}`));
document.addEventListener('visibilitychange', () => report.visibility.push({ at: Date.now(), state: document.visibilityState }));
for (const name of ['online', 'offline'] as const) {
  addEventListener(name, () => report.network.push({ at: Date.now(), event: name, onLine: navigator.onLine }));
}

export function readConfig(): PageConfig {
  const text = new URLSearchParams(location.search).get('config');
  if (text === null) throw new Error('the page needs ?config=<json>');
  return JSON.parse(text) as PageConfig;
}

/** Records the session's switches, backoff rounds, upstream closes and handled errors. */
export function watchSession(session: UpstreamSession): void {
  session.on('switch', (event) => report.switches.push({ at: Date.now(), ...event }));
  session.on('reconnecting', (event) => report.reconnecting.push({ at: Date.now(), ...event }));
  session.on('upstreamClose', ({ node, code, reason }) => report.upstreamCloses.push({ at: Date.now(), node, code, reason }));
  session.on('network', ({ online }) => report.sessionNetwork.push({ at: Date.now(), online }));
  session.on('error', (error) => report.sessionErrors.push({ at: Date.now(), code: error.code, message: error.message }));
}

export function recordBlock(number: number | bigint): void {
  report.blocks.push({ at: Date.now(), number: Number(number) });
}

/**
 * Publishes the page's API on `window.steadyPage`. `balance` is the adapter's own call
 * (`client.getBalance` / `provider.getBalance`).
 */
export function publish(options: { session: UpstreamSession; pool: NodePool; balance: () => Promise<bigint>; close: () => void }): void {
  const { session, pool, balance, close } = options;
  pool.on('switch', ({ from, to, reason }) => report.poolSwitches.push({ at: Date.now(), from, to, reason }));
  pool.on('health', ({ name, health }) => {
    const ok = health.consecutiveFailures === 0;
    report.probes.push({ at: Date.now(), name, status: health.status, head: health.head, ok, error: ok ? undefined : health.lastError });
  });
  let timer: ReturnType<typeof setInterval> | undefined;
  const call = () => {
    const record: CallRecord = { at: Date.now() };
    report.calls.push(record);
    balance().then(
      (value) => Object.assign(record, { settledAt: Date.now(), value: value.toString() }),
      (error: unknown) => Object.assign(record, { settledAt: Date.now(), error: describe(error) }),
    );
  };
  window.steadyPage = {
    snapshot: () => ({
      ...structuredClone(report),
      ready: report.blocks.length > 0,
      node: session.node,
      state: session.state,
      onLine: navigator.onLine,
      pool: {
        preferred: pool.preferred(),
        nodes: pool.nodes.map(({ name }) => {
          const { status, head, lastError } = pool.health(name);
          return { name, status, head, lastError };
        }),
      },
    }),
    startCalls(intervalMs) {
      clearInterval(timer);
      timer = setInterval(call, intervalMs);
    },
    stopCalls() {
      clearInterval(timer);
      timer = undefined;
    },
    balance: async () => (await balance()).toString(),
    holdAfterSend: ({ method, url, ms, waitMs }) =>
      new Promise((resolve) => {
        const timer = setTimeout(() => {
          holdAfter = undefined;
          resolve(undefined);
        }, waitMs);
        holdAfter = { method, url: new URL(url).href, ms, done: (at) => (clearTimeout(timer), resolve(at)) };
      }),
    close() {
      clearInterval(timer);
      close();
    },
  };
}

/** Runs the page's setup; a failure is left on `window.steadyPageError` for the test to show. */
export function start(setup: () => void): void {
  try {
    setup();
  } catch (error) {
    window.steadyPageError = describe(error);
    pageError('setup', error);
  }
}
