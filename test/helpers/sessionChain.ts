/**
 * What one `newHeads` or `logs` subscription has shown the client of the chain, judged against
 * invariant 11: the client must only ever see what one node shows on a reorg.
 * - Heads: each links to the head the client got at the number below (its `parentHash`); a head at
 *   or below others replaces them (a reorg), and the replaced ones may come back later.
 * - Logs: a height never carries logs of two blocks (two `blockHash`es) unless the first block's
 *   logs were retracted (`removed: true`) in between; a log comes again only after its retraction;
 *   a retraction is for a log the client holds, or passes on one its node sent itself (geth tells
 *   every `logs` subscriber of every log it drops, also of logs from before it subscribed).
 * Heights at or below the ancestor of a fork the session reported as `deep` are exempt: there the
 * session says it could not tell what to retract.
 */
export class DeliveredChain {
  /** The head the client holds at each number (its last word for that height). */
  readonly #heads = new Map<number, { key: string; hash: string }>();
  /** The logs the client holds (delivered, not retracted), by `blockHash:logIndex`. */
  readonly #live = new Map<string, { block: number; blockHash: string }>();
  readonly #retracted = new Set<string>();
  #floor = -Infinity;

  /** A fork reported as too deep to announce in full, above `ancestor`. */
  deep(ancestor: number): void {
    this.#floor = Math.max(this.#floor, ancestor);
  }

  /**
   * A head delivered; `key` is its text. Heads it replaces are forgotten with `forget(key)`, so
   * they may be delivered again. Returns what is wrong with it, if anything.
   */
  head(n: number, hash: string, parentHash: string, key: string, forget: (key: string) => void): string | undefined {
    const below = this.#heads.get(n - 1);
    const problem =
      below !== undefined && n - 1 > this.#floor && parentHash !== below.hash
        ? `head ${n} (${hash}) does not link to head ${n - 1} the client got (${below.hash}): its parent is ${parentHash}`
        : undefined;
    for (const [m, held] of this.#heads) {
      if (m < n || held.key === key) continue;
      this.#heads.delete(m);
      forget(held.key);
    }
    this.#heads.set(n, { key, hash });
    return problem;
  }

  /**
   * A log delivered. `passedOn`: this very payload reached the session from its node (so a
   * retraction of it is the node's own). Returns what is wrong with it, if anything.
   */
  log(n: number, blockHash: string, logIndex: string, removed: boolean, passedOn: boolean): string | undefined {
    const id = `${blockHash}:${logIndex}`;
    if (removed) {
      if (this.#live.delete(id)) {
        this.#retracted.add(id);
        return undefined;
      }
      if (this.#retracted.has(id)) return `log ${id} retracted twice, with no delivery between`;
      return passedOn ? undefined : `a retraction of log ${id}, which the client never got`;
    }
    if (this.#live.has(id)) return `log ${id} delivered twice, with no retraction between`;
    this.#live.set(id, { block: n, blockHash });
    this.#retracted.delete(id);
    if (n <= this.#floor) return undefined;
    for (const [other, log] of this.#live) {
      if (log.block === n && log.blockHash !== blockHash) {
        return `block ${n} carries logs of two blocks: ${other} (never retracted) and ${id}`;
      }
    }
    return undefined;
  }
}
