/**
 * A copy of `text` that keeps nothing else alive. Keys read from a notification's text are slices
 * of the whole frame (V8 shares the characters); kept in the dedupe window, each would hold its
 * 1–2 KB frame for `dedupeWindow` more notifications: 400 KB per subscription instead of a few
 * dozen, and promoted to the old generation on the way. Flattening a concatenation copies the
 * characters; the slice then points into that copy only.
 */
export function detached(text: string): string {
  return `${text} `.slice(0, -1);
}

/**
 * The last `size` keys remembered (a `logs` subscription's `blockHash:logIndex:removed?`), to drop
 * duplicates: a set, and a ring of the same keys, oldest first, so remembering one past the size
 * forgets the oldest without allocating.
 */
export class RecentKeys {
  readonly #size: number;
  readonly #keys = new Set<string>();
  /** The keys in {@link #keys}, oldest at `#oldest`. */
  readonly #ring: string[] = [];
  #oldest = 0;

  constructor(size: number) {
    this.#size = size;
  }

  has(key: string): boolean {
    return this.#keys.has(key);
  }

  remember(key: string): void {
    this.#keys.add(key);
    const ring = this.#ring;
    if (ring.length < this.#size) return void ring.push(key);
    this.#keys.delete(ring[this.#oldest]!);
    ring[this.#oldest] = key;
    this.#oldest = (this.#oldest + 1) % ring.length;
  }

  /** Forgets a key, so the same log is delivered again when it comes back. */
  forget(key: string): void {
    if (!this.#keys.delete(key)) return;
    const ring = this.#ring;
    const at = ring.indexOf(key);
    if (at < 0) return;
    // Keep the ring's order, oldest first from index 0 (a rare path): the ring is no longer full,
    // so the next key remembered goes at its end, as the newest.
    const ordered = [...ring.slice(this.#oldest), ...ring.slice(0, this.#oldest)];
    ordered.splice(ordered.indexOf(key), 1);
    ring.splice(0, ring.length, ...ordered);
    this.#oldest = 0;
  }
}
