import type { HeadChange } from './sharedChain.js';
import { StateReads, emptyStateCounts, type StateCounts } from './stateReads.js';
import type { Frame } from './wsClient.js';

/**
 * What one chaos client is given, read the way a client of ONE node reads it (invariants 10 and 11):
 * fed every frame the client receives, in arrival order, and told of every request it sends. Counts
 * what a single node would never show:
 *
 * - `blockNumberWentBack`: an `eth_blockNumber` result below the highest block number the client had
 *   been given (newHeads heads, `eth_blockNumber` results) when it SENT the request. Errors (e.g.
 *   `BEHIND`, -32055) are answers, not violations.
 * - `unlinkedHeads`: a head whose `parentHash` is not the hash of the head the client holds at
 *   number - 1 (when it holds one: the first head, or one after a gap, has nothing to link to).
 * - `newHeadsDuplicates`: a head delivered again while the client still holds it at its height (a
 *   head at or below a height replaces what the client held from there up, as a node's reorg does:
 *   re-delivery after a reorg back to its branch is not a duplicate).
 * - `mixedBranchLogs`: a log at a height where the client holds a log of another block hash that was
 *   never retracted (`removed: true`). `badRetractions`: a retraction of a log the client does not hold.
 * - `logDuplicates`: a log delivered again while the client still holds it.
 * - `blockReadNull`: `null` for `eth_getBlockByNumber(N)`, N the highest block the client had been
 *   given when it sent the read (invariant 1: never a silent `null` for a block the client has);
 *   `blockReadWrong`: a block with another number. Errors (`BEHIND`) are answers.
 * - `receiptNull`: `null` for `eth_getTransactionReceipt` of the transaction of the newest log the
 *   client held when it asked, whose log the client still holds at the end of the run and was not
 *   retracted since it asked (its block stayed on the client's chain, so the receipt existed;
 *   counted by {@link finish}); `receiptWrong`: a receipt of another transaction.
 * - `stateReadsOlder`: `eth_getBalance(TICKS, 'latest')` answered with the state of a block below the
 *   client's high when it sent the read (judged by {@link finish}, see stateReads.ts).
 *
 * Requests use colliding ids, so answers are matched to requests by id alone: the sender keeps at
 * most ONE request in flight per id whenever that request is an `eth_blockNumber` or a block read (see
 * {@link next}), which makes the answer to an id with one in flight that call's answer.
 */

export type Method = 'eth_blockNumber' | 'eth_getBlockByNumber' | 'eth_getTransactionReceipt' | 'eth_getBalance';

/** A frame as the chaos clients record it (wsClient's, without caring about `jsonrpc`). */
export type WatchFrame = Omit<Frame, 'jsonrpc'>;

export interface WatchCounts extends StateCounts {
  heads: number;
  logs: number;
  /** `eth_blockNumber` results checked against the client's view. */
  blockNumberChecked: number;
  blockNumberWentBack: number;
  unlinkedHeads: number;
  newHeadsDuplicates: number;
  /** A head more than one above the previous one (informational: a backfill can fail under faults). */
  newHeadsGaps: number;
  /** Heads at or below the previous head with another hash: the client was shown a reorg. */
  headReorgs: number;
  mixedBranchLogs: number;
  badRetractions: number;
  removedLogs: number;
  logDuplicates: number;
  /** `eth_getBlockByNumber` answers checked against the block the client asked for. */
  blockReadsChecked: number;
  blockReadNull: number;
  blockReadWrong: number;
  /** `eth_getTransactionReceipt` answers checked (receipts, and `null`s judged by {@link ChaosWatch.finish}). */
  receiptsChecked: number;
  receiptNull: number;
  /** `null` receipts that were true: their log was retracted after the read was sent (or is not held at the end). */
  receiptNullTrue: number;
  receiptWrong: number;
}

export const emptyWatchCounts = (): WatchCounts => ({
  ...emptyStateCounts(),
  heads: 0,
  logs: 0,
  blockNumberChecked: 0,
  blockNumberWentBack: 0,
  unlinkedHeads: 0,
  newHeadsDuplicates: 0,
  newHeadsGaps: 0,
  headReorgs: 0,
  mixedBranchLogs: 0,
  badRetractions: 0,
  removedLogs: 0,
  logDuplicates: 0,
  blockReadsChecked: 0,
  blockReadNull: 0,
  blockReadWrong: 0,
  receiptsChecked: 0,
  receiptNull: 0,
  receiptNullTrue: 0,
  receiptWrong: 0,
});

/** Heights kept below the newest (far more than any fork the chaos run makes). */
const KEEP_HEIGHTS = 256;
const MAX_EXAMPLES = 5;

