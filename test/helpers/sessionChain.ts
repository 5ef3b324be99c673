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
 *
 * What it holds at the end is judged against the node's chain by the model ({@link liveLogs}), and a
 * fork reported `deep` against what it holds off the new node's chain ({@link justifiesDeep}).
 */
export class DeliveredChain {
  /** The head the client holds at each number (its last word for that height). */
  readonly #heads = new Map<number, { key: string; hash: string }>();
  /** The logs the client holds (delivered, not retracted), by `blockHash:logIndex`. */
  readonly #live = new Map<string, { block: number; blockHash: string }>();
  /** Logs retracted and not delivered since. */
  readonly #retracted = new Set<string>();
  /** The highest block of a log delivered (retractions too). */
  #topLog = -Infinity;
  #floor = -Infinity;
  /**
   * Heights found carrying logs of two blocks, judged when the step's events are in (see
   * {@link takeMixed}): a check delivers a deep fork's new branch before its `reorg` event.
   */
  readonly #mixed: Array<{ n: number; problem: string }> = [];

  /** The heights found carrying logs of two blocks since last asked, but those a deep fork reported since exempts. */
  takeMixed(): string[] {
    return this.#mixed.splice(0).flatMap(({ n, problem }) => (n <= this.#floor ? [] : [problem]));
  }

  /** A fork reported as too deep to announce in full, above `ancestor`. */
  deep(ancestor: number): void {
    this.#floor = Math.max(this.#floor, ancestor);
  }

  /** The highest block of a log delivered, retracted or not (-Infinity before any). */
  get topLog(): number {
    return this.#topLog;
  }

  /** Heights at or below it are exempt (see {@link deep}); -Infinity until a deep fork. */
  get floor(): number {
    return this.#floor;
  }

  /** The logs the client holds now (delivered and not retracted since), by `blockHash:logIndex`. */
  get liveLogs(): ReadonlyMap<string, { readonly block: number; readonly blockHash: string }> {
    return this.#live;
  }

  /**
   * Whether what the client holds can make a fork too deep for the session's kept history
   * (`reorgDepth` blocks of heads and logs, `maxRetainedBytes` of logs): a head or log it holds
   * that is off the new node's chain (`hashAt(n)`: that chain's hash at `n`, if the node has
   * block `n`) and `reorgDepth` or more blocks below the newest it holds (`slack` blocks of
   * leeway), or more logs than the byte budget keeps. A fork within what is kept is never deep.
   */
  justifiesDeep(hashAt: (n: number) => string | undefined, reorgDepth: number, slack: number, maxLogs: number): boolean {
    const offChain = (n: number, hash: string) => {
      const theirs = hashAt(n);
      return theirs !== undefined && theirs !== hash;
    };
    const newestHead = Math.max(...this.#heads.keys());
    for (const [n, { hash }] of this.#heads) if (n <= newestHead - reorgDepth + slack && offChain(n, hash)) return true;
    if (this.#live.size >= maxLogs) return true;
    let newestLog = -Infinity;
    for (const { block } of this.#live.values()) newestLog = Math.max(newestLog, block);
    for (const { block, blockHash } of this.#live.values()) if (block <= newestLog - reorgDepth + slack && offChain(block, blockHash)) return true;
    return false;
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
    this.#topLog = Math.max(this.#topLog, n);
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
        this.#mixed.push({ n, problem: `block ${n} carries logs of two blocks: ${other} (never retracted) and ${id}` });
        return undefined;
      }
    }
    return undefined;
  }
}
