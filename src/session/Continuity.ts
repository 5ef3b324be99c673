/**
 * Keeps one `newHeads` or `logs` subscription free of duplicates and gaps across upstream switches.
 *
 * What the client has seen is remembered (recent block hashes, or `blockHash:logIndex` of recent
 * logs, and the last block number: a {@link HeadLedger} or a {@link LogLedger}). After a switch the
 * session asks the new node for what the client missed — `eth_getBlockByNumber` for each missing
 * head, `eth_getLogs` for the missing range — while live notifications wait in a buffer; then the
 * backfilled results go out in order, the buffer after them, and anything the client already has
 * is dropped. A lower or reorged head is delivered as the chain says: only an exact repeat (same
 * hash, or same log not `removed`) is suppressed.
 */
import type { Retraction } from './Retraction.js';
import type { HeadLinks } from './HeadLinks.js';
import type { HeadOutcome, OnHead } from './HeadLedger.js';
import { HEAD_DELIVERED, HEAD_UNLINKED, HeadLedger } from './HeadLedger.js';
import { LogLedger, NO_RETRACTIONS } from './LogLedger.js';

export type { Retraction } from './Retraction.js';
export { RETRACTION, isRetraction } from './Retraction.js';
export type { HeadOutcome } from './HeadLedger.js';
export { HEAD_DELIVERED, HEAD_DUPLICATE, HEAD_UNLINKED } from './HeadLedger.js';
export { TEXT_OF } from './LogLedger.js';

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

