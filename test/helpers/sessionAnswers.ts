import type { JsonRpcId } from '../../src/index.js';
import { RpcErrorCode } from '../../src/index.js';
import { FIRST_HEAD, balanceParts, type World } from './sessionWorld.js';

// What a client sends and what the answers it gets say about the requests they are for.

export type SubKind = 'newHeads' | 'logs' | 'newPendingTransactions';
export const SUB_KINDS: readonly SubKind[] = ['newHeads', 'logs', 'newPendingTransactions'];
/** Client ids repeat and collide on purpose: numbers, and strings that look like them. */
export const CLIENT_IDS: readonly JsonRpcId[] = [0, 1, 2, '1', 'a'];

export type InvalidVariant = 'number' | 'empty-object' | 'wrong-version' | 'empty-method' | 'bad-params' | 'object-id';

/** One thing a client puts in a frame (alone, or as a batch item). */
export type ItemSpec =
  | { type: 'blockNumber' | 'getBalance' | 'sendTransaction'; id: JsonRpcId }
  /**
   * `eth_feeHistory(2, 'pending')`: the nodes answer it as geth does, its newest block the one after
   * the head, which is not on the chain: it must not raise the session's view (after settling, the
   * view is never above the chain's highest block).
   */
  | { type: 'feeHistory'; id: JsonRpcId }
  /**
   * `eth_getBlockByNumber(N, false)` for a block the client has been given: N is `back` blocks
   * below the client's view when it is sent (never below genesis; genesis while it has no view).
   */
  | { type: 'getBlock'; id: JsonRpcId; back: number }
  /**
   * A read by hash of the newest thing a held subscription was given: the receipt of a `logs`
   * subscription's newest log's transaction, or a `newHeads` one's newest head (by hash). Never
   * `null` while every node's chain has its block and no node reorged since it was sent
   * (invariant 1); a hash never given (no such subscription) gets `null`.
   */
  | { type: 'byHash'; id: JsonRpcId; target: 'receipt' | 'block' }
  | { type: 'subscribe'; id: JsonRpcId; kind: SubKind }
  /** A subscription the node does not offer: its error passes through. */
  | { type: 'badSubscribe'; id: JsonRpcId }
  /** `pick` chooses among the subscriptions the client holds when it is sent; `bogus`: one it does not. */
  | { type: 'unsubscribe'; id: JsonRpcId; pick: number | 'bogus' }
  /** A JSON-RPC notification from the client (no id): forwarded, never answered. */
  | { type: 'notification' }
  | { type: 'invalid'; id: JsonRpcId; variant: InvalidVariant }
  /**
   * A read whose answer the session's socket cannot take ({@link OVERSIZED_METHOD}, in every
   * node's `oversized`): the socket fails each time it is sent, and after the second it gets
   * FRAME_TOO_LARGE (or a generic error, when the session gave up on it for another reason first).
   */
  | { type: 'oversized'; id: JsonRpcId };

/** The method every node of a world answers too large for the socket (FakeNode.oversized). */
export const OVERSIZED_METHOD = 'debug_traceBlockByNumber';

export type ReqType = Exclude<ItemSpec['type'], 'notification'> | 'parse' | 'tooLarge';

/** A request the client made that is owed exactly one answer. */
export interface Req {
  readonly seq: number;
  readonly type: ReqType;
  /** The id the answer must carry (null for items that are invalid without a usable id). */
  readonly replyId: JsonRpcId | null;
  readonly tag?: bigint;
  /** `getBlock`: the block number asked for (at or below `viewAt`, unless the view was empty); `byHash`: the block the hash is in. */
  readonly number?: number;
  /** `byHash`: the hash asked for (a transaction's, or a block's), and the hash of its block. */
  readonly hash?: string;
  readonly blockHash?: string;
  /** `byHash`: what the world's reorg count was when it was sent. */
  readonly reorgsAt?: number;
  readonly kind?: SubKind;
  readonly target?: string;
  readonly expectUnsub?: boolean;
  /** Sent alone while no upstream was ready. */
  readonly queued: boolean;
  readonly episode: number;
  /** The highest block the client had been given when it sent the request (invariant 10). */
  readonly viewAt: number;
  /**
   * The session had a view of the chain when the request came: a read may then wait for its
   * node's head to be checked (or for a node to catch up), and be answered after later requests.
   */
  readonly gated: boolean;
  /** The session must refuse it with `LIMIT_EXCEEDED`: it would take the client past this cap. */
  readonly limited?: LimitName;
}

