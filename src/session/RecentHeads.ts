import { hashDigest } from '../consistency/quantity.js';

/**
 * The heads a `newHeads` subscription delivered, one per height, in a ring indexed by block number:
 * what tells a duplicate (the same height with the same hash) and what a new node's chain is
 * compared with after a switch. Hashes are kept as two numbers each (see {@link hashDigest}):
 * nothing of a notification's text is kept, and checking a head costs two array reads.
 */
export class RecentHeads {
  readonly #size: number;
  readonly #numbers: Float64Array;
  readonly #hi: Float64Array;
  readonly #lo: Float64Array;
  /** The head the chain ends at, as delivered (a lower head is the node's reorg: its new tip). */
  #tip = -1;
  /** Whether a delivered head was pushed out for room: the kept heads are then not all there were. */
  #evicted = false;

  constructor(size: number) {
    this.#size = size;
    this.#numbers = new Float64Array(size).fill(-1);
    this.#hi = new Float64Array(size);
    this.#lo = new Float64Array(size);
  }

  get tip(): number {
    return this.#tip;
  }

  /** Whether every head delivered (and not reorged away) is still kept. */
  get complete(): boolean {
    return !this.#evicted;
  }

  /** Whether the head at `number` with this digest was delivered (and not reorged away since). */
  has(number: number, hi: number, lo: number): boolean {
    const slot = number % this.#size;
    return this.#numbers[slot] === number && this.#hi[slot] === hi && this.#lo[slot] === lo;
  }

  /** The digest of the head kept at `number`, if one is. */
  digestAt(number: number): readonly [number, number] | undefined {
    const slot = number % this.#size;
    return this.#numbers[slot] === number ? [this.#hi[slot]!, this.#lo[slot]!] : undefined;
  }

  /** Whether a head was delivered at `number` (and is still kept). */
  holds(number: number): boolean {
    return this.#numbers[number % this.#size] === number;
  }

  /** A head delivered at `number`. At or below the tip, it replaces what was delivered from there on. */
  add(number: number, hi: number, lo: number): void {
    if (number <= this.#tip) this.forgetAbove(number);
    const slot = number % this.#size;
    if (this.#numbers[slot]! >= 0 && this.#numbers[slot] !== number) this.#evicted = true;
    this.#numbers[slot] = number;
    this.#hi[slot] = hi;
    this.#lo[slot] = lo;
    this.#tip = number;
  }

  /** Forgets the heads above `number` (they left the chain; they are delivered again if it comes back). */
  forgetAbove(number: number): void {
    for (let n = Math.max(number + 1, this.#tip - this.#size + 1); n <= this.#tip; n++) {
      const slot = n % this.#size;
      if (this.#numbers[slot] === n) this.#numbers[slot] = -1;
    }
    if (this.#tip > number) this.#tip = number;
  }

  /** (number → digest) of the heads of the last `depth` blocks. */
  anchors(depth: number, into: Map<number, readonly [number, number]>): void {
    for (let n = Math.max(0, this.#tip - depth + 1); n <= this.#tip; n++) {
      const slot = n % this.#size;
      if (this.#numbers[slot] === n && !into.has(n)) into.set(n, [this.#hi[slot]!, this.#lo[slot]!]);
    }
  }

  /** The lowest height still kept of those up to the tip. */
  lowest(): number {
    let lowest = this.#tip;
    for (let n = this.#tip; n > this.#tip - this.#size && n >= 0 && this.#numbers[n % this.#size] === n; n--) lowest = n;
    return lowest;
  }
}

export { hashDigest };
