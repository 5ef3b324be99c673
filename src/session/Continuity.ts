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
 *
 * This is what both kinds share; HeadsContinuity and LogsContinuity hold what each kind remembers.
 */
import type { HashKind, KnownBlock } from '../consistency/KnownHashes.js';
import type { HeadLinks } from './HeadLinks.js';
import type { HeadsContinuity } from './HeadsContinuity.js';
import type { LogsContinuity } from './LogsContinuity.js';
import type { Retraction } from './Retraction.js';

export type { Retraction } from './Retraction.js';
export { RETRACTION, isRetraction } from './Retraction.js';

/**
 * Where a result identified from the node's text keeps that text (see ContinuityKeeper's
 * `identify`), so a retained log keeps the node's own text rather than a re-serialisation.
 */
export const TEXT_OF = Symbol('text');

export type ContinuityKind = 'newHeads' | 'logs';

/** A kept subscription's continuity, told apart by its `kind`. */
export type SubscriptionContinuity = HeadsContinuity | LogsContinuity;

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

export const NO_RETRACTIONS: readonly Retraction[] = Object.freeze([]);

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

export abstract class Continuity {
  abstract readonly kind: ContinuityKind;
  protected readonly options: ContinuityOptions;
  /**
   * Reports every block number delivered (the client's view of the chain rises with it); `live`: a
   * head the node in use just sent, its latest word of its head (lower too: it reorged).
   */
  protected readonly onBlock: ((block: number, live?: boolean) => void) | undefined;
  /** Highest block the client is known to have seen everything up to (for logs: since). */
  protected last: number | undefined;
  /** Live notifications held while a check runs (a backfill, or a head that does not link). */
  protected held: unknown[] | undefined;
  protected duplicateCount = 0;
  /** The last live result offered is held until the node's chain is checked (see {@link takeUnlinked}). */
  protected unlinked = false;
  /** Delivered blocks a check failed to compare, (height → digest) as delivered (see {@link distrust}). */
  #suspects: Map<number, readonly [number, number]> | undefined;

  constructor(options: ContinuityOptions, onBlock?: (block: number, live?: boolean) => void) {
    this.options = options;
    this.onBlock = onBlock;
  }

  /** Adds (block → hash digest) of what was delivered in the last `reorgDepth` blocks to `into`. */
  abstract anchors(into: Map<number, readonly [number, number]>): void;

  /**
   * Whether what this subscription delivered above `ancestor` is all still known (so a fork there
   * can be announced in full).
   */
  abstract wholeAbove(ancestor: number): boolean;

  /**
   * Whether everything this subscription delivered (and still holds) is among what it compares
   * after a switch: then a fork below all of it is below anything its client has seen.
   */
  abstract keptAll(): boolean;

  /** `live`: a notification as it came (not fetched or held during a switch's check). */
  protected abstract admit(result: unknown, live: boolean): boolean;

  /** The first block to fetch after a switch, given the last one the client has seen everything up to. */
  protected abstract fetchFrom(last: number, head: number, ancestor: number | undefined, verified: number | undefined, deep: boolean): number;

  /**
   * The chain this subscription delivered is left above `ancestor`: forgets that it saw everything
   * above it, and returns what to retract (in delivery order).
   */
  protected rewind(ancestor: number): Retraction[] {
    if (this.last !== undefined && this.last > ancestor) this.last = ancestor;
    return [];
  }

  /** How results delivered at the end of a check must link up, for the kinds whose results do. */
  protected links(): HeadLinks | undefined {
    return undefined;
  }

  get lastBlock(): number | undefined {
    return this.last;
  }

  /** Duplicates suppressed so far. */
  get duplicates(): number {
    return this.duplicateCount;
  }

  get backfilling(): boolean {
    return this.held !== undefined;
  }

  /** How many live notifications are held now (those held later came after this moment). */
  get heldCount(): number {
    return this.held?.length ?? 0;
  }

  /** Bytes of delivered logs kept for retraction. */
  get retainedBytes(): number {
    return 0;
  }