export type LimitName = 'maxInFlight' | 'maxSubscriptions';

export type Category =
  | {
      type: 'specific';
      matches: (req: Req) => boolean;
      /** Among the requests it matches, those it is taken for first (the one it must come to, before those it may). */
      preferred?: (req: Req) => boolean;
      what: string;
      subscription?: string;
      tag?: bigint;
      block?: number;
      header?: Record<string, unknown>;
      stateAt?: number;
    }
  /** `unsent`: an error that says the request never left (`UPSTREAM_UNAVAILABLE`, `QUEUE_FULL`). */
  | { type: 'generic'; unsent: boolean }
  | { type: 'notResent' }
  /** A read of blocks the client has seen, which no node caught up with in time (invariant 10). */
  | { type: 'behind' }
  /** A `null` result: only a `getBlock` could get one, and it must not (invariant 1). */
  | { type: 'null' }
  | { type: 'unexpected'; what: string };

/** Errors any call may get; INTERNAL_ERROR when a node's answer to it was not one JSON value (see GARBAGE). */
const GENERIC_CODES: ReadonlySet<number> = new Set([RpcErrorCode.UPSTREAM_UNAVAILABLE, RpcErrorCode.QUEUE_FULL, RpcErrorCode.REQUEST_TIMEOUT, RpcErrorCode.INTERNAL_ERROR]);
const HEX = /^0x[0-9a-f]+$/;
/** Whether a request is a call, which may get any of the session's own errors (not a frame it refused). */
export const isCall = (req: Req) => req.type !== 'parse' && req.type !== 'invalid' && req.type !== 'tooLarge' && req.limited === undefined;
/** Whether a request is an `eth_subscribe`, which counts against `maxSubscriptions` until answered. */
export const isSubscribe = (req: Req) => req.type === 'subscribe' || req.type === 'badSubscribe';
/** Whether a request reads the chain, so that it may get `BEHIND`. */
export const isRead = (req: Pick<Req, 'type'>) => req.type === 'blockNumber' || req.type === 'getBalance' || req.type === 'getBlock' || req.type === 'feeHistory' || req.type === 'byHash';
export const show = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

/**
 * What an answer's result says about the request it is for. A request over a cap fits only its
 * `LIMIT_EXCEEDED` answer, and that answer fits nothing else.
 */
export function categorize(answer: Record<string, unknown>): Category {
  const error = answer.error as { code?: unknown; data?: { limit?: unknown } } | undefined;
  if (error?.code === RpcErrorCode.LIMIT_EXCEEDED) {
    const limit = error.data?.limit;
    if (limit !== 'maxInFlight' && limit !== 'maxSubscriptions') return { type: 'unexpected', what: `error ${show(error)}` };
    return { type: 'specific', matches: (r) => r.limited === limit, what: `LIMIT_EXCEEDED (${limit})` };
  }
  const category = categorizeWithin(answer);
  if (category.type !== 'specific') return category;
  const { matches } = category;
  return { ...category, matches: (r) => r.limited === undefined && matches(r) };
}