/** What the client was given, as both kinds keep it (see {@link HeadLedger}, {@link LogLedger}). */
interface Ledger {
  /** Highest block the client is known to have seen everything up to (for logs: since). */
  readonly lastBlock: number | undefined;
  /** Duplicates suppressed so far. */
  readonly duplicates: number;
  /** Adds (block → hash digest) of what was delivered in the last `reorgDepth` blocks to `into`. */
  anchors(into: Map<number, readonly [number, number]>): void;
  wholeAbove(ancestor: number): boolean;
  keptAll(): boolean;
  /** The chain is left above `ancestor`: the mark goes back to it; returns what is to be retracted. */
  rewind(ancestor: number): Retraction[];
}

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
  /** newHeads: the delivered heads, one per height, and the last one's number. */
  readonly #heads: HeadLedger | undefined;
  /** logs: the delivered logs' keys, the logs of the last `reorgDepth` blocks, and the `since` mark. */
  readonly #logs: LogLedger | undefined;
  /** Whichever of the two this subscription keeps. */
  readonly #ledger: Ledger;
  #buffer: unknown[] | undefined;
  /** The last live head offered did not link to what was delivered (see {@link takeUnlinked}). */
  #unlinked = false;

  /**
   * `onBlock` is told every block number delivered (the client's view of the chain rises with it);
   * `onHead`, for newHeads, the heads delivered (see {@link HeadLedger}).
   */
  constructor(kind: ContinuityKind, options: ContinuityOptions, onBlock?: (block: number) => void, onHead?: OnHead) {
    this.kind = kind;
    this.#options = options;
    // Heads are told apart by their height and hash digests (RecentHeads); logs by key.
    if (kind === 'newHeads') this.#ledger = this.#heads = new HeadLedger(options, onBlock, onHead);
    else this.#ledger = this.#logs = new LogLedger(options, onBlock);
  }

  /** Bytes of delivered logs kept for retraction. */
  get retainedBytes(): number {
    return this.#logs?.retainedBytes ?? 0;
  }

  /** Adds (block → hash digest) of what was delivered in the last `reorgDepth` blocks to `into`. */
  anchors(into: Map<number, readonly [number, number]>): void {
    this.#ledger.anchors(into);
  }

  /**
   * Whether what this subscription delivered above `ancestor` is all still known (so a fork there
   * can be announced in full).
   */
  wholeAbove(ancestor: number): boolean {
    return this.#ledger.wholeAbove(ancestor);
  }

  /**
   * Whether everything this subscription delivered (and still holds) is among what it compares
   * after a switch: then a fork below all of it is below anything its client has seen.
   */
  keptAll(): boolean {
    return this.#ledger.keptAll();
  }

  get lastBlock(): number | undefined {
    return this.#ledger.lastBlock;
  }

  /** Duplicates suppressed so far. */
  get duplicates(): number {
    return this.#ledger.duplicates;
  }

  get backfilling(): boolean {
    return this.#buffer !== undefined;
  }

  /**
   * For logs: the block from which the client has seen every log (the head when it subscribed),
   * until a log tells more (see {@link LogLedger.noteSince}).
   */
  noteSince(block: number): void {
    this.#logs?.noteSince(block, this.#buffer !== undefined);
  }

  /** logs: a head of the node known before it was asked to subscribe (see {@link LogLedger.noteSinceAtMost}). */
  noteSinceAtMost(block: number): void {
    this.#logs?.noteSinceAtMost(block);
  }

  /** logs, for a fork below every log kept: where the client's logs are known whole (see {@link LogLedger.floor}). */
  logFloor(): { since: number } | { forgotten: { readonly block: number; readonly blockHash: string } } | undefined {
    return this.#logs?.floor();
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
    return this.#logs ? this.#logs.takeRetractions() : NO_RETRACTIONS;
  }

  /** A live head read from its text, no backfill running: whether to deliver it (hot path: no allocation). */
  offerHead(number: number, hi: number, lo: number, parentHi: number, parentLo: number): HeadOutcome {
    return this.#heads!.admit(number, hi, lo, true, parentHi, parentLo);
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

  /** Starts buffering live notifications; returns what to fetch once the new node's head is known. */
  plan(head: number, ancestor?: number): BackfillPlan {
    this.#buffer ??= [];
    const lastBlock = this.#ledger.lastBlock;
    const last = ancestor !== undefined && (lastBlock === undefined || ancestor < lastBlock) ? ancestor : lastBlock;
    if (last === undefined) return { kind: 'none' };
    // Logs are fetched from the last block on, inclusive (it may have more logs than were
    // delivered): a node whose head is that block still has some to give.
    const from = this.kind === 'newHeads' ? last + 1 : last;
    if (head < from) return { kind: 'none' };
    if (head - from + 1 > this.#options.maxBackfillBlocks) return { kind: 'skip', from, to: head };
    return this.kind === 'newHeads' ? { kind: 'blocks', from, to: head } : { kind: 'logs', from, to: head };
  }

  /**
   * Starts buffering before the head is known. `switched`: what is still held came from a node left
   * mid-check, maybe on its own branch, and is dropped (the new node's check fetches what is due).
   */
  hold(switched = false): void {
    if (switched && this.#buffer !== undefined) this.#logs?.dropHeld(this.#buffer);
    this.#buffer = switched ? [] : (this.#buffer ?? []);
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
    if (deep) this.#heads?.forgetAll();
    // The chain this subscription delivered is left above `ancestor`: what was delivered there is
    // forgotten (delivered again if the chain comes back to it); logs are retracted.
    const retracted = ancestor === undefined ? [] : this.#ledger.rewind(ancestor);
    const links = this.#heads?.links();
    this.#heads?.deferReports();
    const done = { retracted, backfilled: this.#admitAll(fetched, links), live: this.#admitAll(buffered, links) };
    this.#heads?.reportDeferred();
    return done;
  }

  /**
   * Whether heads fetched after a switch link up, each to the one before it and the first to what
   * the client has below it: not when the node moved to another branch while it was checked.
   */
  linksUp(fetched: readonly unknown[]): boolean {
    return this.#heads?.linksUp(fetched) ?? true;
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

  /** `live`: a notification as it came (not fetched or held during a switch's check). */
  #admit(result: unknown, live: boolean): boolean {
    if (typeof result !== 'object' || result === null) return true;
    const r = result as Record<string, unknown>;
    if (this.#heads) {
      const outcome = this.#heads.admitResult(r, live);
      if (outcome === HEAD_UNLINKED) {
        this.#buffer = [result];
        this.#unlinked = true;
      }
      return outcome === HEAD_DELIVERED;
    }
    return this.#logs!.admit(r);
  }

  /**
   * logs: the node's chain changed at `block`, now the block of digest (`hi`, `lo`) (its newHeads
   * said so): kept logs off the chain are retracted now (see {@link LogLedger.retractFrom}); not
   * while a check holds the live logs (it compares the chain again).
   */
  retractFrom(block: number, hi: number, lo: number): Retraction[] {
    return this.#logs !== undefined && this.#buffer === undefined ? this.#logs.retractFrom(block, hi, lo) : [];
  }

  /**
   * logs: the node in use has the block of digest (`hi`, `lo`) at `block`: kept logs of that
   * height in another block are off its chain, retracted now (see {@link LogLedger.retractOtherBlocksAt}).
   */
  retractOtherBlocksAt(block: number, hi: number, lo: number): Retraction[] {
    return this.#logs === undefined ? [] : this.#logs.retractOtherBlocksAt(block, hi, lo);
  }
}
