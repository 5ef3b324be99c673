/**
 * The world of the pool's model-based property test (test/pool/pool.property.test.ts): fake nodes
 * on one FakeChain behind HTTP handlers that can fail in every way the HTTP path knows, a NodePool
 * over them on a fake clock (with a health checker or with probes run by the commands), and a
 * record of every request `pool.request()` was given, with what the caller had been given when it
 * sent it.
 */
import fc from 'fast-check';
import type { JsonRpcRequest, JsonRpcResponse } from '../../src/index.js';
import { HealthChecker, NodePool, RpcErrorCode, SteadyRpcError } from '../../src/index.js';
import { markNotDelivered } from '../../src/transport/HttpTransport.js';
import type { HttpResponse } from '../../src/transport/HttpTransport.js';
import { FakeChain, FakeClock, FakeNode } from '../../src/testing/index.js';
import { FakeHttpTransport } from '../../src/testing/index.js';
import { countReorgs, type ReorgCount } from './reorgCount.js';

export const POOL_NODE_NAMES = ['a', 'b', 'c'] as const;
const GENESIS = 100;
/** Blocks every node has when the commands start. */
const START_BLOCKS = 4;
const WRITE = 'eth_sendTransaction';

/**
 * How a node's HTTP endpoint behaves: `ok`; `down` (refused: provably never delivered); `stall`
 * (never answers); `http-error` (carries the request out, answers 503); `reset` (carries it out,
 * the connection breaks before the answer; every other time as a read's `EHOSTUNREACH`); `rate-limited` (429, with `Retry-After` or without, as
 * `retryAfterSeconds` says);
 * `rpc-error` (a JSON-RPC internal error for every call); `not-this-node` (geth's "header not
 * found" for every read: the pool asks another node); `rpc-rate-limited` (Infura's -32005 "daily
 * request count exceeded, request rate limited" for every call, with HTTP 200); `repeats` (answers
 * as `ok`, but a batch with every answer twice and one more under an id nobody sent).
 */
export type PoolFault = 'ok' | 'down' | 'stall' | 'http-error' | 'reset' | 'rate-limited' | 'rpc-error' | 'not-this-node' | 'rpc-rate-limited' | 'repeats';

export interface PoolSettings {
  nodes: number;
  /** A HealthChecker probes the nodes on the clock; else the commands' `Probe`s report them. */
  healthChecker: boolean;
  hedge: false | { delayMs: number } | { percentile: number };
  breaker: boolean;
  failbackCatchUp: boolean;
  waitMs: number;
  maxAttempts: number;
  attemptTimeoutMs: number;
  /** The pause before asking every node again once all failed a request (0: none). */
  retryDelayMs: number;
  /**
   * The `Retry-After` (seconds) every node's 429s name, or none; `alternate`: every other 429 of a
   * node names 30 s (the rest none), as a provider whose limits differ by what hit them.
   */
  retryAfterSeconds: number | undefined | 'alternate';
  /** Heal the nodes and let every request settle before close(), or close in the middle of it all. */
  settleFirst: boolean;
  /**
   * Each node's `http` is an endpoint function that takes this long on the clock (fresh
   * credentials), or a plain URL (`undefined`).
   */
  endpointMs: number | undefined;
}

export const poolSettings: fc.Arbitrary<PoolSettings> = fc.record({
  nodes: fc.integer({ min: 2, max: 3 }),
  healthChecker: fc.boolean(),
  hedge: fc.oneof(fc.constant(false as const), fc.record({ delayMs: fc.constantFrom(50, 300) }), fc.record({ percentile: fc.constantFrom(50, 90) })),
  breaker: fc.boolean(),
  failbackCatchUp: fc.boolean(),
  waitMs: fc.constantFrom(1_000, 5_000),
  maxAttempts: fc.integer({ min: 1, max: 5 }),
  attemptTimeoutMs: fc.constantFrom(1_000, 10_000),
  retryDelayMs: fc.constantFrom(0, 250, 250, 1_000),
  retryAfterSeconds: fc.constantFrom<PoolSettings['retryAfterSeconds']>(undefined, 1, 30, 'alternate'),
  settleFirst: fc.boolean(),
  endpointMs: fc.constantFrom(undefined, undefined, 0, 30),
});

