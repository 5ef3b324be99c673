import { hashDigest, keyDigest, quantity } from '../consistency/quantity.js';
import type { HashKind, KnownBlock } from '../consistency/KnownHashes.js';
import type { ContinuityOptions } from './Continuity.js';
import { Continuity } from './Continuity.js';
import { HeadLinks } from './HeadLinks.js';
import { RecentHeads } from './RecentHeads.js';
import type { Retraction } from './Retraction.js';

/** What became of a head offered: dropped as a duplicate, delivered, or held because it does not link. */
export type HeadOutcome = typeof HEAD_DUPLICATE | typeof HEAD_DELIVERED | typeof HEAD_UNLINKED;
export const HEAD_DUPLICATE = 0;
export const HEAD_DELIVERED = 1;
export const HEAD_UNLINKED = 2;

/**
 * Tells a head's height and hash digests, and whether it came at a height that had another (the
 * node's own reorg): see {@link HeadsContinuity}'s `onHead`.
 */
export type OnHead = (block: number, hi: number, lo: number, reorg: boolean) => void;

/**
 * The continuity of a `newHeads` subscription: the delivered heads, one per height, tell a repeat
 * from news, link each live head to the one below it, and are what a switch's check compares.
 */
export class HeadsContinuity extends Continuity {
  readonly kind = 'newHeads' as const;
  /** The delivered heads, one per height (duplicates, and the chain compared on a switch). */
  readonly #heads: RecentHeads;
  /**
   * Told of the heads delivered (digest `hi`, `lo`): each live one as it goes (`reorg` when it came
   * at a height that had another: the node's own reorg), and of those a check delivered, once it is
   * over, the last one at each height (they may retell what the node showed while it was checked).
   */
  readonly #onHead: OnHead | undefined;
  /** During {@link finish}: the last head delivered at each height. */
  #settled: Map<number, readonly [number, number]> | undefined;

  constructor(options: ContinuityOptions, onBlock?: (block: number, live?: boolean) => void, onHead?: OnHead) {
    super(options, onBlock);
    this.#onHead = onHead;
    this.#heads = new RecentHeads(Math.max(options.dedupeWindow, options.reorgDepth));
  }

  anchors(into: Map<number, readonly [number, number]>): void {
    this.#heads.anchors(this.options.reorgDepth, into);
  }

  override whereIs(key: number, kind: HashKind): KnownBlock | undefined {
    const number = kind === 'block' ? this.#heads.numberOf(...keyDigest(key)) : undefined;
    return number === undefined ? undefined : { number, block: key };
  }

  wholeAbove(ancestor: number): boolean {
    const heads = this.#heads;
    const last = this.last;
    if (last === undefined || last <= ancestor) return true;
    // Kept, and among the heights compared after a switch (the last `reorgDepth`).
    return ancestor + 1 >= heads.keptFrom() && (this.keptAll() || ancestor + 1 >= heads.tip - this.options.reorgDepth + 1);
  }

  keptAll(): boolean {
    const heads = this.#heads;
    return heads.complete && heads.tip - heads.lowest < this.options.reorgDepth;
  }

  /** A live head read from its text, no backfill running: whether to deliver it (hot path: no allocation). */
  offerHead(number: number, hi: number, lo: number, parentHi: number, parentLo: number): HeadOutcome {
    return this.#admitHead(number, hi, lo, true, parentHi, parentLo);
  }

