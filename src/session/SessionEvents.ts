import type { SteadyRpcError } from '../errors.js';
import type { BackfillEvent, ReorgEvent } from './ContinuityKeeper.js';
import type { SessionState } from './SessionState.js';

/**
 * Why the session moved to another upstream:
 * - `connect`: the first upstream;
 * - `failover`: the upstream in use died (closed, errored, missed its keepalive, refused us);
 * - `failback`: back to the preferred node after it recovered (make-before-break);
 * - `unhealthy`: the pool marked the node in use unhealthy (make-before-break);
 * - `better-available`: the pool prefers another node (make-before-break);
 * - `forced`: the host called `reconnect()`;
 * - `online`: the device came back online (see `environment`): a fresh socket, make-before-break,
 *   as the old one may have died with the old network.
 */
export type SessionSwitchReason = 'connect' | 'failover' | 'failback' | 'unhealthy' | 'better-available' | 'forced' | 'online';

export interface SessionSwitchEvent {
  from: string | undefined;
  to: string;
  reason: SessionSwitchReason;
}

export interface SessionEvents {
  /** A frame for the client: an answer, a batch of answers, or a subscription notification. */
  message: [text: string];
  state: [event: { from: SessionState; to: SessionState }];
  /** Client traffic now flows to `to`; subscriptions are replayed there. */
  switch: [event: SessionSwitchEvent];
  /** Every node failed this round; the next round starts after `delayMs`. */
  reconnecting: [event: { attempt: number; delayMs: number }];
  /**
   * The environment said the device went offline (`online: false`: reconnect attempts wait for the
   * network, without backoff) or online (`true`: the backoff starts over, the session reconnects at once).
   */
  network: [event: { online: boolean }];
  /** One subscription replay on a new upstream finished (`ok`) or failed (retried, never forwarded). */
  replay: [event: { subscription: string; node: string; ok: boolean; error?: SteadyRpcError }];
  /**
   * The queue of client messages waiting for an upstream changed, or refused one because it was
   * full (`stats().queueOverflows` counts those).
   */
  queue: [event: { depth: number; bytes: number }];
  /**
   * An upstream socket the session was using or opening closed (not one the session closed itself);
   * `auth` when the code means the node refused us (not retried in a loop); `openMs`, how long it
   * had been open (absent when it closed before opening).
   */
  upstreamClose: [event: { node: string; code: number; reason: string; httpStatus?: number; auth: boolean; openMs?: number }];
  /** Calls in flight on a socket that went away: `resent` on the next one, `failed` (not safe to repeat). */
  inflight: [event: { node: string; resent: number; failed: number }];
  /**
   * A call that was in flight on a socket an answer too large for it failed (past the transport's
   * `maxPayload`) was sent on a socket with nothing else in flight (`sent`); `too-large`: its
   * answer failed that one too, and it was answered FRAME_TOO_LARGE. Told when the session opens
   * that socket itself: a transport that isolates calls counts them instead
   * (`SharedSocketTransport.stats()`).
   */
  apart: [event: { node: string; method: string; outcome: 'sent' | 'too-large' }];
  /**
   * After a switch, what a `newHeads`/`logs` subscription missed was fetched from the new node
   * (`delivered`), skipped (gap over `maxBackfillBlocks`), or could not be fetched (`error`).
   */
  backfill: [event: BackfillEvent & { node: string }];
  /**
   * A switch found the new node's chain different from what the client was given (or a live head
   * showed the node in use reorged without saying so: then `from` and `to` are both that node):
   * heads are re-emitted from `ancestor` + 1 and logs above it re-sent with `removed: true`, as one
   * node announces a reorg. `deep`: the fork reaches below what the session keeps.
   */
  reorg: [event: ReorgEvent & { from: string | undefined; to: string }];
  /**
   * A read was answered by a node behind what the client has seen (a lower block number, `null`
   * for a block it was given, state or logs short of its view): it waits for a node that has
   * caught up with block `need` (`held`), and gets `BEHIND` if none has in time (`failed`).
   */
  behind: [event: { node: string; method: string; need: number; outcome: 'held' | 'failed' }];
  /**
   * A client call was refused with `LIMIT_EXCEEDED` because it would take the session past
   * `limit` (whose value is `max`).
   */
  limit: [event: { limit: 'maxInFlight' | 'maxSubscriptions'; max: number; method: string }];
  /** Something went wrong that the session handled (it stays usable): garbage, timeouts, refusals. */
  error: [error: SteadyRpcError];
  closed: [];
}

/** A read-only snapshot of a session's counters and sizes. */
export interface SessionStats {
  readonly state: SessionState;
  readonly node: string | undefined;
  readonly subscriptions: number;
  readonly queued: number;
  readonly queuedBytes: number;
  /** Client calls sent and not yet answered (on a socket, or asked of another node). */
  readonly inFlight: number;
  /**
   * Client calls the session still owes an answer: queued, sent, held until a node has caught up
   * with the client's view, or answered inside a batch not yet complete (what `maxInFlight` caps).
   * 0: nothing is owed (a drain waits for it).
   */
  readonly owed: number;
  /** Answers to the session's own requests (replays, keepalives) kept from the client. */
  readonly swallowed: number;
  /** Rounds in which every node failed and the session backed off. */
  readonly reconnects: number;
  /** Upstreams activated, the first included. */
  readonly switches: number;
  readonly resent: number;
  readonly notResent: number;
  readonly upstreamGarbage: number;
  readonly unknownAnswers: number;
  readonly droppedNotifications: number;
  readonly queueOverflows: number;
  /** Client calls refused with `LIMIT_EXCEEDED` (`maxInFlight`, `maxSubscriptions`). */
  readonly limitRejections: number;
  /** Duplicate heads and logs dropped (continuity). */
  readonly duplicatesSuppressed: number;
  /** Heads and logs fetched after switches and delivered (continuity). */
  readonly backfilled: number;
  /** Switches that found the new node on another branch (announced as reorgs). */
  readonly reorgs: number;
  /** Of those, forks deeper than what the session keeps. */
  readonly deepReorgs: number;
  /** Logs re-sent with `removed: true` because a switch left their branch. */
  readonly retracted: number;
  /** Bytes of delivered logs kept for retraction. */
  readonly retainedBytes: number;
  /** Highest block number the client has been given (its view of the chain). */
  readonly highestBlock: number | undefined;
  /** Reads held because their node was behind the client's view, and how many of them got `BEHIND`. */
  readonly heldBehind: number;
  readonly failedBehind: number;
  /** Reads the session's node said it cannot serve ("header not found" …) that another node answered. */
  readonly answeredElsewhere: number;
}