/** One node: its chain state (a FakeNode) and how its endpoint fails now. */
export class PoolNode {
  readonly fake: FakeNode;
  fault: PoolFault = 'ok';
  latencyMs = 0;
  /** Every write (by its tag) that reached this node's handler. */
  readonly writes: number[] = [];
  /** The ids of every request that reached this node's handler. */
  readonly seen = new Set<unknown>();
  /** When its head last went down (a reorg to a shorter branch); -Infinity: never. */
  downAt = -Infinity;
  #resets = 0;
  #limits = 0;

  constructor(
    readonly name: string,
    chain: FakeChain,
    readonly clock: FakeClock,
    readonly settings: PoolSettings,
    reorgs: ReorgCount,
  ) {
    const fake = new FakeNode({ name, chain, head: GENESIS, clock });
    for (const move of ['forkAt', 'follow'] as const) {
      const moved = (fake[move] as (...args: unknown[]) => FakeNode).bind(fake);
      Object.defineProperty(fake, move, {
        configurable: true,
        value: (...args: unknown[]): FakeNode => {
          const head = fake.head;
          moved(...args);
          if (fake.head < head) this.downAt = clock.now();
          return fake;
        },
      });
    }
    this.fake = countReorgs(fake, reorgs);
  }

  readonly handler = async (body: string, signal: AbortSignal): Promise<HttpResponse> => {
    signal.throwIfAborted();
    if (this.fault === 'down') throw markNotDelivered(new SteadyRpcError('ERR_TRANSPORT', `${this.name}: connection refused`));
    await this.#wait(signal);
    const payload = JSON.parse(body) as JsonRpcRequest | JsonRpcRequest[];
    const items = Array.isArray(payload) ? payload : [payload];
    // From here on the node has the request: what it writes, it carries out.
    for (const item of items) {
      if (item.id !== undefined) this.seen.add(item.id);
      if (item.method === WRITE) this.writes.push((item.params as [{ tag: number }])[0].tag);
    }
    switch (this.fault) {
      case 'http-error':
        return { status: 503, body: 'Service Unavailable' };
      case 'reset':
        // Every other time, as Node's fetch reports a host that became unreachable under a
        // connection it had: a code that names a connection never made, from a read.
        if ((this.#resets += 1) % 2 === 0) {
          throw new TypeError('fetch failed', { cause: Object.assign(new Error(`read EHOSTUNREACH (${this.name})`), { code: 'EHOSTUNREACH', syscall: 'read' }) });
        }
        throw new SteadyRpcError('ERR_TRANSPORT', `${this.name}: connection reset after the request was sent`);
      case 'rate-limited': {
        const { retryAfterSeconds } = this.settings;
        const seconds = retryAfterSeconds === 'alternate' ? ((this.#limits += 1) % 2 === 0 ? 30 : undefined) : retryAfterSeconds;
        return { status: 429, body: 'Too Many Requests', ...(seconds === undefined ? {} : { retryAfter: String(seconds) }) };
      }
      default: {
        // Notifications (no id) get no answer, as geth gives none: nothing at all for a batch of
        // them only, or for one alone.
        const answers = items.filter((item) => item.id !== undefined).map((item) => this.#answer(item));
        if (answers.length === 0) return { status: 200, body: '' };
        if (this.fault === 'repeats' && Array.isArray(payload)) answers.push(...answers.map((a) => ({ ...a })), { jsonrpc: '2.0', id: 'nobody', result: '0x0' });
        return { status: 200, body: JSON.stringify(Array.isArray(payload) ? answers : answers[0]) };
      }
    }
  };

  #answer(item: JsonRpcRequest): JsonRpcResponse {
    const id = item.id ?? null;
    if (this.fault === 'rpc-error') return { jsonrpc: '2.0', id, error: { code: RpcErrorCode.INTERNAL_ERROR, message: `${this.name}: internal error` } };
    if (this.fault === 'rpc-rate-limited') return { jsonrpc: '2.0', id, error: { code: -32005, message: 'daily request count exceeded, request rate limited' } };
    if (item.method === WRITE) return { jsonrpc: '2.0', id, result: `0x${(item.params as [{ tag: number }])[0].tag.toString(16).padStart(64, '0')}` };
    if (this.fault === 'not-this-node') return { jsonrpc: '2.0', id, error: { code: -32000, message: 'header not found' } };
    // State at `latest` is that of the node's head: its height stands for it, so an answer shows
    // how old the state it came from is, and which node it came from (see answerProblem).
    if (item.method === 'eth_getBalance') return { jsonrpc: '2.0', id, result: `0x${(this.fake.head * 8 + (POOL_NODE_NAMES as readonly string[]).indexOf(this.name)).toString(16)}` };
    return this.fake.answer(item);
  }

  /** The node's latency, or forever while it stalls; rejects when the attempt is aborted. */
  #wait(signal: AbortSignal): Promise<void> {
    if (this.fault !== 'stall' && this.latencyMs <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: unknown;
      const onAbort = () => {
        if (timer !== undefined) this.clock.clearTimeout(timer);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (this.fault === 'stall') return;
      timer = this.clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, this.latencyMs);
    });
  }
}

/** What a request asks, as the model reads its answer. */
export type RequestSpec =
  | { type: 'blockNumber' }
  /** A block at or below what the caller has been given (`back` blocks below it). */
  | { type: 'blockByNumber'; back: number }
  | { type: 'latestBlock' }
  | { type: 'balance' }
  | { type: 'logs' }
  /**
   * `eth_getTransactionReceipt` of the newest log's transaction a `logs` answer gave the caller (a
   * hash never given before any): never `null` while every node's chain has its block and no node
   * reorged between the send and the answer.
   */
  | { type: 'receiptOfLog' }
  /**
   * `eth_feeHistory(2, 'pending')`: answered as geth does, its newest block the one after the head,
   * which is not on the chain and must not raise the pool's view (see settleAndClose).
   */
  | { type: 'feeHistoryPending' }
  | { type: 'write' }
  /** A read without an id (a JSON-RPC notification): no answer is owed for it. */
  | { type: 'notify' };

/** A transaction the caller was given (in a log), and its block. */
interface GivenTransaction {
  readonly tx: string;
  readonly blockHash: string;
  readonly number: number;
}

/** A hash no node has. */
const UNKNOWN_HASH = `0x${'ee'.repeat(32)}`;

/** What a request item asked for, as the model checks its answer. */
interface ItemRecord {
  spec: RequestSpec;
  number?: number;
  tag?: number;
  /** `receiptOfLog`: the transaction asked for, and the world's reorg count when it was sent. */
  given?: GivenTransaction;
  reorgsAtSend?: number;
  /** `receiptOfLog`, set when its answer came: whether a `null` could then be true (see `mayBeGone`). */
  mayBeGone?: boolean;
}

/** One `pool.request()` and what became of it. */
export interface RequestRecord {
  readonly payload: JsonRpcRequest | JsonRpcRequest[];
  readonly specs: ReadonlyMap<string, ItemRecord>;
  /** The highest block number the caller had been given when it sent this. */
  readonly viewAtSend: number;
  /** When a probe had last read each node's head (`headAt`), when it was sent. */
  readonly probedAt: ReadonlyMap<string, number | undefined>;
  /** The node it was told not to ask (`request(payload, { avoid })`), if any. */
  readonly avoid: string | undefined;
  readonly controller: AbortController;
  /** When it was sent, and when it settled (first), on the world's clock. */
  readonly sentAt: number;
  settledAt?: number;
  settled: number;
  answer?: JsonRpcResponse | JsonRpcResponse[];
  failure?: unknown;
}

export interface PoolWorld {
  settings: PoolSettings;
  clock: FakeClock;
  chain: FakeChain;
  nodes: PoolNode[];
  http: FakeHttpTransport;
  pool: NodePool;
  health: HealthChecker | undefined;
  requests: RequestRecord[];
  /** The highest block number an answer has given the caller (as the model reads the answers). */
  view: number;
  /** The newest log's transaction an `eth_getLogs` answer gave the caller. */
  newestTransaction: GivenTransaction | undefined;
  /** Chain moves of any node that left blocks it had. */
  reorgs: ReorgCount;
  nextId: number;
  nextTag: number;
  unhandled: unknown[];
  trace: ((line: string) => void) | undefined;
  /** Set once the pool is closed: whatever reaches a node after that is counted. */
  closed: boolean;
  sentAfterClose: number;
}

export function createPoolWorld(settings: PoolSettings): PoolWorld {
  const clock = new FakeClock();
  const chain = new FakeChain({ genesis: GENESIS });
  const http = new FakeHttpTransport();
  const reorgs: ReorgCount = { count: 0 };
  const nodes = POOL_NODE_NAMES.slice(0, settings.nodes).map((name) => new PoolNode(name, chain, clock, settings, reorgs));
  for (const node of nodes) {
    http.route(`http://${node.name}.test/`, (body, signal) => {
      if (world.closed) world.sentAfterClose += 1;
      return node.handler(body, signal);
    });
  }
  const endpoint = (name: string) => {
    const url = `http://${name}.test/`;
    const { endpointMs } = settings;
    if (endpointMs === undefined) return url;
    return () => (endpointMs === 0 ? { url } : new Promise<{ url: string }>((resolve) => clock.setTimeout(() => resolve({ url }), endpointMs)));
  };
  const pool = new NodePool({
    nodes: nodes.map((n) => ({ name: n.name, http: endpoint(n.name) })),
    clock,
    httpTransport: http,
    failbackCatchUp: settings.failbackCatchUp,
    consistency: { waitMs: settings.waitMs },
    http: { maxAttempts: settings.maxAttempts, attemptTimeoutMs: settings.attemptTimeoutMs, retryDelayMs: settings.retryDelayMs },
    ...(settings.breaker ? {} : { breaker: false as const }),
    ...(settings.hedge === false ? {} : { hedge: settings.hedge }),
  });
  const health = settings.healthChecker ? new HealthChecker(pool, { intervalMs: 1_000, timeoutMs: 2_000 }) : undefined;
  // Request ids far from the pool's own (its probes and head reads use id 1).
  const world: PoolWorld = { settings, clock, chain, nodes, http, pool, health, requests: [], view: 0, newestTransaction: undefined, reorgs, nextId: 1_000, nextTag: 1, unhandled: [], trace: undefined, closed: false, sentAfterClose: 0 };
  return world;
}

/** Every node mines the start blocks and is known healthy at its head. */
export async function startPool(world: PoolWorld): Promise<void> {
  const [first, ...rest] = world.nodes;
  first!.fake.advance(START_BLOCKS);
  for (const node of rest) node.fake.follow(first!.fake);
  if (world.health) {
    world.health.start();
    await world.clock.advance(0);
    await world.clock.advance(1_000);
  } else {
    for (const node of world.nodes) world.pool.update(node.name, { status: 'healthy', head: node.fake.head });
  }
}

/** A probe of `node` as the health checker would report it (for worlds without one). */
export function probe(world: PoolWorld, node: PoolNode): void {
  const answers = node.fault === 'ok' || node.fault === 'not-this-node' || node.fault === 'repeats';
  if (node.fault === 'rate-limited') return; // a probe met with a rate limit counts neither way
  world.pool.update(node.name, answers ? { status: 'healthy', head: node.fake.head, headAt: world.clock.now() } : { status: 'unhealthy' });
}

/** Sends one request (`specs`: one item, or a batch), not to `avoid` if given, and records it. */
export function send(world: PoolWorld, specs: RequestSpec[], batch: boolean, avoid?: string): RequestRecord {
  const items = new Map<string, ItemRecord>();
  const payloads = specs.map((spec) => {
    const id = world.nextId++;
    const { item, number, tag } = requestFor(world, spec, id);
    const given = spec.type === 'receiptOfLog' ? (world.newestTransaction ?? { tx: UNKNOWN_HASH, blockHash: UNKNOWN_HASH, number: -1 }) : undefined;
    if (spec.type !== 'notify') {
      items.set(String(id), {
        spec,
        ...(number === undefined ? {} : { number }),
        ...(tag === undefined ? {} : { tag }),
        ...(given === undefined ? {} : { given, reorgsAtSend: world.reorgs.count }),
      });
    }
    return item;
  });
  const payload = batch ? payloads : payloads[0]!;
  const controller = new AbortController();
  const probedAt = new Map(world.nodes.map((node) => [node.name, world.pool.health(node.name).headAt]));
  const record: RequestRecord = { payload, specs: items, viewAtSend: world.view, probedAt, avoid, controller, sentAt: world.clock.now(), settled: 0 };
  world.requests.push(record);
  world.trace?.(`send ${JSON.stringify(payload)} (view ${world.view}${avoid ? `, avoid ${avoid}` : ''})`);
  const options = { signal: controller.signal, ...(avoid === undefined ? {} : { avoid: [avoid] }) };
  const pending = (world.pool.request as (p: unknown, o: unknown) => Promise<JsonRpcResponse | JsonRpcResponse[]>)(payload, options);
  pending.then(
    (answer) => {
      record.settled += 1;
      record.settledAt ??= world.clock.now();
      record.answer = answer;
      world.trace?.(`answer ${JSON.stringify(answer)}`);
      for (const item of record.specs.values()) if (item.given) item.mayBeGone = mayBeGone(world, item);
      for (const one of Array.isArray(answer) ? answer : [answer]) raiseView(world, record, one);
    },
    (failure: unknown) => {
      record.settled += 1;
      record.settledAt ??= world.clock.now();
      record.failure = failure;
      world.trace?.(`failure ${String(failure)}`);
    },
  );
  return record;
}

function requestFor(world: PoolWorld, spec: RequestSpec, id: number): { item: JsonRpcRequest; number?: number; tag?: number } {
  const hex = (n: number) => `0x${n.toString(16)}`;
  switch (spec.type) {
    case 'blockNumber':
      return { item: { jsonrpc: '2.0', id, method: 'eth_blockNumber', params: [] } };
    case 'blockByNumber': {
      const number = Math.max(GENESIS, world.view - spec.back);
      return { item: { jsonrpc: '2.0', id, method: 'eth_getBlockByNumber', params: [hex(number), false] }, number };
    }
    case 'latestBlock':
      return { item: { jsonrpc: '2.0', id, method: 'eth_getBlockByNumber', params: ['latest', false] } };
    case 'balance':
      return { item: { jsonrpc: '2.0', id, method: 'eth_getBalance', params: ['0x0000000000000000000000000000000000000001', 'latest'] } };
    case 'logs':
      return { item: { jsonrpc: '2.0', id, method: 'eth_getLogs', params: [{ fromBlock: hex(GENESIS) }] } };
    case 'receiptOfLog':
      return { item: { jsonrpc: '2.0', id, method: 'eth_getTransactionReceipt', params: [world.newestTransaction?.tx ?? UNKNOWN_HASH] } };
    case 'feeHistoryPending':
      return { item: { jsonrpc: '2.0', id, method: 'eth_feeHistory', params: ['0x2', 'pending', []] } };
    case 'write': {
      const tag = world.nextTag++;
      return { item: { jsonrpc: '2.0', id, method: WRITE, params: [{ tag }] }, tag };
    }
    case 'notify':
      return { item: { jsonrpc: '2.0', method: 'eth_blockNumber', params: [] } as JsonRpcRequest };
  }
}

/** The block numbers an answer gives the caller raise its view (as the pool's own view is raised). */
function raiseView(world: PoolWorld, record: RequestRecord, answer: JsonRpcResponse): void {
  if (!('result' in answer) || answer.id === null) return;
  const item = record.specs.get(String(answer.id));
  if (!item) return;
  const result = answer.result as unknown;
  if (item.spec.type === 'blockNumber' && typeof result === 'string') world.view = Math.max(world.view, Number(result));
  if ((item.spec.type === 'blockByNumber' || item.spec.type === 'latestBlock') && isBlock(result)) world.view = Math.max(world.view, Number(result.number));
  if (item.spec.type === 'logs' && Array.isArray(result)) {
    for (const log of result as Array<{ transactionHash?: string; blockHash?: string; blockNumber?: string; removed?: boolean }>) {
      const n = Number(log.blockNumber);
      if (log.removed !== true && typeof log.transactionHash === 'string' && (world.newestTransaction === undefined || n >= world.newestTransaction.number)) {
        world.newestTransaction = { tx: log.transactionHash, blockHash: log.blockHash!, number: n };
      }
    }
  }
}

/**
 * Whether a `null` receipt for `item` could be true when it came: a hash never given, a node
 * reorged since it was sent, or some node's chain lacks its block.
 */
function mayBeGone(world: PoolWorld, item: ItemRecord): boolean {
  const { tx, blockHash, number } = item.given!;
  if (tx === UNKNOWN_HASH || item.reorgsAtSend !== world.reorgs.count) return true;
  return world.nodes.some((node) => node.fake.tip < number || node.fake.block(number).hash !== blockHash);
}

const isBlock = (value: unknown): value is { number: string; hash: string } =>
  typeof value === 'object' && value !== null && typeof (value as { number?: unknown }).number === 'string' && typeof (value as { hash?: unknown }).hash === 'string';

/**
 * What the answers break of the pool's promises, as lines (none: all kept):
 * - every request settles exactly once, with one answer per id it sent, under that id;
 * - a write reaches at most one node, at most once; a write answered with a result reached one;
 * - nothing goes back: a block number is never below what the caller had been given when it
 *   asked, a block it had been given is never answered `null` or as another height, `latest` is
 *   never an older block, state at `latest` never that of an older one; a block answered is one
 *   of the chain's, at the height asked;
 * - a failure is the caller's own abort or a SteadyRpcError.
 */
export function problemsOf(world: PoolWorld, { allSettled }: { allSettled: boolean }): string[] {
  const problems: string[] = [];
  const deliveries = new Map<number, string[]>();
  for (const node of world.nodes) for (const tag of node.writes) deliveries.set(tag, [...(deliveries.get(tag) ?? []), node.name]);
  for (const [tag, names] of deliveries) if (names.length > 1) problems.push(`write ${tag} reached ${names.join(', ')}`);
  world.requests.forEach((record, index) => {
    const where = `request ${index} ${JSON.stringify(record.payload)}`;
    if (record.settled > 1) problems.push(`${where}: settled ${record.settled} times`);
    if (record.settled === 0) {
      if (allSettled) problems.push(`${where}: never settled`);
      return;
    }
    const writes = [...record.specs.values()].filter((item) => item.tag !== undefined);
    if (record.failure !== undefined) {
      const aborted = record.failure === record.controller.signal.reason;
      if (!aborted && !(record.failure instanceof SteadyRpcError)) problems.push(`${where}: failed with ${String(record.failure)}`);
      // A write a node may have carried out is answered so (NOT_RESENT, or the node's answer): a
      // failure would tell the caller nothing about it.
      const delivered = writes.filter((item) => deliveries.has(item.tag!));
      if (!aborted && delivered.length > 0) problems.push(`${where}: failed with ${String(record.failure)}, yet its write reached ${deliveries.get(delivered[0]!.tag!)!.join(', ')}`);
      return;
    }
    if (record.avoid !== undefined && [...record.specs.keys()].some((id) => world.nodes.find((n) => n.name === record.avoid)!.seen.has(Number(id)))) {
      problems.push(`${where}: sent to ${record.avoid}, which it was told to avoid`);
    }
    if (Array.isArray(record.payload) !== Array.isArray(record.answer)) problems.push(`${where}: answered ${JSON.stringify(record.answer)}`);
    // A lone notification resolves with `{ id: null, result: null }` (its type of answer), or with
    // an error under id null when no node took it.
    if (record.specs.size === 0 && !Array.isArray(record.payload)) {
      const answer = record.answer as JsonRpcResponse;
      if (answer.id !== null) problems.push(`${where}: a notification answered ${JSON.stringify(answer)}`);
      return;
    }
    const answers = Array.isArray(record.answer) ? record.answer : [record.answer!];
    const ids = answers.map((a) => String(a.id));
    if (ids.length !== record.specs.size || new Set(ids).size !== ids.length || ids.some((id) => !record.specs.has(id))) {
      problems.push(`${where}: answers under ids ${ids.join(', ')}`);
      return;
    }
    for (const answer of answers) {
      const item = record.specs.get(String(answer.id))!;
      // Only a request holding a write is not sent again (a read alone always is).
      if ('error' in answer && answer.error.code === RpcErrorCode.NOT_RESENT && writes.length === 0) problems.push(`${where}: NOT_RESENT for reads only: ${JSON.stringify(answer)}`);
      // A write a node got is never answered as if no node could take it.
      if ('error' in answer && answer.error.code === RpcErrorCode.UPSTREAM_UNAVAILABLE && item.tag !== undefined && deliveries.has(item.tag)) {
        problems.push(`${where}: UPSTREAM_UNAVAILABLE for a write ${deliveries.get(item.tag)!.join(', ')} got: ${JSON.stringify(answer)}`);
      }
      const problem = answerProblem(world, record, item, answer);
      if (problem) problems.push(`${where}: ${problem}: ${JSON.stringify(answer)}`);
    }
  });
  return problems;
}

function answerProblem(world: PoolWorld, record: RequestRecord, item: ItemRecord, answer: JsonRpcResponse): string | undefined {
  if (!('result' in answer)) return undefined; // an error answer is always allowed to be one
  const result = answer.result as unknown;
  switch (item.spec.type) {
    case 'blockNumber':
      return typeof result !== 'string' || Number(result) < record.viewAtSend ? `a block number below the view ${record.viewAtSend}` : undefined;
    case 'balance': {
      // The answering node's head when it answered, and the node (see PoolNode): state at `latest`
      // older than the view is state going back, unless the node's head went down since the pool
      // last read it (no probe read it later before this was sent): nothing could tell the pool.
      if (typeof result !== 'string') return 'no balance';
      const height = Math.floor(Number(result) / 8);
      const node = world.nodes[Number(result) % 8]!;
      const probedAt = record.probedAt.get(node.name);
      const known = node.downAt === -Infinity || (probedAt !== undefined && probedAt > node.downAt);
      return height < record.viewAtSend && known ? `state at block ${height} from ${node.name}, below the view ${record.viewAtSend}` : undefined;
    }
    case 'blockByNumber':
      if (!isBlock(result)) return `no block for ${item.number}, at or below the view ${record.viewAtSend}`;
      if (Number(result.number) !== item.number) return `another height than ${item.number}`;
      return world.chain.block(result.hash) ? undefined : 'a block the chain does not have';
    case 'latestBlock':
      if (!isBlock(result)) return 'no latest block';
      if (Number(result.number) < record.viewAtSend) return `latest below the view ${record.viewAtSend}`;
      return world.chain.block(result.hash) ? undefined : 'a block the chain does not have';
    case 'receiptOfLog': {
      const { tx, blockHash } = item.given!;
      if (result === null) return item.mayBeGone ? undefined : `null for the receipt of ${tx} (block ${item.given!.number}, on every node's chain; the caller was given its log)`;
      const receipt = result as { transactionHash?: unknown; blockHash?: unknown };
      return receipt.transactionHash === tx && receipt.blockHash === blockHash ? undefined : `another receipt than ${tx}'s in ${blockHash}`;
    }
    case 'write': {
      const reached = world.nodes.filter((n) => n.writes.includes(item.tag!)).length;
      return reached === 1 ? undefined : `a write answered with a result reached ${reached} nodes`;
    }
    default:
      return undefined;
  }
}
