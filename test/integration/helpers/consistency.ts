/**
 * Shared by the consistency integration tests (test/integration/consistency.*.test.ts): a rig of two
 * SharedChain anvil nodes (`a` preferred, `b` backup) under a NodePool and a fast HealthChecker, a
 * recorder of what a client of an UpstreamSession receives, and checkers that read a client's
 * `newHeads` and `logs` streams the way a client of ONE node would: every head linked to the one
 * before it (or, on a reorg, to the delivered head it forks from), no head twice, and no height
 * carrying logs of two branches without the first one retracted (`removed: true`) in between.
 *
 * Real time, every wait bounded.
 */
import { HealthChecker, NodePool, UpstreamSession } from '../../../src/index.js';
import type { HealthCheckerOptions, NodeConfig, NodePoolOptions, UpstreamSessionOptions } from '../../../src/index.js';
import { rpc, SharedChain } from './sharedChain.js';
import type { Frame } from './wsClient.js';

export { rpc };

/** Fast probes: a cut node is marked down within ~0.75 s (3 failures), a restored one up within ~0.5 s. */
export const FAST_HEALTH: HealthCheckerOptions = Object.freeze({ intervalMs: 250, timeoutMs: 500 });

export interface Head {
  number: string;
  hash: string;
  parentHash: string;
}

export interface Log {
  address: string;
  blockHash: string;
  blockNumber: string;
  logIndex: string;
  transactionHash: string;
  data: string;
  topics: string[];
  removed?: boolean;
}

export type { Frame };

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export const hex = (n: number) => `0x${n.toString(16)}`;
export const num = (q: string | bigint | number) => Number(q);

