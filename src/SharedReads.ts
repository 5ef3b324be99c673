/**
 * Reads under way, by key: whoever asks while one is under way (or within `keepMs` of its answer)
 * is given its outcome instead of sending another. The gates read a node's block at a height to
 * tell a lagging read backend from a reorg, once for each `null` they are given, and an indexer
 * reads the receipts of every log of a block at once, each asked again at each poll: those reads
 * of one block of one node are one.
 */
export class SharedReads<V> {
  readonly #reads = new Map<string, { readonly read: Promise<V>; readonly startedAt: number; until: number }>();
  readonly #now: () => number;
  readonly #keepMs: number;

  /** `keepMs`: how long an answer (not a failure) is given out after it came, on the clock `now`. */
  constructor(now: () => number = () => 0, keepMs = 0) {
    this.#now = now;
    this.#keepMs = keepMs;
  }

  /**
   * The read of `key` under way or just answered, or the one `send` starts. `signal`: the caller's
   * own, which the shared read does not take (others wait on it too); its abort rejects the promise
   * returned to this caller only.
   */
  read(key: string, send: () => Promise<V>, signal?: AbortSignal): Promise<V> {
    const read = this.#read(key, send);
    return signal === undefined ? read : untilAborted(read, signal);
  }

  /**
   * {@link read}, but an answer that would decide against what came at `since` (`decides`: a block
   * read that says the block left) is taken only from a read sent at or after `since`: one from
   * before cannot speak for what the node held since. Otherwise any read will do.
   */
  readSince(key: string, send: () => Promise<V>, since: number, decides: (value: V) => boolean, signal?: AbortSignal): Promise<V> {
    return this.read(key, send, signal).then((value) => {
      if (!decides(value)) return value;
      const fresh = this.#read(key, send, since);
      return signal === undefined ? fresh : untilAborted(fresh, signal);
    });
  }

  #read(key: string, send: () => Promise<V>, notBefore = -Infinity): Promise<V> {
    const known = this.#reads.get(key);
    const now = this.#now();
    if (known !== undefined && now < known.until && known.startedAt >= notBefore) return known.read;
    const read = send();
    const entry = { read, startedAt: now, until: Infinity };
    this.#reads.set(key, entry);
    const forget = () => {
      if (this.#reads.get(key) === entry) this.#reads.delete(key);
    };
    read.then(() => {
      if (this.#keepMs <= 0) return forget();
      entry.until = this.#now() + this.#keepMs;
      // Not kept past its time: one entry per block the gate read, each gone once it is stale.
      this.#reads.forEach((other, k) => other.until <= this.#now() && other !== entry && this.#reads.delete(k));
    }, forget);
    return read;
  }
}

/** `promise`, or its rejection with `signal`'s reason once that aborts first. */
function untilAborted<V>(promise: Promise<V>, signal: AbortSignal): Promise<V> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<V>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
