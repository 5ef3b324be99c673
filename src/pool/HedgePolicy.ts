import { SteadyRpcError } from '../errors.js';
import type { JsonRpcRequest } from '../jsonrpc.js';

export interface HedgeOptions {
  /**
   * How long the first attempt may run before the same request also goes to a second node, in
   * ms. With `percentile`, the wait until the node has answered `MIN_SAMPLES` (20) requests.
   * @default 100
   */
  delayMs?: number;
  /**
   * Wait instead for this percentile (0–100, e.g. 95) of the latency of the node the attempt went
   * to, over its last 128 answered attempts, so only that node's slow tail is hedged.
   * @default none (a fixed `delayMs`)
   */
  percentile?: number;
  /** Most extra copies of one request (each after another wait); attempts stay within `http.maxAttempts`. @default 1 */
  maxExtra?: number;
  /**
   * More methods to hedge, besides the plain reads hedged by default ({@link HEDGED_METHODS}): a
   * chain's own reads (`zks_getBlockDetails`), or traces (`debug_traceTransaction`), which are left
   * out because each copy doubles a costly request. Names as sent, case and all. A method
   * `isRepeatable` refuses is never hedged, listed or not.
   * @default none
   */
  methods?: readonly string[];
}

export interface HedgeSettings {
  readonly delayMs: number;
  readonly percentile: number | undefined;
  readonly maxExtra: number;
  /** `HedgeOptions.methods`, if any. */
  readonly methods: ReadonlySet<string> | undefined;
}

export const HEDGE_DEFAULTS = Object.freeze({ delayMs: 100, maxExtra: 1 });

/** Samples a node needs before its percentile replaces `delayMs`. */
export const MIN_SAMPLES = 20;
const WINDOW = 128;

/** Validated hedging settings; `undefined` when hedging is off (the default). */
export function hedgeSettings(options: HedgeOptions | false | undefined): HedgeSettings | undefined {
  if (options === undefined || options === false) return undefined;
  if (typeof options !== 'object' || options === null) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected hedge to be an object or false, got ${String(options)}`);
  }
  const { delayMs, maxExtra } = { ...HEDGE_DEFAULTS, ...options };
  const { percentile, methods } = options;
  if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected hedge.delayMs to be a finite number >= 0, got ${delayMs}`);
  }
  if (percentile !== undefined && (typeof percentile !== 'number' || !(percentile > 0 && percentile <= 100))) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected hedge.percentile to be a number > 0 and <= 100, got ${percentile}`);
  }
  if (!Number.isInteger(maxExtra) || maxExtra < 1) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected hedge.maxExtra to be an integer >= 1, got ${maxExtra}`);
  }
  if (methods !== undefined && (!Array.isArray(methods) || !methods.every((m) => typeof m === 'string' && m !== ''))) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected hedge.methods to be an array of method names, got ${JSON.stringify(methods) ?? String(methods)}`);
  }
  return Object.freeze({ delayMs, percentile, maxExtra, methods: methods && methods.length > 0 ? new Set(methods) : undefined });
}

/**
 * The methods hedged by default: plain reads, which any node in sync answers alike, that change
 * nothing and live on no node (a copy on a second node is only a second read of the same chain).
 * An allow-list, so a method it does not know is not hedged: transactions of every kind
 * (`eth_sendRawTransaction`, `eth_sendRawTransactionSync`, `eth_sendPrivateTransaction`,
 * `eth_sendBundle`, `eth_sendUserOperation` …: each broadcast is a second submission, not a read),
 * filters (`eth_newFilter`, `eth_getFilterChanges` … live on one node, and polling one consumes its
 * changes), subscriptions, the node's own mempool, keys and peers (`txpool_*`, `eth_accounts`),
 * and traces (`debug_trace*`, `trace_*`: reads, but costly and slow by nature, so a copy after the
 * delay would nearly always run one twice; `HedgeOptions.methods` adds them).
 */
export const HEDGED_METHODS: ReadonlySet<string> = new Set([
  // The chain and the node's client
  'eth_chainId',
  'net_version',
  'net_listening',
  'web3_clientVersion',
  'web3_sha3',
  'eth_syncing',
  'eth_blockNumber',
  // Fees
  'eth_gasPrice',
  'eth_maxPriorityFeePerGas',
  'eth_blobBaseFee',
  'eth_feeHistory',
  // State
  'eth_getBalance',
  'eth_getCode',
  'eth_getStorageAt',
  'eth_getTransactionCount',
  'eth_getProof',
  // Execution against state, nothing kept
  'eth_call',
  'eth_estimateGas',
  'eth_createAccessList',
  'eth_simulateV1',
  // Blocks, headers, uncles
  'eth_getBlockByNumber',
  'eth_getBlockByHash',
  'eth_getHeaderByNumber',
  'eth_getHeaderByHash',
  'eth_getBlockTransactionCountByNumber',
  'eth_getBlockTransactionCountByHash',
  'eth_getUncleCountByBlockNumber',
  'eth_getUncleCountByBlockHash',
  'eth_getUncleByBlockNumberAndIndex',
  'eth_getUncleByBlockHashAndIndex',
  'eth_getBlockReceipts',
  // Transactions, receipts, logs
  'eth_getTransactionByHash',
  'eth_getTransactionByBlockNumberAndIndex',
  'eth_getTransactionByBlockHashAndIndex',
  'eth_getRawTransactionByHash',
  'eth_getRawTransactionByBlockNumberAndIndex',
  'eth_getRawTransactionByBlockHashAndIndex',
  'eth_getTransactionReceipt',
  'eth_getLogs',
]);

/**
 * Whether every request of `payload`, all of them safe to repeat (the caller's `isRepeatable` said
 * so), may also run on two nodes at once: each a call (a notification has no answer to race for)
 * of a plain read ({@link HEDGED_METHODS}) or of a method in `more` (`HedgeOptions.methods`).
 */
export function isHedgeable(payload: JsonRpcRequest | JsonRpcRequest[], more?: ReadonlySet<string>): boolean {
  if (!Array.isArray(payload)) return payload.id !== undefined && (HEDGED_METHODS.has(payload.method) || more?.has(payload.method) === true);
  for (const { id, method } of payload) {
    if (id === undefined || !(HEDGED_METHODS.has(method) || more?.has(method) === true)) return false;
  }
  return true;
}

/** The latencies of each node's last answered attempts, and the percentile a hedge waits for. */
export class NodeLatencies {
  readonly #percentile: number;
  readonly #samples = new Map<string, { ring: number[]; next: number; added: number; cached: number | undefined }>();

  constructor(percentile: number) {
    this.#percentile = percentile;
  }

  record(name: string, ms: number): void {
    let node = this.#samples.get(name);
    if (!node) this.#samples.set(name, (node = { ring: [], next: 0, added: 0, cached: undefined }));
    node.ring[node.next] = ms;
    node.next = (node.next + 1) % WINDOW;
    node.added += 1;
    // Sorting on every request would cost more than the answer: refresh every 16 samples.
    if (node.added % 16 === 0) node.cached = undefined;
  }

  /** The node's percentile latency, or `undefined` while it has fewer than {@link MIN_SAMPLES}. */
  of(name: string): number | undefined {
    const node = this.#samples.get(name);
    if (!node || node.ring.length < MIN_SAMPLES) return undefined;
    if (node.cached === undefined) {
      const sorted = [...node.ring].sort((x, y) => x - y);
      node.cached = sorted[Math.min(sorted.length - 1, Math.ceil((this.#percentile / 100) * sorted.length) - 1)]!;
    }
    return node.cached;
  }
}
