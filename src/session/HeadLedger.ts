import { hashDigest, quantity } from '../consistency/quantity.js';
import type { ContinuityOptions } from './Continuity.js';
import { HeadLinks } from './HeadLinks.js';
import { RecentHeads } from './RecentHeads.js';
import type { Retraction } from './Retraction.js';

/** What became of a head offered: dropped as a duplicate, delivered, or held because it does not link. */
export type HeadOutcome = typeof HEAD_DUPLICATE | typeof HEAD_DELIVERED | typeof HEAD_UNLINKED;
export const HEAD_DUPLICATE = 0;
export const HEAD_DELIVERED = 1;
export const HEAD_UNLINKED = 2;

/** Reports a head delivered (digest `hi`, `lo`); `reorg`: it came at a height that had another. */
export type OnHead = (block: number, hi: number, lo: number, reorg: boolean) => void;

/**
 * What a `newHeads` subscription's {@link Continuity} knows of the heads its client was given: one
 * per height (to drop duplicates and to compare a new node's chain with after a switch), the last
 * one's number, and whether a live head links to them. Holds nothing of the buffering during a
 * check: it says a head does not link, the continuity holds it.
 */
export class HeadLedger {
  readonly #reorgDepth: number;
  /** The delivered heads, one per height (duplicates, and the chain compared on a switch). */
  readonly #recent: RecentHeads;
  /** Reports every block number delivered (the client's view of the chain rises with it). */
  readonly #onBlock: ((block: number) => void) | undefined;
  /**
   * Told of the heads delivered: each live one as it goes (`reorg` when it came at a height that
   * had another: the node's own reorg), and of those a check delivered, once it is over, the last
   * one at each height (they may retell what the node showed while it was checked).
   */
  readonly #onHead: OnHead | undefined;
  /** Number of the last head delivered (lowered to a fork's ancestor). */
  #lastBlock: number | undefined;
  #duplicates = 0;
  /** While a check's results are delivered: the last head delivered at each height. */
  #settled: Map<number, readonly [number, number]> | undefined;

  constructor(options: ContinuityOptions, onBlock?: (block: number) => void, onHead?: OnHead) {
    this.#reorgDepth = options.reorgDepth;
    this.#recent = new RecentHeads(Math.max(options.dedupeWindow, options.reorgDepth));
    this.#onBlock = onBlock;
    this.#onHead = onHead;
  }

  get lastBlock(): number | undefined {
    return this.#lastBlock;
  }

  /** Duplicates suppressed so far. */
  get duplicates(): number {
    return this.#duplicates;
  }

  /** Adds (block → hash digest) of the heads delivered in the last `reorgDepth` blocks to `into`. */
  anchors(into: Map<number, readonly [number, number]>): void {
    this.#recent.anchors(this.#reorgDepth, into);
  }

  /** Whether the heads delivered above `ancestor` are all still known (so a fork there can be announced in full). */
  wholeAbove(ancestor: number): boolean {
    const heads = this.#recent;
    const last = this.#lastBlock;
    if (last === undefined || last <= ancestor) return true;
    // Kept, and among the heights compared after a switch (the last `reorgDepth`).
    return ancestor + 1 >= heads.keptFrom() && (this.keptAll() || ancestor + 1 >= heads.tip - this.#reorgDepth + 1);
  }

  /** Whether every head delivered (and still held) is among the heights compared after a switch. */
  keptAll(): boolean {
    const heads = this.#recent;
    return heads.complete && heads.tip - heads.lowest < this.#reorgDepth;
  }

  /**
   * The chain is left above `ancestor`: the mark goes back to it. Heads are not forgotten here:
   * each head of the new branch replaces the one at its height as it is delivered, so a node that
   * went back to the first branch meanwhile repeats nothing. (Nothing to retract.)
   */
  rewind(ancestor: number): Retraction[] {
    if (this.#lastBlock !== undefined && this.#lastBlock > ancestor) this.#lastBlock = ancestor;
    return [];
  }

  /** After a deep fork the delivered heads tell nothing about the new chain: heads from here on are judged against what follows. */
  forgetAll(): void {
    this.#recent.forgetAbove(-1);
  }

  /** A fresh judge of whether heads delivered from here on link up (see {@link HeadLinks}). */
  links(): HeadLinks {
    return new HeadLinks(this.#recent);
  }

  /**
   * Whether heads fetched after a switch link up, each to the one before it and the first to what
   * the client has below it: not when the node moved to another branch while it was checked.
   */
  linksUp(fetched: readonly unknown[]): boolean {
    const links = this.links();
    return fetched.every((result) => links.fits(result) && (links.accept(result), true));
  }

  /** From now until {@link reportDeferred}, heads delivered are reported once, the last at each height. */
  deferReports(): void {
    this.#settled = this.#onHead ? new Map() : undefined;
  }

  /** Reports the heads delivered since {@link deferReports}, lowest first. */
  reportDeferred(): void {
    const settled = this.#settled;
    this.#settled = undefined;
    if (settled) for (const n of [...settled.keys()].sort((x, y) => x - y)) this.#onHead!(n, settled.get(n)![0], settled.get(n)![1], false);
  }

  /** A head as an object: one without a number or hash is delivered as it is (nothing tells it apart). */
  admitResult(r: Record<string, unknown>, live: boolean): HeadOutcome {
    const number = quantity(r.number);
    const digest = hashDigest(r.hash);
    if (number === undefined || digest === undefined) return HEAD_DELIVERED;
    const parent = hashDigest(r.parentHash);
    return this.admit(number, digest[0], digest[1], live, parent?.[0], parent?.[1]);
  }

  /** `live`: a notification as it came (not fetched or held during a switch's check). Allocates nothing. */
  admit(number: number, hi: number, lo: number, live: boolean, parentHi = Number.NaN, parentLo = Number.NaN): HeadOutcome {
    const heads = this.#recent;
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
}
