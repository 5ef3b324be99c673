import { hashDigest } from '../consistency/quantity.js';

/**
 * The heads a `newHeads` subscription delivered, one per height, in a ring indexed by block number:
 * what tells a duplicate (the same height with the same hash) and what a new node's chain is
 * compared with after a switch. Hashes are kept as two numbers each (see {@link hashDigest}):
 * nothing of a notification's text is kept, and checking a head costs two array reads.
 */
/** What every RecentHeads holds before its first head (never written: its capacity is 0). */
const NO_ROOM = new Float64Array(0);

export class RecentHeads {
  /** Heights kept at most. */
  readonly #size: number;
  /** Heights the arrays hold now: they start small and double up to `#size` as heads come. */
  #capacity = 0;
  #numbers = NO_ROOM;
  #hi = NO_ROOM;
  #lo = NO_ROOM;
  /** The head the chain ends at, as delivered (a lower head is the node's reorg: its new tip). */
  #tip = -1;
  /** Whether a delivered head was pushed out for room: the kept heads are then not all there were. */
  #evicted = false;
  /**
   * No head is kept above this height (it may be higher than the highest kept). A live head is
   * above it, and is then known not to be kept without reading its slot: that slot was last used
   * a whole ring ago and is rarely still in the CPU's caches.
   */
  #bound = -1;
  /** The highest height ever added, and the lowest since the heads were last all forgotten. */
  #highest = -1;
  #lowest = Number.POSITIVE_INFINITY;

  constructor(size: number) {
    this.#size = size;
  }

  get tip(): number {
    return this.#tip;
  }

  /** Whether every head delivered (and not reorged away) is still kept. */
  get complete(): boolean {
    return !this.#evicted;
  }

  /** The digest of the head kept at `number`, if one is. */
  digestAt(number: number): readonly [number, number] | undefined {
    if (number > this.#bound) return undefined;
    const slot = this.#slot(number);
    return slot >= 0 && this.#numbers[slot] === number ? [this.#hi[slot]!, this.#lo[slot]!] : undefined;
  }

  /** Whether a head is kept at `number` with another digest (the allocation-free form of a {@link digestAt} comparison). */
  differsAt(number: number, hi: number, lo: number): boolean {
    if (number > this.#bound) return false;
    const slot = this.#slot(number);
    return slot >= 0 && this.#numbers[slot] === number && (this.#hi[slot] !== hi || this.#lo[slot] !== lo);
  }

  /** The height of the kept head with this digest, if one is (a scan: for the rare read by hash). */
  numberOf(hi: number, lo: number): number | undefined {
    for (let slot = 0; slot < this.#capacity; slot++) {
      const n = this.#numbers[slot]!;
      if (n >= 0 && n <= this.#tip && this.#hi[slot] === hi && this.#lo[slot] === lo) return n;
    }
    return undefined;
  }

  /** Whether a head was delivered at `number` (and is still kept). */
  holds(number: number): boolean {
    if (number > this.#bound) return false;
    const slot = this.#slot(number);
    return slot >= 0 && this.#numbers[slot] === number;
  }

  /** Whether the head at `number` with this digest was delivered (and not reorged away since). */
  has(number: number, hi: number, lo: number): boolean {
    if (number > this.#bound) return false;
    const slot = this.#slot(number);
    return slot >= 0 && this.#numbers[slot] === number && this.#hi[slot] === hi && this.#lo[slot] === lo;
  }

  /** A head delivered at `number`. At or below the tip, it replaces what was delivered from there on. */
  add(number: number, hi: number, lo: number): void {
    if (number <= this.#tip) this.forgetAbove(number);
    if (this.#capacity === 0) this.#grow();
    let slot = slotOf(number, this.#capacity);
    // A head still within the window in that slot: room is made for both, up to the window.
    while (this.#capacity < this.#size && this.#numbers[slot]! >= 0 && this.#numbers[slot] !== number && number - this.#numbers[slot]! < this.#size) {
      this.#grow();
      slot = slotOf(number, this.#capacity);
    }
    // Once a head was pushed out, the slot need not be read again (see #bound).
    if (!this.#evicted && this.#numbers[slot]! >= 0 && this.#numbers[slot] !== number) this.#evicted = true;
    this.#numbers[slot] = number;
    this.#hi[slot] = hi;
    this.#lo[slot] = lo;
    this.#tip = number;
    if (number > this.#bound) this.#bound = number;
    if (number > this.#highest) this.#highest = number;
    if (number < this.#lowest) this.#lowest = number;
  }

  /** Forgets the heads above `number` (they left the chain; they are delivered again if it comes back). */
  forgetAbove(number: number): void {
    const from = Math.max(number + 1, this.#tip - this.#capacity + 1);
    for (let n = from; n <= this.#tip; n++) {
      const slot = n % this.#capacity;
      if (this.#numbers[slot] === n) this.#numbers[slot] = -1;
    }
    // Nothing is kept above `number` now if nothing was above the tip and every slot above `number` was cleared.
    if (this.#bound <= this.#tip && from === number + 1) this.#bound = Math.min(this.#bound, number);
    if (this.#tip > number) this.#tip = number;
    if (number < 0) this.#lowest = Number.POSITIVE_INFINITY;
  }

  /** (number → digest) of the heads of the last `depth` blocks. */
  anchors(depth: number, into: Map<number, readonly [number, number]>): void {
    for (let n = Math.max(0, this.#tip - depth + 1); n <= this.#tip; n++) {
      const slot = this.#slot(n);
      if (slot >= 0 && this.#numbers[slot] === n && !into.has(n)) into.set(n, [this.#hi[slot]!, this.#lo[slot]!]);
    }
  }

  /** The lowest height delivered (since the heads were last all forgotten); Infinity before any. */
  get lowest(): number {
    return this.#lowest;
  }

  /**
   * The lowest height from which every head delivered (and still on the chain) is kept. A head is
   * pushed out only by one a whole window (`size`) above it; heights the stream skipped (a node
   * sends one head for blocks it imports together) were never delivered, so they are not missing.
   */
  keptFrom(): number {
    return this.#evicted ? this.#highest - this.#size + 1 : Number.NEGATIVE_INFINITY;
  }

  #slot(number: number): number {
    return this.#capacity === 0 ? -1 : slotOf(number, this.#capacity);
  }

  /** Doubles the arrays (from 8), moving the kept heads to their new slots. */
  #grow(): void {
    const capacity = Math.min(this.#size, Math.max(8, this.#capacity * 2));
    const [numbers, hi, lo] = [new Float64Array(capacity).fill(-1), new Float64Array(capacity), new Float64Array(capacity)];
    for (let slot = 0; slot < this.#capacity; slot++) {
      const n = this.#numbers[slot]!;
      if (n < 0) continue;
      numbers[n % capacity] = n;
      hi[n % capacity] = this.#hi[slot]!;
      lo[n % capacity] = this.#lo[slot]!;
    }
    this.#capacity = capacity;
    this.#numbers = numbers;
    this.#hi = hi;
    this.#lo = lo;
  }
}

/**
 * `number % capacity`, on integers where it can be: the numbers come from typed arrays and the
 * frame check as doubles, whose remainder V8 computes with a call to C (several times slower, and
 * taken four times a head on the way of every notification).
 */
function slotOf(number: number, capacity: number): number {
  return number >= 0 && number <= 0x7fffffff ? (number | 0) % capacity : number % capacity;
}
