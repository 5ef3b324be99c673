import type { HashKind, KnownBlock } from '../consistency/KnownHashes.js';
import { hashDigest, hashKey } from '../consistency/quantity.js';

/** One log a client was given, kept so it can be retracted if its block leaves the chain. */
interface RetainedLog {
  readonly block: number;
  readonly blockHash: string;
  /** Its dedupe key (see Continuity). */
  readonly key: string;
  /** The log as the node wrote it (a flat copy: it must not keep its notification frame alive). */
  readonly text: string;
  /** The hashKeys of its block and of its transaction (NaN: none), read at the first look-up by hash. */
  hashes?: readonly [block: number, transaction: number];
}

const TRANSACTION_HASH = '"transactionHash":"';

/** The hashKeys of a log's block and of its transaction (NaN where it has none). */
function hashesOf(log: RetainedLog): readonly [number, number] {
  const at = log.text.indexOf(TRANSACTION_HASH);
  const transaction = at < 0 ? undefined : hashKey(log.text.slice(at + TRANSACTION_HASH.length, at + TRANSACTION_HASH.length + 66));
  return [hashKey(log.blockHash) ?? Number.NaN, transaction ?? Number.NaN];
}

/** Whether `log` is of another block than the one of digest (`hi`, `lo`). */
function inOtherBlock(log: RetainedLog, hi: number, lo: number): boolean {
  const digest = hashDigest(log.blockHash);
  return digest === undefined || digest[0] !== hi || digest[1] !== lo;
}

/**
 * The logs a `logs` subscription delivered in its most recent blocks, in delivery order, so that a
 * fork found after a switch can be announced as a node announces a reorg: each log above the common
 * ancestor re-sent with `removed: true`. Bounded by depth (blocks below the newest minus `depth` are
 * forgotten) and by bytes; what bytes force out is remembered as the height below which the
 * retention is no longer whole, so a fork that reaches there is reported as too deep.
 */
export class RetainedLogs {
  readonly #depth: number;
  readonly #maxBytes: number;
  #logs: RetainedLog[] = [];
  /** The keys of the kept logs: a log delivered again (a backfill of the last block) is known by them. */
  readonly #keys = new Set<string>();
  /** Index of the oldest kept entry in `#logs` (entries before it are forgotten; compacted now and then). */
  #start = 0;
  #bytes = 0;
  #newest = -1;
  /** Logs at or below this block may have been forgotten, for lack of room or for being too deep. */
  #truncatedAt = -1;
  /** The block of the last log forgotten (the highest: logs go in block order), to compare a node's chain with below what is kept. */
  #floor: { block: number; blockHash: string } | undefined;
  /**
   * Logs retracted (by the session or their node) and not delivered since, key → block, oldest
   * first: a node's own `removed: true` for one of them, arriving after the dedupe window has moved
   * on (a block of 300 logs), is a repeat. Kept for the same depth as the logs, and bounded by
   * the same byte budget, on their own.
   */
  readonly #retracted = new Map<string, number>();
  #retractedBytes = 0;
  /** The highest block seen (delivered or retracted): the depth is counted from it. */
  #highest = -1;
  /**
   * Heights of kept logs that a check could not compare, being above the head of the node it
   * checked (a node behind what the client was given): they may be of another branch than the
   * node's, which says so only once it reaches them. Made only then.
   */
  #doubted: Set<number> | undefined;

  constructor(depth: number, maxBytes: number) {
    this.#depth = depth;
    this.#maxBytes = maxBytes;
  }

  /** Bytes kept: the logs, and the keys of the retracted ones. */
  get bytes(): number {
    return this.#bytes + this.#retractedBytes;
  }

  get size(): number {
    return this.#logs.length - this.#start;
  }

  /** Whether every log delivered (and not retracted) is still kept. */
  get complete(): boolean {
    return this.#truncatedAt < 0;
  }

  /** The block (number and hash) of the last log forgotten, if any was. */
  get floor(): { readonly block: number; readonly blockHash: string } | undefined {
    return this.#floor;
  }

  /** Whether every log delivered above `ancestor` is still kept. */
  wholeAbove(ancestor: number): boolean {
    return this.#truncatedAt <= ancestor;
  }

  /** Whether the log of this dedupe key is kept (it was delivered, and is on the chain as far as known). */
  has(key: string): boolean {
    return this.#keys.has(key);
  }

