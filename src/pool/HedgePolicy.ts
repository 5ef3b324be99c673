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
}

export interface HedgeSettings {
  readonly delayMs: number;
  readonly percentile: number | undefined;
  readonly maxExtra: number;
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
  const { percentile } = options;
  if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected hedge.delayMs to be a finite number >= 0, got ${delayMs}`);
  }
  if (percentile !== undefined && (typeof percentile !== 'number' || !(percentile > 0 && percentile <= 100))) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected hedge.percentile to be a number > 0 and <= 100, got ${percentile}`);
  }
  if (!Number.isInteger(maxExtra) || maxExtra < 1) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected hedge.maxExtra to be an integer >= 1, got ${maxExtra}`);
  }
  return Object.freeze({ delayMs, percentile, maxExtra });
}

/**
 * Methods safe to repeat that still must not be sent to two nodes at once: a transaction is
 * broadcast once (a copy is harmless but is no read), and filters and subscriptions live on one
 * node (a second node's `filter not found` must not race the real answer, and polling a filter
 * consumes its changes).
 */
const NOT_HEDGED: ReadonlySet<string> = new Set([
  'eth_sendrawtransaction',
  'eth_sendrawtransactionconditional',
  'eth_sendbundle',
  'eth_subscribe',
  'eth_unsubscribe',
  'eth_newfilter',
  'eth_newblockfilter',
  'eth_newpendingtransactionfilter',
  'eth_getfilterchanges',
  'eth_getfilterlogs',
  'eth_uninstallfilter',
]);

/**
 * Whether every request of `payload`, all of them safe to repeat (the caller's `isRepeatable` said
 * so), may also run on two nodes at once: not transactions, subscriptions or filters.
 */
export function isHedgeable(payload: JsonRpcRequest | JsonRpcRequest[]): boolean {
  for (const { method } of Array.isArray(payload) ? payload : [payload]) {
    if (typeof method !== 'string' || NOT_HEDGED.has(method.toLowerCase())) return false;
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