function categorizeWithin(answer: Record<string, unknown>): Category {
  if ('error' in answer) {
    const code = (answer.error as { code?: unknown } | undefined)?.code;
    if (code === RpcErrorCode.PARSE_ERROR) return { type: 'specific', matches: (r) => r.type === 'parse', what: 'a parse error' };
    if (code === RpcErrorCode.INVALID_REQUEST) return { type: 'specific', matches: (r) => r.type === 'invalid', what: 'an invalid-request error' };
    if (code === RpcErrorCode.FRAME_TOO_LARGE) {
      // A request too large to take, or an oversized call (it names its method): never a call
      // that was only in flight beside one (oversizedInnocent.test.ts).
      const method = /^The answer to (\S+) from/.exec(String((answer.error as { message?: unknown }).message))?.[1];
      const preferred = (r: Req) => r.type === 'tooLarge' || (r.type === 'oversized' && (method === undefined || method === OVERSIZED_METHOD));
      return { type: 'specific', matches: preferred, preferred, what: 'a frame-too-large error' };
    }
    if (code === RpcErrorCode.INVALID_PARAMS) return { type: 'specific', matches: (r) => r.type === 'badSubscribe', what: 'an invalid-params error' };
    if (code === RpcErrorCode.NOT_RESENT) return { type: 'notResent' };
    if (code === RpcErrorCode.BEHIND) return { type: 'behind' };
    if (typeof code === 'number' && GENERIC_CODES.has(code)) return { type: 'generic', unsent: code === RpcErrorCode.UPSTREAM_UNAVAILABLE || code === RpcErrorCode.QUEUE_FULL };
    return { type: 'unexpected', what: `error ${show(answer.error)}` };
  }
  const result = answer.result;
  if (result === null) return { type: 'null' };
  if (typeof result === 'object' && result !== null && !Array.isArray(result) && 'oldestBlock' in result) {
    return { type: 'specific', matches: (r) => r.type === 'feeHistory', what: 'a fee history' };
  }
  if (typeof result === 'object' && !Array.isArray(result) && 'transactionHash' in result) {
    // A receipt: the answer of the `byHash` that asked for it.
    const receipt = result as Record<string, unknown>;
    if (typeof receipt.blockNumber !== 'string' || !HEX.test(receipt.blockNumber)) return { type: 'unexpected', what: `result ${show(result)}` };
    const n = Number.parseInt(receipt.blockNumber, 16);
    return { type: 'specific', matches: (r) => r.type === 'byHash' && r.hash === receipt.transactionHash && r.blockHash === receipt.blockHash, what: `the receipt of ${String(receipt.transactionHash)}`, block: n };
  }
  if (typeof result === 'object' && !Array.isArray(result)) {
    // A block header: the answer of the `getBlock` that asked for its number, or of a `byHash` for it.
    const header = result as Record<string, unknown>;
    if (typeof header.number !== 'string' || !HEX.test(header.number) || typeof header.hash !== 'string') return { type: 'unexpected', what: `result ${show(result)}` };
    const n = Number.parseInt(header.number, 16);
    return { type: 'specific', matches: (r) => (r.type === 'getBlock' && r.number === n) || (r.type === 'byHash' && r.hash === header.hash), what: `block ${n}`, block: n, header };
  }
  if (typeof result === 'boolean') {
    return { type: 'specific', matches: (r) => r.type === 'unsubscribe' && r.expectUnsub === result, what: `unsubscribe result ${result}` };
  }
  if (typeof result !== 'string' || !HEX.test(result)) return { type: 'unexpected', what: `result ${show(result)}` };
  const digits = result.length - 2;
  if (digits === 64) {
    const tag = BigInt(`0x${result.slice(4)}`);
    return { type: 'specific', matches: (r) => r.type === 'sendTransaction' && r.tag === tag, what: `the transaction hash of request #${tag}`, tag };
  }
  if (digits >= 18 && digits <= 31) {
    // The block whose state the node answered from (its head): see ModelCheck's state check.
    const { tag, head } = balanceParts(BigInt(result));
    return { type: 'specific', matches: (r) => r.type === 'getBalance' && r.tag === tag, what: `the balance answer of request #${tag}`, tag, stateAt: head };
  }
  if (digits !== 32 && Number.parseInt(result, 16) >= FIRST_HEAD) {
    // Never below what the client had seen when it asked (invariant 10).
    const n = Number.parseInt(result, 16);
    return { type: 'specific', matches: (r) => r.type === 'blockNumber' && n >= r.viewAt, what: `block number ${result}`, block: n };
  }
  return { type: 'specific', matches: (r) => r.type === 'subscribe', what: `subscription id ${result}`, subscription: result };
}

