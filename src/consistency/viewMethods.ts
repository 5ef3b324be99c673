import { hashKey, quantity } from './quantity.js';

// Which JSON-RPC methods read what (state at a block, a block by number or by hash), and how their
// block arguments read: the tables ChainView judges answers by.

/** Methods whose block argument (number, tag, or EIP-1898 object) is at this index, and which read state at it. */
export const STATE_AT: ReadonlyMap<string, number> = new Map([
  ['eth_getBalance', 1],
  ['eth_getCode', 1],
  ['eth_getTransactionCount', 1],
  ['eth_getStorageAt', 2],
  ['eth_call', 1],
  ['eth_estimateGas', 1],
  ['eth_createAccessList', 1],
  ['eth_getProof', 2],
  // Calls run on the state of a block: simulated blocks on top of it, a traced call in it.
  ['eth_simulateV1', 1],
  ['debug_traceCall', 1],
]);

/** Methods whose first argument names a block by number or tag. */
export const BY_NUMBER: ReadonlySet<string> = new Set([
  'eth_getBlockByNumber',
  'eth_getBlockTransactionCountByNumber',
  'eth_getUncleCountByBlockNumber',
  'eth_getTransactionByBlockNumberAndIndex',
  'eth_getUncleByBlockNumberAndIndex',
  'eth_getBlockReceipts',
  'eth_getHeaderByNumber',
  'eth_getRawTransactionByBlockNumberAndIndex',
]);

/**
 * How far below the view a `null` for a block read by number is taken for a lagging read backend
 * (which lags seconds, so a few blocks). Further down it is the node's pruned history: older nodes
 * answer `null` for it where newer ones give EIP-4444's error, and no wait would change it.
 */
export const LAPSE_BLOCKS = 128;

/** Of those, the ones whose `null` says there is no block at that number (not: no such index in it). */
export const BLOCK_AT: ReadonlySet<string> = new Set(['eth_getBlockByNumber', 'eth_getHeaderByNumber', 'eth_getBlockTransactionCountByNumber', 'eth_getUncleCountByBlockNumber', 'eth_getBlockReceipts']);

/** Of those, the ones whose answer for `latest` is the node's head block: it must not be below the view. */
export const HEAD_BLOCK: ReadonlySet<string> = new Set(['eth_getBlockByNumber', 'eth_getHeaderByNumber']);

/** Methods that look something up by hash: `null` from a node behind the view may only mean it lacks it yet. */
export const BY_HASH: ReadonlySet<string> = new Set([
  'eth_getBlockByHash',
  'eth_getBlockTransactionCountByHash',
  'eth_getUncleCountByBlockHash',
  'eth_getTransactionByBlockHashAndIndex',
  'eth_getUncleByBlockHashAndIndex',
  'eth_getTransactionByHash',
  'eth_getRawTransactionByHash',
  'eth_getTransactionReceipt',
  'eth_getHeaderByHash',
  'eth_getRawTransactionByBlockHashAndIndex',
]);

/** Methods whose answer tells the client of a block (see {@link ChainView.observe}). */
export const OBSERVED: ReadonlySet<string> = new Set([
  'eth_blockNumber',
  'eth_getLogs',
  'eth_getBlockByNumber',
  'eth_getBlockByHash',
  'eth_getHeaderByNumber',
  'eth_getHeaderByHash',
  'eth_getBlockReceipts',
  'eth_getTransactionReceipt',
  'eth_getTransactionByHash',
  'eth_getTransactionByBlockNumberAndIndex',
  'eth_getTransactionByBlockHashAndIndex',
  'eth_feeHistory',
]);

/** Whether a read names the pending block (where the methods {@link ChainView.observe} reads take a block). */
export function namesPending(method: string, params: unknown): boolean {
  if (!Array.isArray(params)) return false;
  switch (method) {
    case 'eth_getBlockByNumber':
    case 'eth_getHeaderByNumber':
    case 'eth_getTransactionByBlockNumberAndIndex':
      return params[0] === 'pending';
    case 'eth_getBlockReceipts': {
      // An EIP-1898 block number or hash (geth): `{ blockNumber: 'pending' }` names it too.
      const at: unknown = params[0];
      return at === 'pending' || (typeof at === 'object' && at !== null && (at as { blockNumber?: unknown }).blockNumber === 'pending');
    }
    case 'eth_feeHistory':
      return params[1] === 'pending';
    case 'eth_getLogs': {
      const filter = params[0] as { fromBlock?: unknown; toBlock?: unknown } | null | undefined;
      return filter?.fromBlock === 'pending' || filter?.toBlock === 'pending';
    }
    default:
      return false;
  }
}

/** Tags that name a block below any head the client sees, whatever node answers. */
export const SETTLED_TAGS: ReadonlySet<string> = new Set(['earliest', 'safe', 'finalized']);

/** A block number in decimal, as erigon reads one besides hex (at most 15 digits: a safe integer). */
const DECIMAL = /^[0-9]{1,15}$/;

/**
 * The block a block argument names: a number, `'head'` for `latest`/`pending`/absent (and the
 * string `"null"`, which erigon reads as `latest`: rpc/types.go), `'hash'` for
 * a block hash, `undefined` for tags every node can answer (`earliest`, `safe`, `finalized`).
 * A number may come as a hex quantity, a decimal string or a JSON number: erigon reads all three
 * (rpc/types.go, `BlockNumber.UnmarshalJSON`), anvil the last too; a node that does not answers an
 * error, which goes to the client once a node that has got there answers it.
 */
export function blockArg(value: unknown): number | 'head' | 'hash' | undefined {
  if (value === undefined || value === null || value === 'latest' || value === 'pending' || value === 'null') return 'head';
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value === 'string') {
    if (SETTLED_TAGS.has(value)) return undefined;
    if (value.length === 66) return 'hash';
    if (DECIMAL.test(value)) return Number(value);
    // geth reads `0X` as it reads `0x`.
    return quantity(value.charCodeAt(1) === 88 /* X */ ? `0x${value.slice(2)}` : value) ?? undefined;
  }
  if (typeof value === 'object') {
    const o = value as { blockHash?: unknown; blockNumber?: unknown };
    if (typeof o.blockHash === 'string') return 'hash';
    return blockArg(o.blockNumber);
  }
  return undefined;
}

export const isMissing = (response: object): boolean => 'error' in response || (response as { result?: unknown }).result == null;

/** The block number of an object answer (`number` of a block, `blockNumber` of a receipt, transaction or log). */
export function numberIn(result: unknown, key: 'number' | 'blockNumber'): number | undefined {
  return typeof result === 'object' && result !== null ? quantity((result as Record<string, unknown>)[key]) : undefined;
}

/** The hash key of a block answer, if it has a hash that reads as one. */
export const hashOf = (block: unknown): number | undefined => (block === null || typeof block !== 'object' ? undefined : hashKey((block as { hash?: unknown }).hash));