  add(block: number, blockHash: string, key: string, text: string): void {
    this.#logs.push({ block, blockHash, key, text });
    this.#keys.add(key);
    this.#bytes += text.length * 2 + blockHash.length * 2 + 64;
    if (block > this.#newest) this.#newest = block;
    // Delivered again: a later removal of it is news.
    this.#unretire(key);
    this.#prune();
  }

  /** Whether the log of this dedupe key was retracted and not delivered since (within the depth kept). */
  retracted(key: string): boolean {
    return this.#retracted.has(key);
  }

  /** Notes that the log of this key, of block `block`, was retracted (see {@link retracted}). */
  retire(block: number, key: string): void {
    this.#unretire(key);
    this.#retracted.set(key, block);
    this.#retractedBytes += key.length * 2 + 48;
    this.#raiseHighest(block);
    // Oldest first while over the budget (a fork retracting thousands of logs stops at once).
    for (const oldest of this.#retracted.keys()) {
      if (this.#retractedBytes <= this.#maxBytes) break;
      this.#unretire(oldest);
    }
  }

  #unretire(key: string): void {
    if (this.#retracted.delete(key)) this.#retractedBytes -= key.length * 2 + 48;
  }

  /** A block seen: when it is a new highest, the retractions below the depth kept are forgotten. */
  #raiseHighest(block: number): void {
    if (block <= this.#highest) return;
    this.#highest = block;
    const floor = block - this.#depth;
    for (const [key, at] of this.#retracted) if (at <= floor) this.#unretire(key);
  }

  /** Forgets a log the node itself has retracted (`removed: true` received live). */
  drop(key: string): void {
    const at = this.#logs.findIndex((log, i) => i >= this.#start && log.key === key);
    if (at < 0) return;
    this.#bytes -= this.#cost(this.#logs[at]!);
    this.#keys.delete(key);
    this.#logs.splice(at, 1);
  }

  /**
   * The block of a kept log whose block hash (`kind` block) or transaction hash has the hashKey
   * `key`, the newest first: a scan of two numbers a log (each log's text is read for them once,
   * at the first look-up), for the rare read by hash.
   */
  whereIs(key: number, kind: HashKind): KnownBlock | undefined {
    const at = kind === 'block' ? 0 : 1;
    for (let i = this.#logs.length - 1; i >= this.#start; i--) {
      const log = this.#logs[i]!;
      const hashes = (log.hashes ??= hashesOf(log));
      if (hashes[at] === key) return { number: log.block, block: hashes[0] };
    }
    return undefined;
  }

  /** (block → blockHash digest) of the kept logs: where the delivered chain can be compared with a node's. */
  anchors(into: Map<number, readonly [number, number]>): void {
    for (let i = this.#start; i < this.#logs.length; i++) {
      const log = this.#logs[i]!;
      if (into.has(log.block)) continue;
      const digest = hashDigest(log.blockHash);
      if (digest) into.set(log.block, digest);
    }
  }

  /** Whether any height is doubted (see {@link doubtAbove}): the cheap test before {@link doubtedUpTo}. */
  get doubting(): boolean {
    return this.#doubted !== undefined;
  }

  /** The heights of kept logs above `head` are doubted (see {@link doubts}) until a check compares them. */
  doubtAbove(head: number): void {
    for (let i = this.#start; i < this.#logs.length; i++) {
      const { block } = this.#logs[i]!;
      if (block > head) (this.#doubted ??= new Set()).add(block);
    }
  }

  /** The doubted heights at or below `head` were compared (or given up on: `Infinity`). */
  settleDoubts(head: number): void {
    if (this.#doubted === undefined) return;
    for (const block of this.#doubted) if (block <= head) this.#doubted.delete(block);
    if (this.#doubted.size === 0) this.#doubted = undefined;
  }

  /** (block → blockHash digest) of the doubted heights whose logs are still kept. */
  doubts(into: Map<number, readonly [number, number]>): void {
    if (this.#doubted === undefined) return;
    const kept = new Map<number, readonly [number, number]>();
    this.anchors(kept);
    for (const block of this.#doubted) {
      const digest = kept.get(block);
      if (digest !== undefined) into.set(block, digest);
    }
  }

  /**
   * Whether a height at or below `block` is doubted and still has kept logs (a log of `block` from
   * the node shows it has reached it). Heights whose logs were retracted meanwhile (a head of the
   * node's at that height, say) are no longer doubted.
   */
  doubtedUpTo(block: number): boolean {
    if (this.#doubted === undefined) return false;
    let found = false;
    for (const doubted of this.#doubted) {
      if (doubted > block) continue;
      if (this.#keptAt(doubted)) found = true;
      else this.#doubted.delete(doubted);
    }
    if (this.#doubted.size === 0) this.#doubted = undefined;
    return found;
  }

  #keptAt(block: number): boolean {
    for (let i = this.#start; i < this.#logs.length; i++) if (this.#logs[i]!.block === block) return true;
    return false;
  }

  /** The highest block of a kept log below `block`, if any. */
  newestBelow(block: number): number | undefined {
    let newest: number | undefined;
    for (let i = this.#start; i < this.#logs.length; i++) {
      const kept = this.#logs[i]!.block;
      if (kept < block && (newest === undefined || kept > newest)) newest = kept;
    }
    return newest;
  }

  /** Takes out every kept log above `ancestor`, in the order they were delivered. */
  takeAbove(ancestor: number): RetainedLog[] {
    return this.#take((log) => log.block > ancestor);
  }

  /**
   * A log of block `block` (hash `blockHash`) is arriving: the kept logs it shows to be off the
   * chain, taken out in delivery order — those of a higher block, or of the same height in another
   * block. Logs come in block order, so anything else means the node reorged without saying so
   * (geth first sends the old logs with `removed: true`; anvil does not).
   */
  takeOrphanedBy(block: number, blockHash: string): RetainedLog[] {
    if (block > this.#newest || this.size === 0) return [];
    return this.#take((log) => log.block > block || (log.block === block && log.blockHash !== blockHash));
  }

  /**
   * The node's chain has the block of digest (`hi`, `lo`) at `block` (its newHeads replaced the one
   * delivered there): the kept logs off that chain, taken out in delivery order — those of a higher
   * block, or of that height in another block. Logs of the new block itself, which a node may send
   * before its head (geth does), stay.
   */
  takeOffChainAt(block: number, hi: number, lo: number): RetainedLog[] {
    if (block > this.#newest || this.size === 0) return [];
    return this.#take((log) => (log.block !== block ? log.block > block : inOtherBlock(log, hi, lo)));
  }

  /** The kept logs of height `block` in another block than the one of digest (`hi`, `lo`), taken out in delivery order. */
  takeOtherBlocksAt(block: number, hi: number, lo: number): RetainedLog[] {
    if (block > this.#newest || this.size === 0) return [];
    const other = (log: RetainedLog) => log.block === block && inOtherBlock(log, hi, lo);
    // Nothing to take is the rule (a head of the block whose logs came before it): no copy then.
    let found = false;
    for (let i = this.#start; i < this.#logs.length && !found; i++) found = other(this.#logs[i]!);
    return found ? this.#take(other) : [];
  }

  #take(taking: (log: RetainedLog) => boolean): RetainedLog[] {
    const kept: RetainedLog[] = [];
    const taken: RetainedLog[] = [];
    for (let i = this.#start; i < this.#logs.length; i++) {
      const log = this.#logs[i]!;
      if (!taking(log)) kept.push(log);
      else {
        taken.push(log);
        this.#keys.delete(log.key);
      }
    }
    this.#logs = kept;
    this.#start = 0;
    this.#bytes = kept.reduce((sum, log) => sum + this.#cost(log), 0);
    this.#newest = kept.reduce((max, log) => Math.max(max, log.block), -1);
    return taken;
  }

  #cost(log: RetainedLog): number {
    return log.text.length * 2 + log.blockHash.length * 2 + 64;
  }

  #prune(): void {
    this.#raiseHighest(this.#newest);
    const floor = this.#newest - this.#depth;
    while (this.#start < this.#logs.length) {
      const oldest = this.#logs[this.#start]!;
      const tooDeep = oldest.block <= floor;
      if (!tooDeep && this.#bytes <= this.#maxBytes) break;
      this.#truncatedAt = Math.max(this.#truncatedAt, oldest.block);
      if (this.#floor === undefined || oldest.block >= this.#floor.block) this.#floor = { block: oldest.block, blockHash: oldest.blockHash };
      this.#bytes -= this.#cost(oldest);
      this.#keys.delete(oldest.key);
      this.#start += 1;
    }
    // Compact once the forgotten head of the array outweighs what is kept.
    if (this.#start > 64 && this.#start * 2 > this.#logs.length) {
      this.#logs = this.#logs.slice(this.#start);
      this.#start = 0;
    }
  }
}