  /**
   * A check failed: what is held goes out unchecked, so what was delivered before it is no longer
   * known to be on the node's chain (it may be another node's branch). Its newest block is
   * compared by the next check that runs, whatever calls for it: where the node has that block,
   * it has every block below it too.
   */
  distrust(): void {
    const delivered = new Map<number, readonly [number, number]>();
    this.anchors(delivered);
    this.#followSuspects(delivered);
    if (delivered.size === 0) return;
    const newest = Math.max(...delivered.keys());
    (this.#suspects ??= new Map()).set(newest, delivered.get(newest)!);
  }

  /**
   * The node in use no longer has the delivered block of `digest` at `n` (a read by hash found
   * another block there): the next check compares it, as a suspect. Its newest block may still be
   * on the node's chain (a node that reorged and told only of its new head, above a gap in its
   * heads), and would then vouch for the block left.
   */
  suspect(n: number, digest: readonly [number, number]): void {
    (this.#suspects ??= new Map()).set(n, digest);
  }

  /** (height → digest) of the blocks {@link distrust} left to compare, as the client holds them. */
  suspects(into: Map<number, readonly [number, number]>): void {
    if (this.#suspects === undefined) return;
    const delivered = new Map<number, readonly [number, number]>();
    this.anchors(delivered);
    this.#followSuspects(delivered);
    for (const [n, digest] of this.#suspects ?? []) into.set(n, digest);
  }

  /**
   * A suspect block the client no longer holds (retracted, or replaced by another block at its
   * height: a log or head of the node's since) leaves what it held below it, of the same chain,
   * suspect: the newest of that still delivered is compared in its place (not the block that
   * replaced it, which tells nothing of the heights below). Forgotten: nothing left to doubt.
   */
  #followSuspects(delivered: ReadonlyMap<number, readonly [number, number]>): void {
    const suspects = this.#suspects;
    if (suspects === undefined) return;
    for (const [n, digest] of [...suspects]) {
      const held = delivered.get(n);
      if (held !== undefined && held[0] === digest[0] && held[1] === digest[1]) continue;
      suspects.delete(n);
      let below: number | undefined;
      for (const m of delivered.keys()) if (m < n && (below === undefined || m > below)) below = m;
      if (below !== undefined && !suspects.has(below)) suspects.set(below, delivered.get(below)!);
    }
    if (suspects.size === 0) this.#suspects = undefined;
  }

  /** A check compared the node's chain up to `head`: the suspect blocks at or below it are settled. */
  settleSuspects(head: number): void {
    if (this.#suspects === undefined) return;
    for (const n of [...this.#suspects.keys()]) if (n <= head) this.#suspects.delete(n);
    if (this.#suspects.size === 0) this.#suspects = undefined;
  }

  /** Where a block or transaction hash (its hashKey) the client was given is, if this subscription keeps it. */
  whereIs(_key: number, _kind: HashKind): KnownBlock | undefined {
    return undefined;
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
    if (this.held !== undefined) {
      this.held.push(result);
      return false;
    }
    return this.admit(result, true);
  }

  /** Retractions the last admitted result showed due (its node reorged unannounced): deliver them first. */
  takeRetractions(): readonly Retraction[] {
    return NO_RETRACTIONS;
  }

  /**
   * Whether the last live result offered did not fit what was delivered (it is held: the caller is
   * to check the node's chain). Reading it clears it.
   */
  takeUnlinked(): boolean {
    const unlinked = this.unlinked;
    this.unlinked = false;
    return unlinked;
  }

  /**
   * Starts buffering live notifications; returns what to fetch once the new node's head is known.
   * `verified`: the highest height delivered that the check found on the node's chain; `deep`: the
   * fork reaches below what is kept.
   */
  plan(head: number, ancestor?: number, verified?: number, deep = false): BackfillPlan {
    this.held ??= [];
    const last = ancestor !== undefined && (this.last === undefined || ancestor < this.last) ? ancestor : this.last;
    if (last === undefined) return { kind: 'none' };
    const from = this.fetchFrom(last, head, ancestor, verified, deep);
    if (head < from) return { kind: 'none' };
    if (head - from + 1 > this.options.maxBackfillBlocks) return { kind: 'skip', from, to: head };
    return this.kind === 'newHeads' ? { kind: 'blocks', from, to: head } : { kind: 'logs', from, to: head };
  }

  /**
   * Starts buffering before the head is known. `switched`: what is still held came from a node left
   * mid-check, maybe on its own branch, and is dropped (the new node's check fetches what is due).
   */
  hold(switched = false): void {
    if (switched && this.held !== undefined) this.dropHeld(this.held);
    this.held = switched ? [] : (this.held ?? []);
  }

  /** What was held from a node left mid-check is dropped (see {@link hold}). */
  protected dropHeld(_held: readonly unknown[]): void {}

  /**
   * Ends the backfill: on a fork, the retractions of what was delivered above `ancestor`; then the
   * fetched results (in chain order), then the buffered live ones, each once, without what the
   * client already has. Deliver them in that order. `deep`: the fork was deeper than what is kept.
   */
  finish(fetched: readonly unknown[], ancestor?: number, _deep = false, _head?: number, _heard?: readonly number[]): { retracted: Retraction[]; backfilled: unknown[]; live: unknown[] } {
    const buffered = this.held ?? [];
    this.held = undefined;
    const retracted = ancestor === undefined ? [] : this.rewind(ancestor);
    const links = this.links();
    return { retracted, backfilled: this.#admitAll(fetched, links), live: this.#admitAll(buffered, links) };
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
      // A result not delivered (a duplicate, or a mark a logs continuity keeps among what it
      // holds) may still have found retractions due.
      const admitted = this.admit(result, false);
      out.push(...this.takeRetractions());
      if (admitted) out.push(result);
    }
    return out;
  }
}
