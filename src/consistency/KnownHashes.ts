import { hashKey } from './quantity.js';

/**
 * Where something the client was given by hash is: the height of its block, and that block's hash
 * as a {@link hashKey} (of a block: its own).
 */
export interface KnownBlock {
  readonly number: number;
  readonly block: number;
}

/** What a hash names: a block, or a transaction. */
export type HashKind = 'block' | 'transaction';

/** Looks a hash (its {@link hashKey}) of `kind` up in what else the client was given (a session's subscriptions). */
export type HashLookup = (key: number, kind: HashKind) => KnownBlock | undefined;

/**
 * Hashes from the answers a client was given (blocks, transactions, receipts, logs) kept, newest
 * last: enough for the reads by hash an indexer makes after a read of logs or blocks.
 */
export const KNOWN_HASHES = 128;

/**
 * Reads by hash whose `null`, for a hash the client was given, cannot be true of the chain the
 * client saw: the block, or the transaction in it, is there (unless a reorg took it away). Each
 * looks up one kind of hash: a block's `null` for a transaction's hash is true, and so is the
 * reverse (an explorer's "a transaction, or else a block?").
 */
const LOOKUPS: ReadonlyMap<string, HashKind> = new Map([
  ['eth_getBlockByHash', 'block'],
  ['eth_getHeaderByHash', 'block'],
  ['eth_getBlockTransactionCountByHash', 'block'],
  ['eth_getUncleCountByBlockHash', 'block'],
  // By a hash or an EIP-1898 `{ blockHash }` (geth answers `null` for a block it has not got).
  ['eth_getBlockReceipts', 'block'],
  ['eth_getTransactionByHash', 'transaction'],
  ['eth_getRawTransactionByHash', 'transaction'],
  ['eth_getTransactionReceipt', 'transaction'],
]);

/** A kept hash: what it names, and where. */
interface Known extends KnownBlock {
  readonly kind: HashKind;
}

/** The hash (its {@link hashKey}) a read by hash looks up, and of what kind; `undefined` for other reads. */
export function lookedUp(method: string, params: unknown): readonly [number, HashKind] | undefined {
  const kind = LOOKUPS.get(method);
  if (kind === undefined) return undefined;
  const first: unknown = Array.isArray(params) ? params[0] : undefined;
  const key = hashKey(typeof first === 'object' && first !== null ? (first as { blockHash?: unknown }).blockHash : first);
  return key === undefined ? undefined : [key, kind];
}

/**
 * The hashes of blocks and transactions a client was given in answers (blocks, receipts,
 * transactions, logs), the last {@link KNOWN_HASHES}: where each is, for a read by hash whose `null`
 * may be wrong (see ChainView.lapsed). Numbers only: about 140 bytes a hash, 17.5 KB with all 128
 * (measured on Node 20); the map is made with the first.
 */
export class KnownHashes {
  #known: Map<number, Known> | undefined;

  /** Where a hash of `kind` is, if it is among the last kept. */
  whereIs(hash: string, kind: HashKind): KnownBlock | undefined {
    const key = hashKey(hash);
    const known = key === undefined ? undefined : this.#known?.get(key);
    return known?.kind === kind ? known : undefined;
  }

  /**
   * Where the hash a read by hash looks up is, if it is kept as what the read looks for (a block,
   * or a transaction), or as `lookup` finds it (a session's subscriptions); `undefined` for other
   * reads.
   */
  given(method: string, params: unknown, lookup?: HashLookup): KnownBlock | undefined {
    const looked = lookedUp(method, params);
    if (looked === undefined) return undefined;
    const [key, kind] = looked;
    const known = this.#known?.get(key);
    return known?.kind === kind ? known : lookup?.(key, kind);
  }

  /** Notes that `hash`, of `kind`, is in block `number`, of hash `blockHash` (not hashes: nothing). */
  know(hash: unknown, kind: HashKind, number: number, blockHash: unknown): void {
    const key = hashKey(hash);
    const block = hashKey(blockHash);
    if (key === undefined || block === undefined) return;
    const known = (this.#known ??= new Map());
    known.delete(key);
    known.set(key, { kind, number, block });
    if (known.size > KNOWN_HASHES) known.delete(known.keys().next().value!);
  }
}
