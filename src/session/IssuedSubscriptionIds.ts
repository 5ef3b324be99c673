import type { Random } from '../random.js';

/** How many recent subscription ids a session refuses to hand out again. */
const ISSUED_IDS_REMEMBERED = 4_096;

/**
 * The subscription ids a session gave its client, most recent last; none is given again. Bounded:
 * a late unsubscribe of an id thousands of subscriptions old is not worth unbounded memory.
 */
export class IssuedSubscriptionIds {
  readonly #issued = new Set<string>();
  readonly #random: Random;

  constructor(random: Random) {
    this.#random = random;
  }

  /**
   * The upstream's id, unless it was handed out before (a new node may reuse an old number) or
   * `taken` says it is in use: a late or repeated unsubscribe of an old id must never hit a newer
   * subscription.
   */
  fresh(upstreamId: string, taken: (id: string) => boolean): string {
    let id = upstreamId;
    // The attempt is mixed in: an injected `random` that repeats itself must not loop for ever.
    for (let attempt = 1; this.#issued.has(id) || taken(id); attempt++) {
      id = `0x${Array.from({ length: 4 }, (_, i) => ((Math.floor(this.#random() * 2 ** 32) + (i === 3 ? attempt : 0)) >>> 0).toString(16).padStart(8, '0')).join('')}`;
    }
    this.#issued.add(id);
    if (this.#issued.size > ISSUED_IDS_REMEMBERED) this.#issued.delete(this.#issued.values().next().value!);
    return id;
  }
}