export class ChaosWatch {
  readonly counts: WatchCounts = emptyWatchCounts();
  /** The first few violations, described (for the report). */
  readonly examples: string[] = [];
  heads: string | undefined;
  logs: string | undefined;
  /** Highest block number given to the client (heads and `eth_blockNumber` results). */
  #high = -1;
  /** Requests sent and not answered yet, by id. */
  readonly #outstanding = new Map<unknown, number>();
  /** id → the client's high when it sent the (only) `eth_blockNumber` in flight with that id. */
  readonly #blockNumberAt = new Map<unknown, number>();
  /** id → the block number the (only) `eth_getBlockByNumber` in flight with that id asked for. */
  readonly #blockReadAt = new Map<unknown, number>();
  /** id → the transaction the (only) `eth_getTransactionReceipt` in flight with that id asked for, and its retractions then. */
  readonly #receiptAt = new Map<unknown, { tx: string; retracted: number }>();
  /** How often each transaction's log was retracted (`removed: true`). */
  readonly #retractions = new Map<string, number>();
  /** Transactions of the logs the client holds (not retracted): the block of the log, and the newest of them. */
  readonly #heldTx = new Map<string, { n: number; hash: string }>();
  #newestTx: { tx: string; n: number } | undefined;
  /** Receipts answered `null` (with the retractions of their log when asked): judged at the end ({@link finish}). */
  readonly #nullReceipts: Array<{ tx: string; retracted: number; at: number }> = [];
  /** height → hash of the head the client holds there. */
  readonly #headAt = new Map<number, string>();
  #top: number | undefined;
  /** height → block hash → keys of the logs the client holds there. */
  readonly #logsAt = new Map<number, Map<string, Set<string>>>();
  #logTop = -1;
  readonly #now: () => number;
  /** The `eth_getBalance` reads (of TICKS at `latest`) in flight, and their answers below the view. */
  readonly #stateReads = new StateReads(this.counts, (text, at) => this.#example(text, at));

  constructor(now: () => number = () => 0) {
    this.#now = now;
  }

  /** Highest block number the client has been given. */
  get high(): number {
    return this.#high;
  }

  /** The transaction of the newest log the client holds: what an `eth_getTransactionReceipt` asks for. */
  get newestTransaction(): string | undefined {
    return this.#newestTx?.tx;
  }

