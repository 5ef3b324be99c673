import type { Clock } from '../../Clock.js';

/** How long a request in flight on a real socket that a message too big closed stays a suspect. */
export const SUSPECT_MS = 60_000;
/**
 * Suspects kept at most, and their requests' characters in all (a larger crowd in flight on the
 * socket is kept up to these; the rest is sent again on the shared socket, as before the lane).
 */
const SUSPECTS_KEPT = 4_096;
const SUSPECT_CHARS_KEPT = 4 * 1024 * 1024;
/** Requests looked up between two looks for suspects past their time (the clock is not read per call). */
const SWEEP_EVERY = 1_024;

/**
 * The requests (their text after the id) that were in flight on a real socket a message too big for
 * it closed, each for {@link SUSPECT_MS} from the last such close: one set for all of a transport's
 * endpoints, since the session that sends one again may have moved to another node. A suspect
 * stays one however often it is sent meanwhile: a session whose socket closed while its call waited
 * on a socket of its own sends it again, and that one must not go back among the others' calls;
 * nor must the same oversized request sent again by a client.
 */
export class TooBigSuspects {
  readonly #clock: Clock;
  /** Each suspect's request, and until when it is one. */
  readonly #until = new Map<string, number>();
  /** The characters of the requests kept. */
  #chars = 0;
  #looks = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  get size(): number {
    return this.#until.size;
  }

  add(rests: Iterable<string>): void {
    const until = this.#clock.now() + SUSPECT_MS;
    for (const rest of rests) {
      if (!this.#until.has(rest)) {
        if (!this.#fits(rest)) this.#sweep();
        if (!this.#fits(rest)) continue;
        this.#chars += rest.length;
      }
      this.#until.set(rest, until);
    }
  }

  /** Whether `rest` is a suspect's request. */
  has(rest: string): boolean {
    const until = this.#until.get(rest);
    if (until === undefined) {
      if (++this.#looks % SWEEP_EVERY === 0) this.#sweep();
      return false;
    }
    if (until > this.#clock.now()) return true;
    this.#sweep();
    return false;
  }

  #fits(rest: string): boolean {
    return this.#until.size < SUSPECTS_KEPT && this.#chars + rest.length <= SUSPECT_CHARS_KEPT;
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const [rest, until] of this.#until) {
      if (until > now) continue;
      this.#until.delete(rest);
      this.#chars -= rest.length;
    }
  }
}