/**
 * Whether a batch answer has an entry of the right id and kind for each request of `items`, in
 * order. `closedDuring`: a host listener closed the session while it took the batch; the items it
 * had not taken yet are answered as a closed session answers (a generic error), caps or not.
 */
export function batchFits(
  answer: { responses: Array<Record<string, unknown>>; categories: Category[]; closedDuring?: boolean; failedAlone?: ReadonlySet<Req> },
  items: readonly Req[],
  sentUpstream: (req: Req) => boolean = () => false,
): boolean {
  return (
    items.length === answer.responses.length &&
    items.every((req, i) => {
      const category = answer.categories[i]!;
      if (show(answer.responses[i]!.id) !== show(req.replyId)) return false;
      // FRAME_TOO_LARGE for an `oversized` call only once a socket it was alone on had failed on an
      // answer too large for it when the batch answer came (`failedAlone`, when given).
      if (category.type === 'specific') return category.matches(req) && !(req.type === 'oversized' && category.preferred?.(req) === true && answer.failedAlone?.has(req) === false);
      // A write that went upstream may have been carried out: never answered as if it had not.
      if (category.type === 'generic') return (isCall(req) && !(category.unsent && req.type === 'sendTransaction' && sentUpstream(req))) || (answer.closedDuring === true && req.limited !== undefined);
      if (category.type === 'notResent') return isCall(req) && req.type === 'sendTransaction';
      if (category.type === 'behind') return isCall(req) && isRead(req);
      return false;
    })
  );
}

/**
 * What a notification payload is, and where it comes from: a pending transaction names its node
 * (the byte after `0x` is the node's index + 1); a head or a log is the chain's, so it must be
 * exactly what the chain holds (a log may come retracted, `removed: true`).
 */
export function notificationSource(world: World, result: unknown): { kind: SubKind; node?: string } | undefined {
  if (typeof result === 'string' && result.length === 66) {
    return { kind: 'newPendingTransactions', node: world.nodes[Number.parseInt(result.slice(2, 4), 16) - 1]?.name ?? '?' };
  }
  if (typeof result !== 'object' || result === null) return undefined;
  const r = result as Record<string, unknown>;
  if (typeof r.blockHash === 'string' && typeof r.logIndex === 'string') {
    const log = world.chain.logsOf(r.blockHash)[Number.parseInt(r.logIndex, 16)];
    if (!log || typeof r.removed !== 'boolean' || !sameFields(r, { ...log, removed: r.removed })) return undefined;
    return { kind: 'logs' };
  }
  if (typeof r.hash === 'string' && typeof r.number === 'string') {
    const header = world.chain.block(r.hash);
    if (!header) return undefined;
    // A head as newHeads gives it, or a block as eth_getBlockByNumber does (a backfilled head):
    // the header, a base fee and its transactions' hashes. (A fake's head block takes the logs
    // emitted while it is the head: one read before the last of them has fewer.)
    if (!('transactions' in r)) return sameFields(r, header) ? { kind: 'newHeads' } : undefined;
    const hashes = world.chain.logsOf(r.hash).map((log) => log.transactionHash);
    const transactions = Array.isArray(r.transactions) && r.transactions.every((hash, i) => hash === hashes[i]) ? r.transactions : hashes;
    return sameFields(r, { ...header, baseFeePerGas: FAKE_BASE_FEE, transactions }) ? { kind: 'newHeads' } : undefined;
  }
  return undefined;
}

/** What a FakeNode gives as every block's base fee. */
const FAKE_BASE_FEE = '0x3b9aca00';

/** Whether `a` has exactly the fields of `b`, with the same values (arrays: the same items). */
function sameFields(a: Record<string, unknown>, b: object): boolean {
  const entries = Object.entries(b);
  const same = (x: unknown, y: unknown) => x === y || (Array.isArray(x) && Array.isArray(y) && x.length === y.length && x.every((item, i) => item === y[i]));
  return Object.keys(a).length === entries.length && entries.every(([key, value]) => same(a[key], value));
}
