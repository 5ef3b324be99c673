/**
 * Keeps one `newHeads` or `logs` subscription free of duplicates and gaps across upstream switches.
 *
 * What the client has seen is remembered (recent block hashes, or `blockHash:logIndex` of recent
 * logs, and the last block number). After a switch the session asks the new node for what the
 * client missed — `eth_getBlockByNumber` for each missing head, `eth_getLogs` for the missing
 * range — while live notifications wait in a buffer; then the backfilled results go out in order,
 * the buffer after them, and anything the client already has is dropped. A lower or reorged head is
 * delivered as the chain says: only an exact repeat (same hash, or same log not `removed`) is
 * suppressed.
 */
import { hashDigest, quantity } from '../consistency/quantity.js';
import { RecentHeads } from './RecentHeads.js';
import { HeadLinks } from './HeadLinks.js';
import type { Retraction } from './Retraction.js';
import { RETRACTION, asRemoved } from './Retraction.js';

export type { Retraction } from './Retraction.js';
export { RETRACTION, isRetraction } from './Retraction.js';
import { RetainedLogs } from './RetainedLogs.js';
import { RecentKeys, detached } from './RecentKeys.js';

/**
 * Where a result identified from the node's text keeps that text (see ContinuityKeeper's
 * `identify`), so a retained log keeps the node's own text rather than a re-serialisation.
 */
export const TEXT_OF = Symbol('text');

export type ContinuityKind = 'newHeads' | 'logs';

export interface ContinuityOptions {
  /** Longest range fetched after a switch, in blocks; a longer gap is skipped and reported. */
  maxBackfillBlocks: number;
  /** How many recent keys are remembered to suppress duplicates. */
  dedupeWindow: number;
  /** How many recent blocks of delivered heads and logs are kept to find a fork's common ancestor. */
  reorgDepth: number;
  /** Bytes of delivered logs kept per `logs` subscription to retract them on a fork. */
  maxRetainedBytes: number;
}

const NONE: readonly Retraction[] = Object.freeze([]);

/** What became of a head offered: dropped as a duplicate, delivered, or held because it does not link. */
export type HeadOutcome = typeof HEAD_DUPLICATE | typeof HEAD_DELIVERED | typeof HEAD_UNLINKED;
export const HEAD_DUPLICATE = 0;
export const HEAD_DELIVERED = 1;
export const HEAD_UNLINKED = 2;

/** What the session must fetch from the new node for the client to have seen everything. */
export type BackfillPlan =
  | { kind: 'none' }
  | { kind: 'skip'; from: number; to: number }
  | { kind: 'blocks'; from: number; to: number }
  | { kind: 'logs'; from: number; to: number };

/** Which kind of subscription `params` open, if continuity applies to it. */
export function continuityKind(params: readonly unknown[]): ContinuityKind | undefined {
  return params[0] === 'newHeads' || params[0] === 'logs' ? params[0] : undefined;
}

export class Continuity {
  readonly kind: ContinuityKind;
  readonly #options: ContinuityOptions;
  /** newHeads: the delivered heads, one per height (duplicates, and the chain compared on a switch). */
  readonly #heads: RecentHeads | undefined;
  /** logs: the delivered logs of the last `reorgDepth` blocks, to retract them on a fork. */
  #retained: RetainedLogs | undefined;
  /** Reports every block number delivered (the client's view of the chain rises with it). */
  readonly #onBlock: ((block: number) => void) | undefined;
  /**
   * newHeads: told of the heads delivered (digest `hi`, `lo`): each live one as it goes (`reorg`
   * when it came at a height that had another: the node's own reorg), and of those a check
   * delivered, once it is over, the last one at each height (they may retell what the node
   * showed while it was checked).
   */
  readonly #onHead: ((block: number, hi: number, lo: number, reorg: boolean) => void) | undefined;
  /** Highest block the client is known to have seen everything up to (for logs: since). */
  #lastBlock: number | undefined;
  /** logs: the head when the subscription began: the client has every log above it. */
  #since: number | undefined;
  /** logs: `#since` is a head known before the subscription began, until its node says which. */
  #sinceAtMost = false;
  /** logs: keys of recent logs (`blockHash:logIndex:removed?`), to drop duplicates. */
  readonly #keys: RecentKeys | undefined;
  #buffer: unknown[] | undefined;
  #duplicates = 0;
  /** Retractions found while admitting a log, to be delivered before it. */
  #orphaned: Retraction[] | undefined;
  /** The last live head offered did not link to what was delivered (see {@link takeUnlinked}). */
  #unlinked = false;
  /** newHeads, during {@link finish}: the last head delivered at each height. */
  #settled: Map<number, readonly [number, number]> | undefined;

