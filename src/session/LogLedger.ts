import { quantity } from '../consistency/quantity.js';
import type { ContinuityOptions } from './Continuity.js';
import type { Retraction } from './Retraction.js';
import { RETRACTION, asRemoved } from './Retraction.js';
import { RetainedLogs } from './RetainedLogs.js';
import { RecentKeys, detached } from './RecentKeys.js';

/**
 * Where a result identified from the node's text keeps that text (see ContinuityKeeper's
 * `identify`), so a retained log keeps the node's own text rather than a re-serialisation.
 */
export const TEXT_OF = Symbol('text');

/** No retractions due (shared: handing it out allocates nothing). */
export const NO_RETRACTIONS: readonly Retraction[] = Object.freeze([]);

/**
 * The blocks of the logs (not retractions) among held results: dropped, they are owed to the
 * client, so the next check fetches from the lowest (after a reorg of its node they may lie
 * below the last block delivered).
 */
function logsIn(held: readonly unknown[]): Array<{ block: number }> {
  const blocks: Array<{ block: number }> = [];
  for (const result of held) {
    const log = result as { blockNumber?: unknown; removed?: unknown } | null;
    const block = typeof log === 'object' && log !== null && log.removed !== true ? quantity(log.blockNumber) : undefined;
    if (block !== undefined) blocks.push({ block });
  }
  return blocks;
}

/**
 * What a `logs` subscription's {@link Continuity} knows of the logs its client was given: their
 * keys (to drop duplicates), the logs of the last `reorgDepth` blocks (to retract them when their
 * block leaves the chain), and the mark up to which the client has every log: from the head when
 * it subscribed (`since`), raised by each log delivered, lowered by each one retracted. Holds
 * nothing of the buffering during a check: the continuity says when it holds.
 */
export class LogLedger {
  readonly #options: ContinuityOptions;
  /** Reports every block number delivered (the client's view of the chain rises with it). */
  readonly #onBlock: ((block: number) => void) | undefined;
  /** The delivered logs of the last `reorgDepth` blocks, to retract them on a fork. */
  #retained: RetainedLogs | undefined;
  /** Keys of recent logs (`blockHash:logIndex:removed?`), to drop duplicates. */
  readonly #keys: RecentKeys;
  /** Highest block the client is known to have seen every log up to (from `since` on). */
  #lastBlock: number | undefined;
  /** The head when the subscription began: the client has every log above it. */
  #since: number | undefined;
  /** `#since` is a head known before the subscription began, until its node says which. */
  #sinceAtMost = false;
  #duplicates = 0;
  /** Retractions found while admitting a log, to be delivered before it. */
  #orphaned: Retraction[] | undefined;

  constructor(options: ContinuityOptions, onBlock?: (block: number) => void) {
    this.#options = options;
    this.#onBlock = onBlock;
    this.#keys = new RecentKeys(options.dedupeWindow);
  }

  /** Bytes of delivered logs kept for retraction. */
  get retainedBytes(): number {
    return this.#retained?.bytes ?? 0;
  }

  get lastBlock(): number | undefined {
    return this.#lastBlock;
  }

  /** Duplicates suppressed so far. */
  get duplicates(): number {
    return this.#duplicates;
  }

  /** Adds (block → hash digest) of the logs kept to `into`. */
  anchors(into: Map<number, readonly [number, number]>): void {
    this.#retained?.anchors(into);
  }

  /** Whether every log delivered above `ancestor` is still kept (so a fork there can be retracted in full). */
  wholeAbove(ancestor: number): boolean {
    return this.#retained?.wholeAbove(ancestor) ?? true;
  }

  /** Whether every log delivered (and not retracted) is still kept. */
  keptAll(): boolean {
    return this.#retained?.complete ?? true;
  }

