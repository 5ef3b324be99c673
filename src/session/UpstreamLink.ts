import { ExponentialBackoff } from '../backoff/ExponentialBackoff.js';
import type { Clock, TimerHandle } from '../Clock.js';
import type { SocketEndpoint, UpstreamSocket } from '../transport/SocketTransport.js';
import type { PendingCall } from './PendingCall.js';

/**
 * - `connecting`: the socket is opening;
 * - `replaying`: open, the session's subscriptions are being replayed on it;
 * - `active`: the one socket client traffic and notifications flow through;
 * - `draining`: left for a better one; only delivers the answers it still owes;
 * - `dead`: closed; nothing from it is looked at again.
 */
/** The first step of every link's replay-retry backoff (immutable: `next()` makes a new one). */
const REPLAY_BACKOFF = new ExponentialBackoff({ initialDelayMs: 500, maxDelayMs: 10_000 });

export type LinkPhase = 'connecting' | 'replaying' | 'active' | 'draining' | 'dead';

/**
 * One upstream socket as the session sees it: the node, the calls in flight on it, the
 * subscriptions replayed on it, and its timers. A session has at most one active link, at most one
 * link being prepared, and any number of draining ones; events from any other link are ignored.
 */
export class UpstreamLink {
  readonly node: string;
  readonly generation: number;
  phase: LinkPhase = 'connecting';
  socket: UpstreamSocket | undefined;
  /** Where its socket connected (resolved for it). */
  endpoint: SocketEndpoint | undefined;
  /** When its socket opened. */
  openedAt: number | undefined;
  /** When it became active. */
  activatedAt: number | undefined;
  /** Its close said a message too big failed it, and which of its calls were on it (`SocketCloseInfo.tooBigSuspects`). */
  tooBigSuspects: ReadonlySet<number> | undefined;
  /** When a frame last arrived on it. */
  lastSeenAt = 0;
  /** Client calls in flight, by upstream id, in the order they were sent. */
  readonly calls = new Map<number, PendingCall>();
  /**
   * Client subscription id → upstream id on this socket, filled by replays before activation.
   * Made by the first replay (as is the next): a socket that replays nothing keeps neither.
   */
  replayed: Map<string, string> | undefined;
  /** Client subscription ids whose replay is in flight on this socket. */
  replaying: Set<string> | undefined;
  /**
   * Ids of `eth_subscribe` calls on this socket given up on (timed out): a late answer's
   * subscription is unsubscribed, as nobody holds it. Created on the first: a session keeps many
   * links over its life, most of which never need it.
   */
  abandonedSubscribes: Set<number> | undefined;
  /** Replays that failed and are being retried on this socket (created on the first). */
  replayRetries: Map<string, TimerHandle> | undefined;
  /** Spaces out retries of failed replays on this socket. */
  replayBackoff = REPLAY_BACKOFF;
  keepaliveInFlight = false;
  /**
   * The node's head as this socket last told it: its answer when asked (`eth_blockNumber`), which
   * may be lower than before (a node rewound: a geth after an unclean shutdown, a snapshot
   * restore), raised by any higher head it showed since (notifications, blocks delivered).
   */
  head: number | undefined;
  /** When {@link head} was last told (the session's clock), to tell it from a probe's older or newer word. */
  headAt: number | undefined;
  readonly #clock: Clock;
  readonly #timers = new Map<string, TimerHandle>();

  constructor(node: string, generation: number, clock: Clock) {
    this.node = node;
    this.generation = generation;
    this.#clock = clock;
  }

  get alive(): boolean {
    return this.phase !== 'dead';
  }

  /** Sets the named timer, replacing one of the same name. */
  setTimer(name: 'connect' | 'keepalive' | 'drain' | 'calls', ms: number, callback: () => void): void {
    this.clearTimer(name);
    this.#timers.set(
      name,
      this.#clock.setTimeout(() => {
        this.#timers.delete(name);
        callback();
      }, ms),
    );
  }

  clearTimer(name: 'connect' | 'keepalive' | 'drain' | 'calls'): void {
    const timer = this.#timers.get(name);
    if (timer === undefined) return;
    this.#clock.clearTimeout(timer);
    this.#timers.delete(name);
  }

  hasTimer(name: 'connect' | 'keepalive' | 'drain' | 'calls'): boolean {
    return this.#timers.has(name);
  }

  /** Marks it dead, clears every timer and closes the socket. Idempotent. */
  kill(code = 1000, reason = 'steadyrpc: done with this upstream', terminate = false): void {
    if (this.phase === 'dead') return;
    this.phase = 'dead';
    for (const timer of this.#timers.values()) this.#clock.clearTimeout(timer);
    this.#timers.clear();
    for (const timer of this.replayRetries?.values() ?? []) this.#clock.clearTimeout(timer);
    this.replayRetries = undefined;
    const socket = this.socket;
    if (!socket) return;
    if (terminate) socket.terminate();
    else socket.close(code, reason);
  }
}
