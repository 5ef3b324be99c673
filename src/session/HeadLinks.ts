import { hashDigest, quantity } from '../consistency/quantity.js';
import type { RecentHeads } from './RecentHeads.js';

/** A head's number, hash and parent digests, when it has them all. */
function headOf(result: unknown): { number: number; digest: readonly [number, number]; parent: readonly [number, number] } | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const r = result as Record<string, unknown>;
  const number = quantity(r.number);
  const digest = hashDigest(r.hash);
  const parent = hashDigest(r.parentHash);
  return number === undefined || digest === undefined || parent === undefined ? undefined : { number, digest, parent };
}

const same = (x: readonly [number, number], y: readonly [number, number]) => x[0] === y[0] && x[1] === y[1];

/**
 * Whether the heads delivered at the end of a switch's check link up: each to the head accepted
 * just before it, else to the head the client has below it (at or below the fork's ancestor, one
 * still on the chain; above it, one of the branch left, which a node back on that branch continues).
 * A head whose parent is another, or was itself dropped, does not: above the ancestor, a head of
 * the new branch whose parent the client was not given would leave a gap in what it sees.
 */
export class HeadLinks {
  readonly #heads: RecentHeads;
  readonly #accepted = new Map<number, readonly [number, number]>();
  readonly #dropped: Array<readonly [number, number]> = [];

  constructor(heads: RecentHeads) {
    this.#heads = heads;
  }

  fits(result: unknown): boolean {
    const head = headOf(result);
    if (!head) return true;
    const { number, digest, parent } = head;
    const below = this.#accepted.get(number - 1) ?? this.#heads.digestAt(number - 1);
    const fits = (below === undefined || same(below, parent)) && !this.#dropped.some((d) => same(d, parent));
    if (!fits) this.#dropped.push(digest);
    return fits;
  }

  accept(result: unknown): void {
    const head = headOf(result);
    if (!head) return;
    for (const n of this.#accepted.keys()) if (n >= head.number) this.#accepted.delete(n);
    this.#accepted.set(head.number, head.digest);
  }
}
