/**
 * What the runtimes test (Node 20, vitest) and the scenario child (Bun, Deno, Node 22) say to each
 * other.
 * The child reads its {@link ScenarioConfig} from the `STEADYRPC_SCENARIO` environment variable and
 * prints one JSON {@link ChildLine} per stdout line; the parent applies each fault itself (the fault
 * proxies live in its process) and then tells the child on stdin, one {@link ParentCommand} a line.
 * Plain lines over stdio, because IPC channels differ between runtimes.
 */

/** The environment variable that carries the {@link ScenarioConfig} as JSON. */
export const CONFIG_ENV = 'STEADYRPC_SCENARIO';

export interface ScenarioNode {
  name: string;
  http: string;
  ws: string;
  /** `eth_getBalance(account)` on this node, as a decimal string: tells which node answered. */
  balance: string;
}

export interface ScenarioConfig {
  /** The preferred node first (it is cut and restored), then the backup. */
  nodes: [ScenarioNode, ScenarioNode];
  /** The account whose balance differs between the nodes. */
  account: string;
  /**
   * `default`: the session builds its own socket transport (the platform default);
   * `standard`: the scenario passes `new StandardWebSocketTransport()` explicitly.
   */
  transport: 'default' | 'standard';
  /** The child gives up (and reports why) after this long. */
  deadlineMs: number;
}

/** Written by the parent once the fault is in place. */
export type ParentCommand = 'cut' | 'restored';

/** Where the scenario was when something happened. */
export type Phase = 'before' | 'cut' | 'restored' | 'after';

export interface HeadRecord {
  phase: Phase;
  /** ms since the scenario started. */
  at: number;
  subscription: string;
  number: number;
  /** The node the session was on when the head reached the client. */
  node: string | undefined;
}

export interface CallRecord {
  phase: Phase;
  method: string;
  sentAt: number;
  /** ms from send to answer; absent if the call was never answered. */
  ms?: number;
  result?: unknown;
  error?: { code: number; message: string };
}

export interface SwitchRecord {
  at: number;
  from: string | undefined;
  to: string;
  reason: string;
}

export interface ScenarioReport {
  type: 'report';
  ok: boolean;
  /** Why the scenario stopped early, when it did. */
  failure?: string;
  runtime: { name: 'bun' | 'deno' | 'node' | 'other'; version: string };
  /** `typeof globalThis.WebSocket` and how many were constructed (the session's upstream sockets). */
  webSocket: { global: string; opened: number };
  transport: ScenarioConfig['transport'];
  /** What `defaultSocketTransport()` gives in this runtime (what a session builds when given none). */
  defaultTransport: 'StandardWebSocketTransport' | 'WsSocketTransport' | 'other';
  subscription: string | undefined;
  unsubscribed: unknown;
  heads: HeadRecord[];
  calls: CallRecord[];
  switches: SwitchRecord[];
  /** ms since start; `failback` is restore to the first balance answered by the preferred node. */
  timings: { ready?: number; cut?: number; onBackup?: number; restored?: number; failbackMs?: number; total?: number };
  finalNode: string | undefined;
  /**
   * What the pool, the health checker and the session did, in order (`ms what`): shown when the
   * run fails. Bounded: failed probes are logged when the outcome changes, not each time.
   */
  log: string[];
  /** Uncaught errors and unhandled rejections in the child. */
  uncaught: string[];
}

export type ChildLine =
  | { type: 'progress'; step: 'ready' | 'on-backup'; at: number; node: string | undefined }
  | ScenarioReport;