  /**
   * At the end of the run: each `null` receipt whose log the client still holds, and was not
   * retracted since the receipt was asked, was wrong (its block stayed on the client's chain).
   * One retracted meanwhile may have come back (a node's fork, then its rejoin): its `null`,
   * answered while the chain had left its block, was then true. And each state read answered
   * below the view, against every node's head moves (`heads`; see stateReads.ts).
   */
  finish(canonical?: (n: number) => string | undefined, heads?: { changes: readonly HeadChange[]; origin: number }): void {
    if (heads) this.#stateReads.finish(heads.changes, heads.origin);
    for (const { tx, retracted, at } of this.#nullReceipts.splice(0)) {
      const block = this.#heldTx.get(tx);
      if (!block || (this.#retractions.get(tx) ?? 0) !== retracted) {
        this.counts.receiptNullTrue += 1;
        continue;
      }
      this.counts.receiptNull += 1;
      const onChain = canonical?.(block.n);
      const where = onChain === undefined ? '' : onChain === block.hash ? ', canonical' : `, off the chain: canonical ${onChain.slice(0, 10)}`;
      this.#example(`eth_getTransactionReceipt(${tx.slice(0, 10)}…) answered null at ${(at / 1_000).toFixed(1)}s, and the client holds its log (block ${block.n} ${block.hash.slice(0, 10)}${where}) to the end`);
    }
  }

  /**
   * The next request: a random id of `ids` and method, or `undefined` when none may go now. An
   * `eth_blockNumber` goes only on an id with nothing in flight, and nothing goes on an id with an
   * `eth_blockNumber` in flight (so its answer is known to be its own); ids still collide with the
   * client's other requests, with other clients' and with the session's own.
   */
  next(random: () => number, ids: readonly unknown[]): { id: unknown; method: Method } | undefined {
    const roll = random();
    // A block read asks for the highest block the client has: none before it has one.
    const wanted: Method =
      roll < 0.4
        ? 'eth_blockNumber'
        : roll < 0.6 && this.#high >= 0
          ? 'eth_getBlockByNumber'
          : roll < 0.7 && this.#newestTx !== undefined
            ? 'eth_getTransactionReceipt'
            : 'eth_getBalance';
    const start = Math.floor(random() * ids.length);
    const order = ids.map((_, i) => ids[(start + i) % ids.length]);
    const free = (id: unknown) => (this.#outstanding.get(id) ?? 0) === 0;
    if (wanted !== 'eth_getBalance') {
      const id = order.find(free);
      if (id !== undefined) return { id, method: wanted };
    }
    const id = order.find((i) => !this.#blockNumberAt.has(i) && !this.#blockReadAt.has(i) && !this.#receiptAt.has(i));
    return id === undefined ? undefined : { id, method: 'eth_getBalance' };
  }

  /**
   * The client sent a request with `id` (`block`: the number an `eth_getBlockByNumber` asks for;
   * `tx`: the transaction an `eth_getTransactionReceipt` asks for).
   */
  sent(id: unknown, method: string, block?: number, tx?: string): void {
    this.#outstanding.set(id, (this.#outstanding.get(id) ?? 0) + 1);
    if (method === 'eth_getBalance') this.#stateReads.sent(id, this.#high, this.#now());
    if (method === 'eth_blockNumber' || method === 'eth_getBlockByNumber' || method === 'eth_getTransactionReceipt') {
      if (this.#blockNumberAt.has(id) || this.#blockReadAt.has(id) || this.#receiptAt.has(id)) throw new Error(`ChaosWatch: a second read in flight with id ${String(id)}`);
      if (method === 'eth_blockNumber') this.#blockNumberAt.set(id, this.#high);
      else if (method === 'eth_getBlockByNumber') this.#blockReadAt.set(id, block ?? this.#high);
      else this.#receiptAt.set(id, { tx: tx ?? '', retracted: this.#retractions.get(tx ?? '') ?? 0 });
    }
  }

  /** The client received `frame` (`at`: when it arrived, on the watch's clock; default now). */
  receive(frame: WatchFrame | WatchFrame[], at?: number): void {
    if (Array.isArray(frame)) return; // no batch is ever sent: counted as a wrong answer by the caller
    if (frame.method === 'eth_subscription') {
      const subscription = frame.params?.subscription;
      if (subscription !== undefined && subscription === this.heads) this.#head(frame.params!.result);
      else if (subscription !== undefined && subscription === this.logs) this.#log(frame.params!.result);
      return;
    }
    if (frame.method !== undefined) return;
    const left = this.#outstanding.get(frame.id);
    if (left !== undefined) {
      if (left <= 1) this.#outstanding.delete(frame.id);
      else this.#outstanding.set(frame.id, left - 1);
    }
    const asked = this.#blockReadAt.get(frame.id);
    if (asked !== undefined) return this.#blockRead(frame, asked);
    const receipt = this.#receiptAt.get(frame.id);
    if (receipt !== undefined) return this.#receipt(frame, receipt);
    if (this.#stateReads.has(frame.id)) return this.#stateReads.answered(frame.id, frame, at ?? this.#now());
    const highAtSend = this.#blockNumberAt.get(frame.id);
    if (highAtSend === undefined) return;
    this.#blockNumberAt.delete(frame.id);
    if (typeof frame.result !== 'string') return; // an error: counted by code by the caller
    const n = Number(frame.result);
    if (!Number.isSafeInteger(n)) return;
    this.counts.blockNumberChecked += 1;
    if (n < highAtSend) {
      this.counts.blockNumberWentBack += 1;
      this.#example(`eth_blockNumber #${String(frame.id)} answered ${n}, the client had been given ${highAtSend} when it asked`);
    }
    this.#raise(n);
  }

  #blockRead(frame: WatchFrame, asked: number): void {
    this.#blockReadAt.delete(frame.id);
    if (frame.error !== undefined) return; // an error (BEHIND): counted by code by the caller
    if (frame.result === null) {
      this.counts.blockReadNull += 1;
      return this.#example(`eth_getBlockByNumber(${asked}) #${String(frame.id)} answered null: the client had been given block ${asked}`);
    }
    const n = Number((frame.result as { number?: unknown } | undefined)?.number);
    this.counts.blockReadsChecked += 1;
    if (n !== asked) {
      this.counts.blockReadWrong += 1;
      this.#example(`eth_getBlockByNumber(${asked}) #${String(frame.id)} answered block ${String(n)}`);
    }
  }

  #receipt(frame: WatchFrame, asked: { tx: string; retracted: number }): void {
    this.#receiptAt.delete(frame.id);
    if (frame.error !== undefined) return; // an error (BEHIND): counted by code by the caller
    this.counts.receiptsChecked += 1;
    const { tx } = asked;
    if (frame.result === null) return void this.#nullReceipts.push({ ...asked, at: this.#now() });
    const got = (frame.result as { transactionHash?: unknown } | undefined)?.transactionHash;
    if (got !== tx) {
      this.counts.receiptWrong += 1;
      this.#example(`eth_getTransactionReceipt(${tx.slice(0, 10)}…) #${String(frame.id)} answered the receipt of ${String(got).slice(0, 10)}…`);
    }
  }

  #raise(n: number): void {
    if (n > this.#high) this.#high = n;
  }

  #example(text: string, at = this.#now()): void {
    if (this.examples.length < MAX_EXAMPLES) this.examples.push(`${(at / 1_000).toFixed(1)}s ${text}`);
  }

  #head(head: { number?: string; hash?: string; parentHash?: string }): void {
    const n = Number(head?.number);
    if (!Number.isSafeInteger(n) || typeof head.hash !== 'string') return;
    this.counts.heads += 1;
    if (this.#headAt.get(n) === head.hash) {
      this.counts.newHeadsDuplicates += 1;
      this.#example(`head ${n} ${head.hash.slice(0, 10)} delivered again while held`);
      return;
    }
    const top = this.#top;
    if (top !== undefined && n <= top) this.counts.headReorgs += 1;
    if (top !== undefined && n > top + 1) this.counts.newHeadsGaps += 1;
    const parent = this.#headAt.get(n - 1);
    if (parent !== undefined && parent !== head.parentHash) {
      this.counts.unlinkedHeads += 1;
      this.#example(`head ${n} ${head.hash.slice(0, 10)} names parent ${String(head.parentHash).slice(0, 10)}, the client holds ${parent.slice(0, 10)} at ${n - 1}`);
    }
    // A head at or below the top replaces what the client held from there up (a reorg).
    if (top !== undefined && n <= top) for (const k of [...this.#headAt.keys()]) if (k > n) this.#headAt.delete(k);
    this.#headAt.set(n, head.hash);
    this.#top = n;
    this.#raise(n);
    if (this.#headAt.size > KEEP_HEIGHTS * 2) for (const k of [...this.#headAt.keys()]) if (k < n - KEEP_HEIGHTS) this.#headAt.delete(k);
  }

  #log(log: { blockNumber?: string; blockHash?: string; logIndex?: string; removed?: boolean; transactionHash?: string }): void {
    const n = Number(log?.blockNumber);
    if (!Number.isSafeInteger(n) || typeof log.blockHash !== 'string') return;
    const key = `${log.blockHash}:${Number(log.logIndex)}`;
    this.counts.logs += 1;
    let byHash = this.#logsAt.get(n);
    const tx = typeof log.transactionHash === 'string' ? log.transactionHash : undefined;
    if (log.removed === true) {
      this.counts.removedLogs += 1;
      if (tx !== undefined) {
        this.#retractions.set(tx, (this.#retractions.get(tx) ?? 0) + 1);
        this.#heldTx.delete(tx);
        if (this.#newestTx?.tx === tx) this.#newestTx = undefined;
      }
      const held = byHash?.get(log.blockHash);
      if (!held?.delete(key)) {
        this.counts.badRetractions += 1;
        this.#example(`retraction of log ${key.slice(0, 10)}…:${Number(log.logIndex)} at ${n}, which the client does not hold`);
      }
      if (held?.size === 0) byHash!.delete(log.blockHash);
      return;
    }
    if (!byHash) this.#logsAt.set(n, (byHash = new Map()));
    for (const [hash, keys] of byHash) {
      if (hash !== log.blockHash && keys.size > 0) {
        this.counts.mixedBranchLogs += 1;
        this.#example(`log at ${n} of block ${log.blockHash.slice(0, 10)} while the client holds ${keys.size} unretracted log(s) of block ${hash.slice(0, 10)} there`);
        break;
      }
    }
    let keys = byHash.get(log.blockHash);
    if (!keys) byHash.set(log.blockHash, (keys = new Set()));
    if (keys.has(key)) {
      this.counts.logDuplicates += 1;
      this.#example(`log ${key.slice(0, 10)}…:${Number(log.logIndex)} at ${n} delivered again while held`);
    }
    keys.add(key);
    if (tx !== undefined) {
      this.#heldTx.set(tx, { n, hash: log.blockHash });
      if (this.#newestTx === undefined || n >= this.#newestTx.n) this.#newestTx = { tx, n };
    }
    if (n > this.#logTop) {
      this.#logTop = n;
      if (this.#logsAt.size > KEEP_HEIGHTS * 2) for (const k of [...this.#logsAt.keys()]) if (k < n - KEEP_HEIGHTS) this.#logsAt.delete(k);
    }
  }
}
