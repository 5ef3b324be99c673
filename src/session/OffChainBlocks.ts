import { hashDigest } from '../consistency/quantity.js';

/**
 * The blocks a `logs` subscription told the client left the chain (their logs retracted, by the
 * session or by the node) and has not given again, by height, for the last `depth` heights. A
 * `newHeads` subscription that was not shown that reorg (its check cut short) still holds such a
 * block: its word must not place the logs subscription's fork above it (see ChainCheck; found by
 * `npm run test:props:long`, seed 20262164).
 */
export class OffChainBlocks {
  readonly #depth: number;
  readonly #blocks = new Map<number, Array<readonly [number, number]>>();

  constructor(depth: number) {
    this.#depth = depth;
  }

  /** Whether the block of digest (`hi`, `lo`) at `block` is one the client was told left the chain. */
  has(block: number, hi: number, lo: number): boolean {
    return this.#blocks.get(block)?.some(([h, l]) => h === hi && l === lo) ?? false;
  }

  /** The logs of the block of `blockHash` at `block` were retracted. */
  left(block: number, blockHash: string): void {
    const digest = hashDigest(blockHash);
    if (digest === undefined || this.has(block, digest[0], digest[1])) return;
    this.#blocks.set(block, [...(this.#blocks.get(block) ?? []), digest]);
    const floor = Math.max(...this.#blocks.keys()) - this.#depth;
    for (const n of this.#blocks.keys()) if (n <= floor) this.#blocks.delete(n);
  }

  /** A log of the block of `blockHash` at `block` was given (again): the client holds that block. */
  given(block: number, blockHash: string): void {
    const blocks = this.#blocks.get(block);
    const digest = blocks === undefined ? undefined : hashDigest(blockHash);
    if (digest === undefined) return;
    const rest = blocks!.filter(([h, l]) => h !== digest[0] || l !== digest[1]);
    if (rest.length === 0) this.#blocks.delete(block);
    else this.#blocks.set(block, rest);
  }
}