  /**
   * Whether heads fetched after a switch link up, each to the one before it and the first to what
   * the client has below it: not when the node moved to another branch while it was checked.
   */
  linksUp(fetched: readonly unknown[]): boolean {
    const links = new HeadLinks(this.#heads);
    return fetched.every((result) => links.fits(result) && (links.accept(result), true));
  }

  /**
   * `heard`: for each fetched head, how many live heads were held when its answer arrived (see
   * {@link withoutOlder}).
   */
  override finish(fetched: readonly unknown[], ancestor?: number, deep = false, _head?: number, heard?: readonly number[]): { retracted: Retraction[]; backfilled: unknown[]; live: unknown[] } {
    // After a deep fork the delivered heads tell nothing about the new chain: heads from here on
    // are judged against what follows.
    if (deep) this.#heads.forgetAbove(-1);
    // A fork whose new branch is not fetched (a gap longer than maxBackfillBlocks, skipped): the
    // heads above the ancestor left the chain and none replaces them. Kept, a read by hash would
    // find them held (ViewGate holds its `null` until BEHIND) and every later check would find the
    // same fork again.
    else if (ancestor !== undefined && fetched.length === 0) this.#heads.forgetAbove(ancestor);
    if (this.held !== undefined && heard !== undefined) this.held = withoutOlder(this.held, fetched, heard);
    const settled = (this.#settled = this.#onHead ? new Map() : undefined);
    const done = super.finish(fetched, ancestor, deep);
    this.#settled = undefined;
    if (settled) for (const n of [...settled.keys()].sort((x, y) => x - y)) this.#onHead!(n, settled.get(n)![0], settled.get(n)![1], false);
    return done;
  }

  // Heads are not forgotten on a rewind: each head of the new branch replaces the one at its height
  // as it is delivered, so a node that went back to the first branch meanwhile repeats nothing.

  protected override links(): HeadLinks {
    return new HeadLinks(this.#heads);
  }

  protected fetchFrom(last: number): number {
    return last + 1;
  }

  protected admit(result: unknown, live: boolean): boolean {
    if (typeof result !== 'object' || result === null) return true;
    const r = result as Record<string, unknown>;
    const number = quantity(r.number);
    const digest = hashDigest(r.hash);
    if (number === undefined || digest === undefined) return true;
    const parent = hashDigest(r.parentHash);
    const outcome = this.#admitHead(number, digest[0], digest[1], live, parent?.[0], parent?.[1]);
    if (outcome === HEAD_UNLINKED) {
      this.held = [result];
      this.unlinked = true;
    }
    return outcome === HEAD_DELIVERED;
  }

  #admitHead(number: number, hi: number, lo: number, live: boolean, parentHi = Number.NaN, parentLo = Number.NaN): HeadOutcome {
    const heads = this.#heads;
    if (heads.has(number, hi, lo)) {
      this.duplicateCount += 1;
      return HEAD_DUPLICATE;
    }
    // A live head whose parent is not the head delivered below it: the chain changed under the
    // client without the node saying so (or a switch's check could not be made). Not delivered: the
    // caller checks the node's chain first.
    if (live && !Number.isNaN(parentHi) && heads.differsAt(number - 1, parentHi, parentLo)) return HEAD_UNLINKED;
    // A lower head (the node's reorg, or a node behind) is delivered as the chain says and moves the mark back.
    const replaces = heads.holds(number);
    heads.add(number, hi, lo);
    this.last = number;
    this.onBlock?.(number, live);
    // Another head at a height the client had one for: the node reorged (it says so only here).
    if (live) this.#onHead?.(number, hi, lo, replaces);
    else this.#settled?.set(number, [hi, lo]);
    return HEAD_DELIVERED;
  }
}

/**
 * The live heads held while a check ran, without those that came before the answer fetching the
 * head at their height (`heard[i]`: how many were held when `fetched[i]`'s answer arrived) and are
 * of another block: older news of a branch the node has left since. Delivered after the fetched
 * head, such a head would announce a reorg back to it, and have the `logs` subscriptions retract
 * the new block's logs. Those that came after the answer are the node's newer word, and stay.
 */
function withoutOlder(held: unknown[], fetched: readonly unknown[], heard: readonly number[]): unknown[] {
  const heads = held.map(headAt);
  const older = new Set<number>();
  fetched.forEach((result, i) => {
    const at = headAt(result);
    if (at === undefined) return;
    for (let j = 0; j < Math.min(heard[i] ?? 0, held.length); j++) {
      const other = heads[j];
      if (other !== undefined && other.number === at.number && (other.digest[0] !== at.digest[0] || other.digest[1] !== at.digest[1])) older.add(j);
    }
  });
  return older.size === 0 ? held : held.filter((_, j) => !older.has(j));
}

function headAt(result: unknown): { number: number; digest: readonly [number, number] } | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const r = result as Record<string, unknown>;
  const number = quantity(r.number);
  const digest = number === undefined ? undefined : hashDigest(r.hash);
  return digest === undefined ? undefined : { number: number!, digest };
}
