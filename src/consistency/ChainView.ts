import { ViewRises } from './ViewRises.js';
import { KnownHashes, type HashKind, type HashLookup, type KnownBlock } from './KnownHashes.js';
import { quantity } from './quantity.js';
import { STATE_AT, BY_NUMBER, LAPSE_BLOCKS, BLOCK_AT, HEAD_BLOCK, BY_HASH, OBSERVED, namesPending, blockArg, isMissing, numberIn } from './viewMethods.js';

/**
 * What a read demands of the node that serves it, given what the client has already seen:
 * - `answer`: the answer itself tells (`eth_blockNumber`, the `latest` block): it must not be
 *   below the highest block the client has;
 * - `head`: the node's head must be at least `need` for the answer to be trusted. With
 *   `onlyIfMissing`, a real answer is trusted whatever the head, and only a missing one (`null`, an
 *   error) is checked: a node that has a block answers for it correctly, one that lacks it cannot.
 */
export interface ViewDemand {
  readonly kind: 'answer' | 'head';
  /** The block the answer (`answer`) or the node's head (`head`) must reach. */
  readonly need: number;
  readonly onlyIfMissing: boolean;
  /**
   * The read names block `need` by number, at or below what the client has seen: the chain has a
   * block there, so a `null` answer says the node that answered has not got it, whatever head it
   * claims (a load-balanced endpoint whose read backend lags the one that sent the heads).
   */
  readonly exact?: boolean;
  /**
   * The read names the pending block (`answer`), which geth numbers head + 1 and anvil as the
   * head: one numbered `need`, the client's own block, is right only from a node whose head is
   * there (anvil's), not from one a block behind (geth's, built on the block below it).
   */
  readonly pending?: boolean;
}

/** `ok`: the answer may go to the client. `behind`: the node is behind the view. `head?`: it depends on the node's head, which is not known. */
export type ViewVerdict = 'ok' | 'behind' | 'head?';

/**
 * The chain as one client has seen it: the highest block number it has been given (heads,
 * `eth_blockNumber`, blocks, receipts, logs). Reads are judged against it, so that a client never
 * sees the chain go back because the node serving it is behind: a block number never decreases,
 * and a block, transaction, receipt or log it was given is never answered as missing by a node
 * that has not got there yet. Pure: it does no I/O; it keeps one number, and where the hashes
 * it was given in answers last are ({@link KnownHashes}, for {@link lapsed}).
 */
export class ChainView {
  #highest: number | undefined;
  /** Hashes of blocks and transactions it was given in answers (see {@link given}). */
  readonly #hashes = new KnownHashes();
  /** The clock {@link highestAt} reads times on; without one, no rise is kept. */
  readonly #now: (() => number) | undefined;
  #rises: ViewRises | undefined;

  /** `now`: the clock of the probes whose heads {@link highestAt} is compared with. */
  constructor(now?: () => number) {
    this.#now = now;
  }

  /** The highest block number the client has been given, if any. */
  get highest(): number | undefined {
    return this.#highest;
  }

