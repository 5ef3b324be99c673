/** Rises kept: at four blocks a second, 16 s of them. */
const RISES = 64;

/**
 * When a client's view of the chain rose, and to what: the last {@link RISES} rises, one per clock
 * reading (a ring of two typed arrays, nothing allocated per rise). See ChainView.highestAt.
 */
export class ViewRises {
  readonly #at = new Float64Array(RISES);
  readonly #to = new Float64Array(RISES);
  #count = 0;

  /** The view rose to `n` at time `at` (times never go down). */
  rose(n: number, at: number): void {
    const last = (this.#count - 1) % RISES;
    if (this.#count > 0 && this.#at[last] === at) {
      this.#to[last] = n;
      return;
    }
    const next = this.#count % RISES;
    this.#at[next] = at;
    this.#to[next] = n;
    this.#count += 1;
  }

  /** The highest block reached at or before `at`; before the rises kept, one below the oldest. */
  highestAt(at: number): number {
    const kept = Math.min(this.#count, RISES);
    for (let k = 1; k <= kept; k++) {
      const i = (this.#count - k) % RISES;
      if (this.#at[i]! <= at) return this.#to[i]!;
    }
    return this.#to[(this.#count - kept) % RISES]! - 1;
  }
}