  /**
   * The block from which the client has seen every log (the head when it subscribed), until a
   * log tells more. `held`: a check holds the live logs (it fetches from the mark as it is).
   */
  noteSince(block: number, held: boolean): void {
    // A head known before replaces by the node's word while nothing was delivered or fetched from it.
    if (this.#sinceAtMost && !held && this.#lastBlock === this.#since) this.#since = this.#lastBlock = undefined;
    this.#sinceAtMost = false;
    if (this.#lastBlock === undefined) this.#lastBlock = block;
    this.#since ??= block;
  }

  /**
   * A head of the node known before it was asked to subscribe (the subscription began at it or
   * above), used until the node's own word comes ({@link noteSince}), and in its place if it never
   * does (the connection is lost first): a check after a switch then fetches from there rather
   * than nothing.
   */
  noteSinceAtMost(block: number): void {
    if (this.#since !== undefined || this.#lastBlock !== undefined) return;
    this.#since = this.#lastBlock = block;
    this.#sinceAtMost = true;
  }

  /**
   * For a fork below every log kept: the height above which the client has every log it was
   * given still kept (`since`: the subscription's start, when nothing was forgotten), or the block
   * of the last log forgotten (`forgotten`), whose hash tells if the fork is below it.
   */
  floor(): { since: number } | { forgotten: { readonly block: number; readonly blockHash: string } } | undefined {
    const forgotten = this.#retained?.floor;
    if (forgotten !== undefined) return { forgotten };
    return this.#since === undefined ? undefined : { since: this.#since };
  }

  /** Retractions the last admitted log showed due (its node reorged unannounced): deliver them first. */
  takeRetractions(): readonly Retraction[] {
    const orphaned = this.#orphaned;
    this.#orphaned = undefined;
    return orphaned ?? NO_RETRACTIONS;
  }

  /** Live results held by a check cut short by a switch are dropped: the logs among them are owed again. */
  dropHeld(held: readonly unknown[]): void {
    this.#forgetFrom(logsIn(held));
  }

  /**
   * The chain is left above `ancestor`: forgets what was delivered there (so it is delivered again
   * if the chain comes back to it) and returns each delivered log above it as its retraction, in
   * delivery order (as geth sends removed logs: oldest block first).
   */
  rewind(ancestor: number): Retraction[] {
    if (this.#lastBlock !== undefined && this.#lastBlock > ancestor) this.#lastBlock = ancestor;
    return this.#retract(this.#retained?.takeAbove(ancestor) ?? []);
  }

  /**
   * The node's chain changed at `block`, now the block of digest (`hi`, `lo`) (its newHeads said
   * so): every kept log above that height, or at it in another block, is off the chain, retracted
   * now, in delivery order. The new block's own logs stay (geth sends a block's logs before its
   * head). Asked only while no check holds the live logs (see {@link Continuity.retractFrom}).
   */
  retractFrom(block: number, hi: number, lo: number): Retraction[] {
    return this.#retained === undefined ? [] : this.#retract(this.#retained.takeOffChainAt(block, hi, lo));
  }

  /**
   * The node in use has the block of digest (`hi`, `lo`) at `block` (its newHeads delivered it):
   * kept logs of that height in another block are off its chain (given by a node on another
   * branch that was ahead of this one), retracted now. Logs above it are not judged: the block
   * says nothing of heights the node has not reached.
   */
  retractOtherBlocksAt(block: number, hi: number, lo: number): Retraction[] {
    return this.#retained === undefined ? [] : this.#retract(this.#retained.takeOtherBlocksAt(block, hi, lo));
  }

  #retract(logs: ReadonlyArray<{ block: number; key: string; text: string }>): Retraction[] {
    this.#forgetFrom(logs);
    return logs.map((log) => {
      this.#keys.forget(log.key);
      this.#retained?.retire(log.block, log.key);
      // The node may announce it too (geth sends removed logs): the client gets it once.
      this.#keys.remember(`${log.key}removed`);
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

  /** A log (live or fetched): whether to deliver it; false for a duplicate. */
  admit(r: Record<string, unknown>): boolean {
    if (typeof r.blockHash !== 'string' || typeof r.logIndex !== 'string') return true;
    const removed = r.removed === true;
    // Copied first, so the set hashes one flat string once (and keeps no frame alive).
    const key = detached(`${r.blockHash}:${r.logIndex}:${removed ? 'removed' : ''}`);
    const original = removed ? key.slice(0, -'removed'.length) : key;
    // Kept logs, and retracted ones, are known beyond the dedupe window: a backfill from the last
    // block delivered repeats all of that block's logs, and a node's own retraction of logs the
    // client no longer holds may come after more logs than the window holds.
    if (this.#keys.has(key) || (removed ? this.#retained?.retracted(original) : this.#retained?.has(key)) === true) {
      this.#duplicates += 1;
      return false;
    }
    this.#keys.remember(key);
    // Delivered (again): a later removal of it is news, not a repeat of an earlier one.
    if (!removed) this.#keys.forget(`${key}removed`);
    const block = quantity(r.blockNumber);
    if (block === undefined) return true;
    if (removed) {
      // The node retracted it itself: no longer the client's, and free to come back.
      this.#retained?.drop(original);
      this.#retained?.retire(block, original);
      this.#keys.forget(original);
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