  /** The client was given block `n` (or something in it); `now`: the clock's time, if the caller has read it. */
  raise(n: number, now?: number): void {
    if (this.#highest !== undefined && n <= this.#highest) return;
    this.#highest = n;
    if (this.#now !== undefined) (this.#rises ??= new ViewRises()).rose(n, now ?? this.#now());
  }

  /**
   * At most the highest block the client had been given at time `at` (on the clock given to the
   * constructor): what a node's head read then is to be compared with. A probe's head is up to a
   * probe interval old, and on a chain whose blocks come faster than that, the view has always
   * moved on since: compared with the view now, a node that keeps up would never count as caught
   * up. Before the rises kept, one below the oldest; without a clock, the view now.
   */
  highestAt(at: number): number | undefined {
    return this.#rises === undefined ? this.#highest : this.#rises.highestAt(at);
  }


  /** Where a hash of `kind` given to the client in an answer is, if it is among the last kept. */
  whereIs(hash: string, kind: HashKind): KnownBlock | undefined {
    return this.#hashes.whereIs(hash, kind);
  }

  /**
   * For a read by hash whose `null` could be wrong (blocks, transactions, receipts by hash): where
   * the hash it looks up is, if the client was given it (see {@link KnownHashes.given}). Asked as
   * the read is sent: what the client knew then.
   */
  given(method: string, params: unknown, lookup?: HashLookup): KnownBlock | undefined {
    return this.#hashes.given(method, params, lookup);
  }

  /**
   * The block a `null` answer to a read by hash is wrong about, if any: `given` (see
   * {@link given}) at or below `viewAt`, and not so far down that a node may have pruned it. A
   * node whose head is past that block answers `null` for it only if its read backend lags (a
   * load-balanced endpoint), or if a reorg took the block away: the caller asks the node which
   * (`eth_getBlockByNumber`), and holds the read when the block is still there.
   */
  lapsed(response: object, viewAt: number | undefined, given: KnownBlock | undefined): KnownBlock | undefined {
    if (given === undefined || viewAt === undefined || 'error' in response || (response as { result?: unknown }).result != null) return undefined;
    return given.number <= viewAt && given.number > viewAt - LAPSE_BLOCKS ? given : undefined;
  }

  /** Whether the answer to `method` can raise the view (so it must be read, not passed through). */
  static observes(method: string): boolean {
    return OBSERVED.has(method);
  }

  /**
   * What `method(params)` demands of the node that answers it, for a client whose view was
   * `highest` when it asked (a read sent before the client saw a block races with it, as on one
   * node); `undefined` when any node's answer will do.
   */
  demand(method: string, params: unknown, highest: number | undefined): ViewDemand | undefined {
    if (highest === undefined) return undefined;
    const args = Array.isArray(params) ? params : [];
    if (method === 'eth_blockNumber') return { kind: 'answer', need: highest, onlyIfMissing: false };
    if (BY_HASH.has(method)) return { kind: 'head', need: highest, onlyIfMissing: true };
    const stateAt = STATE_AT.get(method);
    if (stateAt !== undefined) return this.#at(blockArg(args[stateAt]), highest);
    if (BY_NUMBER.has(method)) {
      const at = blockArg(args[0]);
      if (at === 'head' && HEAD_BLOCK.has(method)) return { kind: 'answer', need: highest, onlyIfMissing: false, ...(args[0] === 'pending' ? { pending: true } : {}) };
      const demand = this.#at(at, highest);
      return demand !== undefined && typeof at === 'number' && at > highest - LAPSE_BLOCKS && BLOCK_AT.has(method) ? { ...demand, exact: true } : demand;
    }
    // The fee history of the blocks up to its second argument: `latest` is the node's head, as for state.
    if (method === 'eth_feeHistory') return this.#at(blockArg(args[1]), highest);
    if (method === 'eth_getLogs') {
      const filter = (args[0] ?? {}) as { blockHash?: unknown; toBlock?: unknown };
      if (typeof filter !== 'object' || filter === null) return undefined;
      if (typeof filter.blockHash === 'string') return { kind: 'head', need: highest, onlyIfMissing: true };
      const to = blockArg(filter.toBlock);
      // The range must be whole: a node behind its end answers part of it, or an error.
      if (to === 'head') return { kind: 'head', need: highest, onlyIfMissing: false };
      return typeof to === 'number' ? { kind: 'head', need: Math.min(to, highest), onlyIfMissing: false } : undefined;
    }
    return undefined;
  }

  #at(at: number | 'head' | 'hash' | undefined, highest: number): ViewDemand | undefined {
    if (at === undefined) return undefined;
    // State at `latest` on a node behind is silently old state: its head must be there.
    if (at === 'head') return { kind: 'head', need: highest, onlyIfMissing: false };
    if (at === 'hash') return { kind: 'head', need: highest, onlyIfMissing: true };
    // A block above what the client has seen is not in its view: `null` for it is news, not a lapse.
    return at <= highest ? { kind: 'head', need: at, onlyIfMissing: true } : undefined;
  }

  /** Judges an answer to a read with `demand`, served by a node whose head is `nodeHead` (if known). */
  judge(method: string, demand: ViewDemand, response: object, nodeHead: number | undefined): ViewVerdict {
    const highest = demand.need;
    if (demand.kind === 'answer') {
      if ('error' in response) return 'ok';
      const result = (response as { result?: unknown }).result;
      const n = method === 'eth_blockNumber' ? quantity(result) : numberIn(result, 'number');
      if (n === undefined) return result === null ? 'behind' : 'ok';
      if (n < highest) return 'behind';
      if (demand.pending && n === highest) return nodeHead === undefined ? 'head?' : nodeHead >= highest ? 'ok' : 'behind';
      return 'ok';
    }
    if (demand.onlyIfMissing && !isMissing(response)) return 'ok';
    // `null` for a block the chain has: this node has not got it, whatever head it claims. (After a
    // reorg to a shorter chain a node has no block there either: the read waits for the chain to
    // grow back, or gets BEHIND.)
    if (demand.exact && !('error' in response)) return 'behind';
    if (nodeHead === undefined) return 'head?';
    return nodeHead >= demand.need ? 'ok' : 'behind';
  }

  /**
   * Raises the view by what an answer the client is about to get shows. An answer about the pending
   * block raises nothing: that block is not on the chain yet (geth numbers it head + 1, for its
   * block, its transactions and receipts, and the newest entry of `eth_feeHistory`), and a view
   * above every node's head would hold each later read until a block is mined.
   */
  observe(method: string, params: unknown, response: object): void {
    if ('error' in response || namesPending(method, params)) return;
    const result = (response as { result?: unknown }).result;
    let n: number | undefined;
    switch (method) {
      case 'eth_blockNumber':
        n = quantity(result);
        break;
      case 'eth_getBlockByNumber':
      case 'eth_getHeaderByNumber':
      case 'eth_getBlockByHash':
      case 'eth_getHeaderByHash':
        n = numberIn(result, 'number');
        if (n !== undefined) this.#hashes.know((result as { hash?: unknown }).hash, 'block', n, (result as { hash?: unknown }).hash);
        break;
      case 'eth_getTransactionReceipt':
      case 'eth_getTransactionByHash':
      case 'eth_getTransactionByBlockNumberAndIndex':
      case 'eth_getTransactionByBlockHashAndIndex': {
        // (A pending transaction has no block number.)
        n = numberIn(result, 'blockNumber');
        const r = result as { transactionHash?: unknown; hash?: unknown; blockHash?: unknown } | null;
        if (n !== undefined) {
          this.#hashes.know(method === 'eth_getTransactionReceipt' ? r!.transactionHash : r!.hash, 'transaction', n, r!.blockHash);
          this.#hashes.know(r!.blockHash, 'block', n, r!.blockHash);
        }
        break;
      }
      case 'eth_getBlockReceipts':
        n = Array.isArray(result) ? numberIn(result[0], 'blockNumber') : undefined;
        break;
      case 'eth_feeHistory': {
        // `gasUsedRatio` has one entry a block, up to the newest (`baseFeePerGas` has one more, for the next block).
        const { oldestBlock, gasUsedRatio } = (result ?? {}) as { oldestBlock?: unknown; gasUsedRatio?: unknown };
        const oldest = quantity(oldestBlock);
        if (oldest !== undefined && Array.isArray(gasUsedRatio) && gasUsedRatio.length > 0) n = oldest + gasUsedRatio.length - 1;
        break;
      }
      case 'eth_getLogs':
        if (!Array.isArray(result)) return;
        for (const log of result) {
          if ((log as { removed?: unknown })?.removed === true) continue;
          const at = numberIn(log, 'blockNumber');
          if (at === undefined) continue;
          this.raise(at);
          const { transactionHash, blockHash } = log as { transactionHash?: unknown; blockHash?: unknown };
          this.#hashes.know(transactionHash, 'transaction', at, blockHash);
          this.#hashes.know(blockHash, 'block', at, blockHash);
        }
        return;
      default:
        return;
    }
    this.#raiseMaybe(n);
  }

  #raiseMaybe(n: number | undefined): void {
    if (n !== undefined) this.raise(n);
  }
}
