import type { Clock, TimerHandle } from '../../Clock.js';
import { FirstError } from '../../FirstError.js';
import type { VirtualSocket } from './VirtualSocket.js';

/**
 * What the transport does without the node is done only once the node has been heard after it was
 * asked for, as a session's own socket would need the node: a user joining an open real socket is
 * let on once the node has been heard after the join (the socket may have died without a close
 * just before: a network change); a subscribe served from an upstream subscription the socket has,
 * and an unsubscribe, are answered at once when the node was heard within this long, else once it
 * is heard. On a busy socket the next frame does it, at no cost; when none has come for this long,
 * the node is asked (one `eth_chainId`, for everything waiting on it: the probe).
 */
export const QUIET_MS = 100;

/**
 * When the node has not answered the probe within this long, the socket takes no new users: those
 * waiting to join are given a fresh real socket (a connect of their own, as each would get on a
 * socket of its own, still bounded by the session's `connectTimeoutMs`). The sessions already on
 * it stay until their own keepalive finds it dead (then it is taken down for all of them, see
 * `SILENT_MS` in `SharedConnection.ts`) or they leave; the answers waiting for the node wait on.
 */
export const PROBE_TIMEOUT_MS = 1_000;

/** What the liveness gate of one real socket is built with. */
export interface LivenessGateOptions {
  readonly clock: Clock;
  /** Whether the real socket is open: the node is asked only then. */
  readonly isOpen: () => boolean;
  /** Sends the probe (one `eth_chainId`); throws, as the socket does, when it cannot take it. */
  readonly probe: () => void;
  /**
   * The node did not answer the probe (or it could not be sent): the socket is to take no new
   * users, and `joining` (those that waited to join it, maybe none) are to go on a fresh one.
   */
  readonly unanswered: (joining: VirtualSocket[]) => void;
}

/**
 * Who waits for the node to be heard on one real socket (see {@link QUIET_MS}): the users joining
 * it while it is open, and the answers given on the node's behalf. It owns when the node was last
 * heard and the probe (asked once the socket has been quiet, given up on after
 * {@link PROBE_TIMEOUT_MS}); what a frame from the node is, and what becomes of a socket that does
 * not answer, belong to the connection.
 */
export class LivenessGate {
  readonly #clock: Clock;
  readonly #isOpen: () => boolean;
  readonly #sendProbe: () => void;
  readonly #unanswered: (joining: VirtualSocket[]) => void;
  /** When the real socket last carried a frame from the node. */
  #heardAt = -Infinity;
  /** Users that joined the open socket and wait for the node to be heard from (see {@link QUIET_MS}). */
  readonly #joining = new Set<VirtualSocket>();
  /** Answers given on the node's behalf, by user, waiting for it to be heard from (made with the first). */
  #vouched: Map<VirtualSocket, Array<() => void>> | undefined;
  /** Before the probe, the wait for a frame; once it is sent, its deadline. */
  #probeTimer: TimerHandle | undefined;

  constructor({ clock, isOpen, probe, unanswered }: LivenessGateOptions) {
    this.#clock = clock;
    this.#isOpen = isOpen;
    this.#sendProbe = probe;
    this.#unanswered = unanswered;
  }

  /** When the node was last heard on the real socket (its open counts). */
  get heardAt(): number {
    return this.#heardAt;
  }

  /** The node was heard at `now` (the socket opened, or carried a frame); {@link release} lets on what waits. */
  heard(now: number): void {
    this.#heardAt = now;
  }

  /**
   * A user on the open socket, let on ({@link VirtualSocket.opened}) once the node has been heard
   * after now: the next frame, or the answer to a probe.
   */
  join(user: VirtualSocket): void {
    this.#joining.add(user);
    this.#expectNode();
  }

  /**
   * An answer on the node's behalf to `user` (never inside its send()): now when the node was
   * heard within {@link QUIET_MS}, else once it is heard again.
   */
  vouch(user: VirtualSocket, answer: () => void): void {
    if (this.#clock.now() - this.#heardAt < QUIET_MS) return queueMicrotask(answer);
    const vouched = (this.#vouched ??= new Map());
    const answers = vouched.get(user);
    if (answers) answers.push(answer);
    else vouched.set(user, [answer]);
    this.#expectNode();
  }

  /** The node was heard: the users waiting to join are open, the answers given on its behalf go out. */
  release(): void {
    if (!this.#waitsForNode()) return;
    this.#stopProbe();
    const joining = [...this.#joining];
    this.#joining.clear();
    const vouched = this.#vouched;
    this.#vouched = undefined;
    // Each goes on though a listener throws (the first error is thrown after).
    const errors = new FirstError();
    for (const user of joining) errors.run(() => user.opened());
    for (const answers of vouched?.values() ?? []) for (const answer of answers) errors.run(answer);
    errors.rethrow();
  }

  /** `user` left: it waits for nothing here any more, and the probe stops when nothing else does. */
  leave(user: VirtualSocket): void {
    this.#joining.delete(user);
    this.#vouched?.delete(user);
    if (!this.#waitsForNode()) this.#stopProbe();
  }

  /** `user` is placed on another socket: it no longer waits to join this one (the probe is left as it is). */
  withdraw(user: VirtualSocket): void {
    this.#joining.delete(user);
  }

  /** The real socket is gone: nothing waits for the node on it any more. */
  clear(): void {
    this.#stopProbe();
    this.#joining.clear();
    this.#vouched = undefined;
  }

  #waitsForNode(): boolean {
    return this.#joining.size > 0 || (this.#vouched !== undefined && this.#vouched.size > 0);
  }

  /**
   * Something waits for the node to be heard: the probe goes out once it has been quiet for
   * {@link QUIET_MS} (at once if it has), unless one is due or on its way already.
   */
  #expectNode(): void {
    if (this.#probeTimer !== undefined || !this.#isOpen()) return;
    const quiet = this.#clock.now() - this.#heardAt;
    if (quiet >= QUIET_MS) return this.#probe();
    this.#probeTimer = this.#clock.setTimeout(() => {
      this.#probeTimer = undefined;
      this.#probe();
    }, QUIET_MS - quiet);
  }

  /** Asks the node whether it is there; gives up on it after {@link PROBE_TIMEOUT_MS}. */
  #probe(): void {
    if (!this.#waitsForNode() || !this.#isOpen()) return;
    try {
      this.#sendProbe();
    } catch {
      return this.#giveUp(); // the socket is closing: no place to join
    }
    this.#probeTimer = this.#clock.setTimeout(() => {
      this.#probeTimer = undefined;
      this.#giveUp();
    }, PROBE_TIMEOUT_MS);
  }

  #stopProbe(): void {
    if (this.#probeTimer === undefined) return;
    this.#clock.clearTimeout(this.#probeTimer);
    this.#probeTimer = undefined;
  }

  /** The node did not answer the probe: those waiting to join go elsewhere (see {@link PROBE_TIMEOUT_MS}). */
  #giveUp(): void {
    this.#stopProbe();
    if (!this.#waitsForNode()) return;
    const joining = [...this.#joining];
    this.#joining.clear();
    this.#unanswered(joining);
  }
}
