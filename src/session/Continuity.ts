/**
 * Keeps one `newHeads` or `logs` subscription free of duplicates and gaps across upstream switches.
 *
 * What the client has seen is remembered (recent block hashes, or `blockHash:logIndex` of recent
 * logs, and the last block number). After a switch the session asks the new node for what the
 * client missed — `eth_getBlockByNumber` for each missing head, `eth_getLogs` for the missing
 * range — while live notifications wait in a buffer; then the backfilled results go out in order,
 * the buffer after them, and anything the client already has is dropped. A lower or reorged head is
 * delivered as the chain says: only an exact repeat (same hash, or same log not `removed`) is
 * suppressed.
 */
export type ContinuityKind = 'newHeads' | 'logs';

export interface ContinuityOptions {
  /** Longest range fetched after a switch, in blocks; a longer gap is skipped and reported. */
  maxBackfillBlocks: number;
  /** How many recent keys are remembered to suppress duplicates. */
  dedupeWindow: number;
}

/** What the session must fetch from the new node for the client to have seen everything. */
export type BackfillPlan =
  | { kind: 'none' }
  | { kind: 'skip'; from: number; to: number }
  | { kind: 'blocks'; from: number; to: number }
  | { kind: 'logs'; from: number; to: number };

/**
 * A hex quantity (`0x` and hex digits) as a safe integer, else `undefined`. A loop over the
 * characters: a regular expression and parseInt cost about 150 ns per notification.
 */
function quantity(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.length < 3 || value.charCodeAt(0) !== 48 /* 0 */ || value.charCodeAt(1) !== 120 /* x */) return undefined;
  let n = 0;
  for (let i = 2; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const lower = c | 32;
    const digit = c >= 48 && c <= 57 ? c - 48 : lower >= 97 && lower <= 102 ? lower - 87 : -1;
    if (digit < 0) return undefined;
    n = n * 16 + digit;
  }
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * A copy of `text` that keeps nothing else alive. Keys read from a notification's text are slices
 * of the whole frame (V8 shares the characters); kept in the dedupe window, each would hold its
 * 1–2 KB frame for `dedupeWindow` more notifications: 400 KB per subscription instead of a few
 * dozen, and promoted to the old generation on the way. Flattening a concatenation copies the
 * characters; the slice then points into that copy only.
 */
function detached(text: string): string {
  return `${text} `.slice(0, -1);
}

/** Which kind of subscription `params` open, if continuity applies to it. */
export function continuityKind(params: readonly unknown[]): ContinuityKind | undefined {
  return params[0] === 'newHeads' || params[0] === 'logs' ? params[0] : undefined;
}

export class Continuity {
  readonly kind: ContinuityKind;
  readonly #options: ContinuityOptions;
  /** Highest block the client is known to have seen everything up to (for logs: since). */
  #lastBlock: number | undefined;
  readonly #recent = new Set<string>();
  /** The keys in {@link #recent}, oldest at `#oldest`: a ring, so forgetting one allocates nothing. */
  readonly #ring: string[] = [];
  #oldest = 0;
  #buffer: unknown[] | undefined;
  #duplicates = 0;

  constructor(kind: ContinuityKind, options: ContinuityOptions) {
    this.kind = kind;
    this.#options = options;
  }

  get lastBlock(): number | undefined {
    return this.#lastBlock;
  }

  /** Duplicates suppressed so far. */
  get duplicates(): number {
    return this.#duplicates;
  }

  get backfilling(): boolean {
    return this.#buffer !== undefined;
  }

  /**
   * For logs: the block from which the client has seen every log (the head when it subscribed),
   * until a log tells more.
   */
  noteSince(block: number): void {
    if (this.#lastBlock === undefined) this.#lastBlock = block;
  }

  /** A live notification: what to deliver now (nothing while a backfill runs, or for a duplicate). */
  accept(result: unknown): unknown[] {
    return this.offer(result) ? [result] : [];
  }

  /**
   * A live notification: true when it is to be delivered now; false when it is held for the
   * backfill running or dropped as a duplicate. (The allocation-free form of {@link accept}.)
   */
  offer(result: unknown): boolean {
    if (this.#buffer !== undefined) {
      this.#buffer.push(result);
      return false;
    }
    return this.#admit(result);
  }

  /** Starts buffering live notifications; returns what to fetch once the new node's head is known. */
  plan(head: number): BackfillPlan {
    this.#buffer ??= [];
    const last = this.#lastBlock;
    if (last === undefined || head <= last) return { kind: 'none' };
    const from = this.kind === 'newHeads' ? last + 1 : last;
    if (head - from + 1 > this.#options.maxBackfillBlocks) return { kind: 'skip', from, to: head };
    return this.kind === 'newHeads' ? { kind: 'blocks', from, to: head } : { kind: 'logs', from, to: head };
  }

  /** Starts buffering before the head is known (the switch has happened, the query is in flight). */
  hold(): void {
    this.#buffer ??= [];
  }

  /**
   * Ends the backfill: the fetched results (in chain order), then the buffered live ones, each once,
   * without what the client already has. Deliver `backfilled` first, then `live`.
   */
  finish(fetched: readonly unknown[]): { backfilled: unknown[]; live: unknown[] } {
    const buffered = this.#buffer ?? [];
    this.#buffer = undefined;
    const backfilled = fetched.filter((result) => this.#admit(result));
    return { backfilled, live: buffered.filter((result) => this.#admit(result)) };
  }

  #admit(result: unknown): boolean {
    const found = this.#key(result);
    if (found !== undefined) {
      // Copied first, so the set hashes one flat string once.
      const key = detached(found);
      if (this.#recent.has(key)) {
        this.#duplicates += 1;
        return false;
      }
      this.#remember(key);
    }
    const block = this.#block(result);
    if (block !== undefined) {
      // A lower head (reorg, or a node behind) is delivered as the chain says and moves the mark back.
      this.#lastBlock = this.kind === 'newHeads' || this.#lastBlock === undefined ? block : Math.max(this.#lastBlock, block);
    }
    return true;
  }

  #remember(key: string): void {
    this.#recent.add(key);
    const ring = this.#ring;
    if (ring.length < this.#options.dedupeWindow) return void ring.push(key);
    this.#recent.delete(ring[this.#oldest]!);
    ring[this.#oldest] = key;
    this.#oldest = (this.#oldest + 1) % ring.length;
  }

  /** What tells a result apart: for a head its hash, for a log its place and state. */
  #key(result: unknown): string | undefined {
    if (typeof result !== 'object' || result === null) return undefined;
    const r = result as Record<string, unknown>;
    if (this.kind === 'newHeads') return typeof r.hash === 'string' ? r.hash : undefined;
    if (typeof r.blockHash !== 'string' || typeof r.logIndex !== 'string') return undefined;
    return `${r.blockHash}:${r.logIndex}:${r.removed === true ? 'removed' : ''}`;
  }

  #block(result: unknown): number | undefined {
    if (typeof result !== 'object' || result === null) return undefined;
    const r = result as Record<string, unknown>;
    return quantity(this.kind === 'newHeads' ? r.number : r.blockNumber);
  }
}