/** Polls `probe` (sync or async) every 20 ms until it gives a defined, non-false value; throws after `timeoutMs`. */
export async function until<T>(what: string, probe: () => T | undefined | false | null | Promise<T | undefined | false | null>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** `a` then `b`, through their fault proxies (HTTP and WebSocket). */
export function chainNodes(chain: SharedChain): NodeConfig[] {
  return ['a', 'b'].map((name) => ({ name, http: chain.nodes[name]!.proxy.httpUrl, ws: chain.nodes[name]!.proxy.wsUrl }));
}

/** Every frame a client received, in order, with the time it arrived; calls and subscriptions on top. */
export class Recorder {
  readonly frames: Array<{ at: number; frame: Frame }> = [];
  #nextId = 1;
  readonly #send: (text: string) => void;

  constructor(send: (text: string) => void) {
    this.#send = send;
  }

  /** Feeds a received frame (a single message or a batch). */
  receive(text: string): void {
    const parsed = JSON.parse(text) as Frame | Frame[];
    const at = Date.now();
    for (const frame of Array.isArray(parsed) ? parsed : [parsed]) this.frames.push({ at, frame });
  }

  /** Sends a request and resolves with its one answer and how long it took. */
  async call(method: string, params: unknown[] = [], timeoutMs = 15_000): Promise<{ frame: Frame; ms: number }> {
    const id = `c${this.#nextId++}`;
    const sentAt = Date.now();
    this.#send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    const found = await until(`answer to ${method} (${id})`, () => this.frames.find((f) => f.frame.id === id), timeoutMs);
    return { frame: found.frame, ms: found.at - sentAt };
  }

  /** The result of a call that must succeed. */
  async result<T = any>(method: string, params: unknown[] = []): Promise<T> {
    const { frame } = await this.call(method, params);
    if (frame.error) throw new Error(`${method}: ${frame.error.message} (${frame.error.code})`);
    return frame.result as T;
  }

  async subscribe(params: unknown[]): Promise<string> {
    return this.result<string>('eth_subscribe', params);
  }

  answers(id: unknown): Frame[] {
    return this.frames.filter((f) => f.frame.id === id).map((f) => f.frame);
  }

  notifications<T = any>(subscription: string): Array<{ at: number; result: T }> {
    return this.frames.filter((f) => f.frame.method === 'eth_subscription' && f.frame.params?.subscription === subscription).map((f) => ({ at: f.at, result: f.frame.params!.result as T }));
  }

  heads(subscription: string): Head[] {
    return this.notifications<Head>(subscription).map((n) => n.result);
  }

  logs(subscription: string): Log[] {
    return this.notifications<Log>(subscription).map((n) => n.result);
  }
}

export interface Rig {
  chain: SharedChain;
  pool: NodePool;
  checker: HealthChecker;
  /** Closes what was opened (sessions given to `track`, then the checker, pool and chain). */
  stop(): Promise<void>;
  /** Opens a session on the pool with a recorder of everything it gives the client. */
  session(options?: Omit<UpstreamSessionOptions, 'pool'>): { session: UpstreamSession; client: Recorder; events: SessionEventLog };
}

/** The session's `reorg`, `behind` and `switch` events, with the time each arrived. */
export interface SessionEventLog {
  reorgs: Array<{ at: number; ancestor: number; depth: number; deep: boolean; from: string | undefined; to: string }>;
  behind: Array<{ at: number; node: string; method: string; need: number; outcome: 'held' | 'failed' }>;
  switches: Array<{ at: number; from: string | undefined; to: string; reason: string }>;
}

/** Two SharedChain nodes, a pool over them (a first) and a running fast health checker. */
/** A session on `pool` and a client recording what it gets; the session's errors are its own (counted in its stats). */
export function recordedSession(pool: NodePool, options: Omit<UpstreamSessionOptions, 'pool'> = {}): { session: UpstreamSession; client: Recorder } {
  const session = new UpstreamSession({ ...options, pool });
  const client = new Recorder((text) => session.send(text));
  session.on('message', (text) => client.receive(text));
  session.on('error', () => {});
  return { session, client };
}

export async function startRig(options: { health?: HealthCheckerOptions; pool?: Omit<NodePoolOptions, 'nodes'> } = {}): Promise<Rig> {
  const chain = await SharedChain.start();
  const pool = new NodePool({ nodes: chainNodes(chain), ...options.pool });
  const checker = new HealthChecker(pool, { ...FAST_HEALTH, ...options.health });
  checker.start();
  const sessions: UpstreamSession[] = [];
  return {
    chain,
    pool,
    checker,
    session(sessionOptions = {}) {
      const { session, client } = recordedSession(pool, sessionOptions);
      sessions.push(session);
      const events: SessionEventLog = { reorgs: [], behind: [], switches: [] };
      session.on('reorg', (e) => events.reorgs.push({ at: Date.now(), ...e }));
      session.on('behind', (e) => events.behind.push({ at: Date.now(), ...e }));
      session.on('switch', (e) => events.switches.push({ at: Date.now(), ...e }));
      return { session, client, events };
    },
    async stop() {
      for (const session of sessions) session.close();
      checker.close();
      pool.close();
      await chain.stop();
    },
  };
}

/** Waits until the pool's health records show both nodes at these heads (and usable, unless said). */
export async function poolSees(pool: NodePool, heads: Record<string, number>, timeoutMs = 5_000): Promise<void> {
  await until(
    `pool health at ${JSON.stringify(heads)}`,
    () => Object.entries(heads).every(([name, head]) => pool.health(name).head === head),
    timeoutMs,
  );
}

/** The node's block `n` (hash, parentHash, transactions), read straight from its anvil. */
export async function blockOf(chain: SharedChain, name: string, n: number): Promise<{ hash: string; parentHash: string; number: string; transactions: string[] }> {
  return rpc(chain.nodes[name]!.anvil.httpUrl, 'eth_getBlockByNumber', [hex(n), false]);
}

/** The logger's logs in [from, to], read straight from the node's anvil. */
export async function logsOf(chain: SharedChain, name: string, from: number, to: number): Promise<Log[]> {
  return rpc(chain.nodes[name]!.anvil.httpUrl, 'eth_getLogs', [{ address: chain.logger, fromBlock: hex(from), toBlock: hex(to) }]);
}

/** Whether a log comes from a fork block (SharedChain tags fork logs' data with bit 255). */
export const isForkLog = (log: { data: string }) => BigInt(log.data) >> 255n === 1n;

export const logKey = (log: { blockHash: string | null; logIndex: string | number | null }) => `${log.blockHash}:${Number(log.logIndex)}`;

/**
 * What a client of one node may see in a `newHeads` stream, broken: a head whose parent is not the
 * head last delivered one below it, a gap, or a head delivered twice while still on the chain the
 * client was shown. Empty when the stream reads as one node's, reorgs included.
 */
export function headViolations(heads: readonly Head[]): string[] {
  const problems: string[] = [];
  /** number → hash, of the chain the client was last shown. */
  const shown = new Map<number, string>();
  let top: number | undefined;
  for (const head of heads) {
    const n = num(head.number);
    if (top !== undefined) {
      if (n > top + 1) problems.push(`gap: head ${n} after ${top}`);
      const parent = shown.get(n - 1);
      if (parent !== undefined && parent !== head.parentHash) problems.push(`head ${n} (${head.hash}) names parent ${head.parentHash}, the client was shown ${parent} at ${n - 1}`);
      if (shown.get(n) === head.hash) problems.push(`head ${n} (${head.hash}) delivered twice`);
    }
    // A head at or below the top replaces what the client was shown from there (a reorg).
    for (const k of [...shown.keys()]) if (k >= n) shown.delete(k);
    shown.set(n, head.hash);
    top = n;
  }
  return problems;
}

/**
 * What a client of one node may see in a `logs` stream, broken: a height carrying logs of two
 * blocks (branches) without the first one's logs retracted in between, a log delivered twice while
 * live, or a retraction of a log that is not live (never delivered, or retracted twice).
 */
export function logViolations(logs: ReadonlyArray<Pick<Log, 'blockHash' | 'blockNumber' | 'logIndex' | 'removed'>>): string[] {
  const problems: string[] = [];
  /** height → live log keys */
  const live = new Map<number, Set<string>>();
  for (const log of logs) {
    const n = num(log.blockNumber);
    const key = logKey(log);
    const here = live.get(n) ?? new Set<string>();
    live.set(n, here);
    if (log.removed === true) {
      if (!here.delete(key)) problems.push(`retraction of ${key} at ${n}, which is not live`);
      continue;
    }
    if (here.has(key)) problems.push(`log ${key} at ${n} delivered twice`);
    const other = [...here].find((k) => !k.startsWith(`${log.blockHash}:`));
    if (other !== undefined) problems.push(`height ${n} carries ${key} and ${other} (two branches, no retraction between)`);
    here.add(key);
  }
  return problems;
}

/** A read loop through a client: `eth_blockNumber` every `everyMs`, recording every answer, until stopped. */
export function watchBlockNumber(call: () => Promise<{ result?: string; error?: { code: number } }>, everyMs = 50): { answers: Array<{ at: number; value?: number; error?: number }>; stop(): Promise<void> } {
  const answers: Array<{ at: number; value?: number; error?: number }> = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const frame = await call().catch(() => undefined);
      if (frame) answers.push(frame.error ? { at: Date.now(), error: frame.error.code } : { at: Date.now(), value: num(frame.result!) });
      await sleep(everyMs);
    }
  })();
  return {
    answers,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** Whether a sequence of numbers never decreases. Returns the first step back, if any. */
export function firstStepBack(values: readonly number[]): string | undefined {
  for (let i = 1; i < values.length; i++) if (values[i]! < values[i - 1]!) return `${values[i - 1]} -> ${values[i]} at answer ${i}`;
  return undefined;
}