  constructor(kind: ContinuityKind, options: ContinuityOptions, onBlock?: (block: number) => void, onHead?: (block: number, hi: number, lo: number, reorg: boolean) => void) {
    this.kind = kind;
    this.#options = options;
    this.#onBlock = onBlock;
    this.#onHead = onHead;
    if (kind === 'newHeads') this.#heads = new RecentHeads(Math.max(options.dedupeWindow, options.reorgDepth));
    // Heads are told apart by their height and hash digests (RecentHeads); logs by key.
    if (kind === 'logs') this.#keys = new RecentKeys(options.dedupeWindow);
  }

  /** Bytes of delivered logs kept for retraction. */
  get retainedBytes(): number {
    return this.#retained?.bytes ?? 0;
  }

  /** Adds (block → hash digest) of what was delivered in the last `reorgDepth` blocks to `into`. */
  anchors(into: Map<number, readonly [number, number]>): void {
    if (this.#heads) this.#heads.anchors(this.#options.reorgDepth, into);
    else this.#retained?.anchors(into);
  }

  /**
   * Whether what this subscription delivered above `ancestor` is all still known (so a fork there
   * can be announced in full).
   */
  wholeAbove(ancestor: number): boolean {
    if (this.kind === 'logs') return this.#retained?.wholeAbove(ancestor) ?? true;
    const heads = this.#heads!;
    const last = this.#lastBlock;
    if (last === undefined || last <= ancestor) return true;
    // Kept, and among the heights compared after a switch (the last `reorgDepth`).
    return ancestor + 1 >= heads.keptFrom() && (this.keptAll() || ancestor + 1 >= heads.tip - this.#options.reorgDepth + 1);
  }

  /**
   * Whether everything this subscription delivered (and still holds) is among what it compares
   * after a switch: then a fork below all of it is below anything its client has seen.
   */
  keptAll(): boolean {
    if (this.kind === 'logs') return this.#retained?.complete ?? true;
    const heads = this.#heads!;
    return heads.complete && heads.tip - heads.lowest < this.#options.reorgDepth;
  }

  get lastBlock(): number | undefined {
    return this.#lastBlock;
  }

  /** Duplicates suppressed so far. */
  get duplicates(): number {
    return this.#duplicates;
  }

  get backfilling(): boolean {
    return this.#buffer !== undefined;
  }

  /**
   * For logs: the block from which the client has seen every log (the head when it subscribed),
   * until a log tells more.
   */
  noteSince(block: number): void {
    // A head known before replaces by the node's word while nothing was delivered or fetched from it.
    if (this.#sinceAtMost && this.#buffer === undefined && this.#lastBlock === this.#since) this.#since = this.#lastBlock = undefined;
    this.#sinceAtMost = false;
    if (this.#lastBlock === undefined) this.#lastBlock = block;
    this.#since ??= block;
  }

  /**
   * logs: a head of the node known before it was asked to subscribe (the subscription began at it
   * or above), used until the node's own word comes ({@link noteSince}), and in its place if it
   * never does (the connection is lost first): a check after a switch then fetches from there
   * rather than nothing.
   */
  noteSinceAtMost(block: number): void {
    if (this.#since !== undefined || this.#lastBlock !== undefined) return;
    this.#since = this.#lastBlock = block;
    this.#sinceAtMost = true;
  }

  /**
   * logs, for a fork below every log kept: the height above which the client has every log it
   * was given still kept (`since`: the subscription's start, when nothing was forgotten), or the
   * block of the last log forgotten (`forgotten`), whose hash tells if the fork is below it.
   */
  logFloor(): { since: number } | { forgotten: { readonly block: number; readonly blockHash: string } } | undefined {
    if (this.kind !== 'logs') return undefined;
    const forgotten = this.#retained?.floor;
    if (forgotten !== undefined) return { forgotten };
    return this.#since === undefined ? undefined : { since: this.#since };
  }

  /** A live notification: what to deliver now (nothing while a backfill runs, or for a duplicate). */
  accept(result: unknown): unknown[] {
    return this.offer(result) ? [result] : [];
  }

  /**
   * A live notification: true when it is to be delivered now; false when it is held for the
   * backfill running or dropped as a duplicate. (The allocation-free form of {@link accept}.)
   */
  offer(result: unknown): boolean {
    if (this.#buffer !== undefined) {
      this.#buffer.push(result);
      return false;
    }
    return this.#admit(result, true);
  }

  /** Retractions the last admitted log showed due (its node reorged unannounced): deliver them first. */
  takeRetractions(): readonly Retraction[] {
    const orphaned = this.#orphaned;
    this.#orphaned = undefined;
    return orphaned ?? NONE;
  }

  /** A live head read from its text, no backfill running: whether to deliver it (hot path: no allocation). */
  offerHead(number: number, hi: number, lo: number, parentHi: number, parentLo: number): HeadOutcome {
    return this.#admitHead(number, hi, lo, true, parentHi, parentLo);
  }

  /**
   * Whether the last live result offered was a head that does not link to what was delivered (it
   * is held: the caller is to check the node's chain). Reading it clears it.
   */
  takeUnlinked(): boolean {
    const unlinked = this.#unlinked;
    this.#unlinked = false;
    return unlinked;
  }

  /**
   * Starts buffering live notifications; returns what to fetch once the new node's head is known.
   * `verified`: the highest height delivered that the check found on the node's chain.
   */
  plan(head: number, ancestor?: number, verified?: number): BackfillPlan {
    this.#buffer ??= [];
    const last = ancestor !== undefined && (this.#lastBlock === undefined || ancestor < this.#lastBlock) ? ancestor : this.#lastBlock;
    if (last === undefined) return { kind: 'none' };
    // Logs are fetched from the last block on, inclusive (it may have more logs than were
    // delivered): a node whose head is that block still has some to give.
    let from = this.kind === 'newHeads' ? last + 1 : last;
    // logs, no fork found: that the client has every log up to the last block is known of the chain
    // of the node that gave them; of the node checked, only up to the highest height delivered that
    // it has too (`verified`; anchors are only where logs, or other subscriptions' heads, were
    // given). Above it the chains may differ where no log was given (logs retracted there may be
    // on this one, or it has others), so the node's logs are fetched from there, as far back as
    // forks are followed (`reorgDepth`) and one backfill goes; what the client holds is dropped
    // as a repeat. A node behind the last block has its logs fetched up to its head that way too.
    if (this.kind === 'logs' && ancestor === undefined) {
      const { reorgDepth, maxBackfillBlocks } = this.#options;
      // Never below where it began (the block it began at is fetched, as the last block is: a node
      // may answer its head before it sends that block's logs).
      const found = Math.max(verified ?? this.#since ?? from, from - reorgDepth, head - maxBackfillBlocks + 1, this.#since ?? -Infinity);
      if (found < from) from = found;
    }
    if (head < from) return { kind: 'none' };
    if (head - from + 1 > this.#options.maxBackfillBlocks) return { kind: 'skip', from, to: head };
    return this.kind === 'newHeads' ? { kind: 'blocks', from, to: head } : { kind: 'logs', from, to: head };
  }

  /**
   * Starts buffering before the head is known. `switched`: what is still held came from a node left
   * mid-check, maybe on its own branch, and is dropped (the new node's check fetches what is due).
   */
  hold(switched = false): void {
    if (switched && this.kind === 'logs' && this.#buffer !== undefined) this.#forgetFrom(this.#logsIn(this.#buffer));
    this.#buffer = switched ? [] : (this.#buffer ?? []);
  }

  /**
   * The blocks of the logs (not retractions) among held results: dropped, they are owed to the
   * client, so the next check fetches from the lowest (after a reorg of its node they may lie
   * below the last block delivered).
   */
  #logsIn(held: readonly unknown[]): Array<{ block: number }> {
    const blocks: Array<{ block: number }> = [];
    for (const result of held) {
      const log = result as { blockNumber?: unknown; removed?: unknown } | null;
      const block = typeof log === 'object' && log !== null && log.removed !== true ? quantity(log.blockNumber) : undefined;
      if (block !== undefined) blocks.push({ block });
    }
    return blocks;
  }

  /**
   * Ends the backfill: on a fork, the retractions of what was delivered above `ancestor`; then the
   * fetched results (in chain order), then the buffered live ones, each once, without what the
   * client already has. Deliver them in that order.
   */
  finish(fetched: readonly unknown[], ancestor?: number, deep = false): { retracted: Retraction[]; backfilled: unknown[]; live: unknown[] } {
    const buffered = this.#buffer ?? [];
    this.#buffer = undefined;
    // After a deep fork the delivered heads tell nothing about the new chain: heads from here on
    // are judged against what follows.
    if (deep) this.#heads?.forgetAbove(-1);
    const retracted = ancestor === undefined ? [] : this.#rewind(ancestor);
    const links = this.#heads ? new HeadLinks(this.#heads) : undefined;
    this.#settled = this.#heads && this.#onHead ? new Map() : undefined;
    const done = { retracted, backfilled: this.#admitAll(fetched, links), live: this.#admitAll(buffered, links) };
    const settled = this.#settled;
    this.#settled = undefined;
    if (settled) for (const n of [...settled.keys()].sort((x, y) => x - y)) this.#onHead!(n, settled.get(n)![0], settled.get(n)![1], false);
    return done;
  }

  /**
   * Whether heads fetched after a switch link up, each to the one before it and the first to what
   * the client has below it: not when the node moved to another branch while it was checked.
   */
  linksUp(fetched: readonly unknown[]): boolean {
    if (!this.#heads) return true;
    const links = new HeadLinks(this.#heads);
    return fetched.every((result) => links.fits(result) && (links.accept(result), true));
  }

  /**
   * What of `results` is to be delivered, in order, each preceded by the retractions it caused.
   * Heads must link up (see {@link HeadLinks}): one that does not is off the chain the check
   * found (the node moved while it was checked, or it was held from a branch the node has left)
   * and is dropped; a later live head that does not link then calls for a new check.
   */
  #admitAll(results: readonly unknown[], links: HeadLinks | undefined): unknown[] {
    const out: unknown[] = [];
    for (const result of results) {
      if (links && !links.fits(result)) continue;
      // On the chain the check found, even when the client has it already (a duplicate).
      links?.accept(result);
      if (!this.#admit(result, false)) continue;
      out.push(...this.takeRetractions(), result);
    }
    return out;
  }

  /**
   * The chain this subscription delivered is left above `ancestor`: forgets what was delivered
   * there (so it is delivered again if the chain comes back to it) and, for logs, returns each
   * delivered log above it as its retraction, in delivery order (as geth sends removed logs:
   * oldest block first).
   */
  #rewind(ancestor: number): Retraction[] {
    if (this.#lastBlock !== undefined && this.#lastBlock > ancestor) this.#lastBlock = ancestor;
    // Heads are not forgotten here: each head of the new branch replaces the one at its height as
    // it is delivered, so a node that went back to the first branch meanwhile repeats nothing.
    if (this.#heads) return [];
    return this.#retract(this.#retained?.takeAbove(ancestor) ?? []);
  }

  #retract(logs: ReadonlyArray<{ block: number; key: string; text: string }>): Retraction[] {
    this.#forgetFrom(logs);
    return logs.map((log) => {
      this.#keys?.forget(log.key);
      this.#retained?.retire(log.block, log.key);
      // The node may announce it too (geth sends removed logs): the client gets it once.
      this.#keys?.remember(`${log.key}removed`);
      return { [RETRACTION]: true, text: asRemoved(log.text) };
    });
  }

  /**
   * Logs the client no longer holds (retracted, by the session or their node): it has not seen
   * everything from the lowest of their blocks on any more, so a later backfill fetches from there
   * (the chain may bring them back).
   */
  #forgetFrom(logs: ReadonlyArray<{ block: number }>): void {
    if (this.#lastBlock === undefined || logs.length === 0) return;
    let lowest = this.#lastBlock + 1;
    for (const { block } of logs) if (block < lowest) lowest = block;
    if (lowest - 1 < this.#lastBlock) this.#lastBlock = lowest - 1;
  }

  /** `live`: a notification as it came (not fetched or held during a switch's check). */
  #admit(result: unknown, live: boolean): boolean {
    if (typeof result !== 'object' || result === null) return true;
    const r = result as Record<string, unknown>;
    if (this.#heads) {
      const number = quantity(r.number);
      const digest = hashDigest(r.hash);
      if (number === undefined || digest === undefined) return true;
      const parent = hashDigest(r.parentHash);
      const outcome = this.#admitHead(number, digest[0], digest[1], live, parent?.[0], parent?.[1]);
      if (outcome === HEAD_UNLINKED) {
        this.#buffer = [result];
        this.#unlinked = true;
      }
      return outcome === HEAD_DELIVERED;
    }
    // A live log at or above a height a check could not compare (its node was behind): the node
    // has reached it, so its chain is compared there first (the log waits, as a head that does not link).
    if (live && this.#retained?.doubting === true && this.#retained.doubtedUpTo(quantity(r.blockNumber) ?? -1)) {
      this.#buffer = [result];
      this.#unlinked = true;
      return false;
    }
    return this.#admitLog(r);
  }

  /** logs: the kept logs above `head` (the node checked was behind) are compared by a later check. */
  doubtAbove(head: number): void {
    this.#retained?.doubtAbove(head);
  }

  /** logs: the doubted heights at or below `head` were compared (`Infinity`: given up on). */
  settleDoubts(head: number): void {
    this.#retained?.settleDoubts(head);
  }

  /** logs: (block → blockHash digest) of the kept logs a check could not compare yet. */
  doubts(into: Map<number, readonly [number, number]>): void {
    this.#retained?.doubts(into);
  }

  #admitHead(number: number, hi: number, lo: number, live: boolean, parentHi = Number.NaN, parentLo = Number.NaN): HeadOutcome {
    const heads = this.#heads!;
    if (heads.has(number, hi, lo)) {
      this.#duplicates += 1;
      return HEAD_DUPLICATE;
    }
    // A live head whose parent is not the head delivered below it: the chain changed under the
    // client without the node saying so (or a switch's check could not be made). Not delivered: the
    // caller checks the node's chain first.
    if (live && !Number.isNaN(parentHi) && heads.differsAt(number - 1, parentHi, parentLo)) return HEAD_UNLINKED;
    // A lower head (the node's reorg, or a node behind) is delivered as the chain says and moves the mark back.
    const replaces = heads.holds(number);
    heads.add(number, hi, lo);
    this.#lastBlock = number;
    this.#onBlock?.(number);
    // Another head at a height the client had one for: the node reorged (it says so only here).
    if (live) this.#onHead?.(number, hi, lo, replaces);
    else this.#settled?.set(number, [hi, lo]);
    return HEAD_DELIVERED;
  }

  /**
   * logs: the node's chain changed at `block`, now the block of digest (`hi`, `lo`) (its newHeads
   * said so): every kept log above that height, or at it in another block, is off the chain,
   * retracted now, in delivery order. The new block's own logs stay (geth sends a block's logs
   * before its head).
   */
  retractFrom(block: number, hi: number, lo: number): Retraction[] {
    return this.#retained !== undefined && this.#buffer === undefined ? this.#retract(this.#retained.takeOffChainAt(block, hi, lo)) : [];
  }

  /**
   * logs: the node in use has the block of digest (`hi`, `lo`) at `block` (its newHeads delivered
   * it): kept logs of that height in another block are off its chain (given by a node on another
   * branch that was ahead of this one), retracted now. Logs above it are not judged: the block
   * says nothing of heights the node has not reached.
   */
  retractOtherBlocksAt(block: number, hi: number, lo: number): Retraction[] {
    return this.#retained === undefined ? [] : this.#retract(this.#retained.takeOtherBlocksAt(block, hi, lo));
  }

  #admitLog(r: Record<string, unknown>): boolean {
    if (typeof r.blockHash !== 'string' || typeof r.logIndex !== 'string') return true;
    const removed = r.removed === true;
    // Copied first, so the set hashes one flat string once (and keeps no frame alive).
    const key = detached(`${r.blockHash}:${r.logIndex}:${removed ? 'removed' : ''}`);
    const original = removed ? key.slice(0, -'removed'.length) : key;
    // Kept logs, and retracted ones, are known beyond the dedupe window: a backfill from the last
    // block delivered repeats all of that block's logs, and a node's own retraction of logs the
    // client no longer holds may come after more logs than the window holds.
    if (this.#keys!.has(key) || (removed ? this.#retained?.retracted(original) : this.#retained?.has(key)) === true) {
      this.#duplicates += 1;
      return false;
    }
    this.#keys!.remember(key);
    // Delivered (again): a later removal of it is news, not a repeat of an earlier one.
    if (!removed) this.#keys!.forget(`${key}removed`);
    const block = quantity(r.blockNumber);
    if (block === undefined) return true;
    if (removed) {
      // The node retracted it itself: no longer the client's, and free to come back.
      this.#retained?.drop(original);
      this.#retained?.retire(block, original);
      this.#keys!.forget(original);
      this.#forgetFrom([{ block }]);
      return true;
    }
    this.#lastBlock = this.#lastBlock === undefined ? block : Math.max(this.#lastBlock, block);
    const orphaned = this.#retained?.takeOrphanedBy(block, r.blockHash) ?? [];
    if (orphaned.length > 0) this.#orphaned = this.#retract(orphaned);
    const text = (r as { [k: symbol]: unknown })[TEXT_OF] as string | undefined;
    // Created with the first log: a quiet subscription keeps nothing.
    (this.#retained ??= new RetainedLogs(this.#options.reorgDepth, this.#options.maxRetainedBytes)).add(block, detached(r.blockHash), key, text === undefined ? JSON.stringify(r) : detached(text));
    this.#onBlock?.(block);
    return true;
  }
}
