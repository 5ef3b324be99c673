/** The options of {@link serveSocket} and the handle it returns (the logic is in serveSocket.ts). */
import type { Clock } from '../Clock.js';
import type { UpstreamSession } from '../session/UpstreamSession.js';
import type { serveSocket } from './serveSocket.js';

export interface ServeSocketOptions {
  /**
   * Bytes queued for the client (`ws.bufferedAmount`: accepted by `send`, not yet taken by the
   * kernel) past which it is closed with `CloseCode.TRY_AGAIN_LATER` (1013), reason
   * `'steadyrpc: slow reader'`, and nothing more is queued for it. A frame is measured by its
   * string length (exact for the ASCII JSON nodes send); a single frame is always sent when nothing
   * is queued, so a big answer to a client that reads does not close it.
   * @default 16 MiB
   */
  maxBufferedBytes?: number;
  /**
   * Ping the client this often, in ms. A client that answered no ping (pong) and sent no frame
   * since the previous ping is terminated: a dead or half-open connection goes within two intervals
   * (40 s with the default). Suspended while draining (the drain deadline bounds it).
   * @default 20_000
   */
  pingIntervalMs?: number;
  /**
   * After sending a close frame, how long the client has to complete the closing handshake before
   * the socket is terminated, in ms. A client that does not read never sees the close frame.
   * @default 5_000
   */
  closeGraceMs?: number;
  /** @default systemClock */
  clock?: Clock;
  /**
   * Called with an unexpected error thrown by `session.send` (a bug: please report it); the socket
   * is then closed with 1011 (INTERNAL_ERROR). Never lets the error reach the event loop.
   * @default ignore
   */
  onError?: (error: unknown) => void;
}

/** The defaults of {@link ServeSocketOptions}. */
export const SERVE_SOCKET_DEFAULTS = Object.freeze({
  maxBufferedBytes: 16 * 1024 * 1024,
  pingIntervalMs: 20_000,
  closeGraceMs: 5_000,
});


/**
 * Why a served socket ended (the first reason that applied):
 * - `client`: the client closed it, or the connection dropped;
 * - `error`: the socket failed, or the client broke the protocol (ws closes with 1002/1007/1009);
 * - `slow-reader`: more than `maxBufferedBytes` queued for it: closed with 1013;
 * - `ping-timeout`: no pong and no frame for a whole ping interval: terminated;
 * - `drained`: `drain()` saw every call answered, then closed with 1012;
 * - `drain-deadline`: `drain()`'s deadline passed first; calls still owed were answered
 *   (NOT_RESENT for a write that went out, UPSTREAM_UNAVAILABLE for the rest), then closed with 1012;
 * - `session-closed`: the host closed the session: closed with 1001;
 * - `internal-error`: `session.send` threw: closed with 1011;
 * - `host`: {@link ServedSocket.close}.
 */
export type ServedSocketCloseCause =
  | 'client'
  | 'error'
  | 'slow-reader'
  | 'ping-timeout'
  | 'drained'
  | 'drain-deadline'
  | 'session-closed'
  | 'internal-error'
  | 'host';

export interface ServedSocketClose {
  readonly cause: ServedSocketCloseCause;
  /** The code the socket reported: the client's echo of ours, its own, or 1006 when cut. */
  readonly code: number;
  /** The socket was torn down without a closing handshake (ping timeout, or grace over). */
  readonly terminated: boolean;
  /** How long the socket was served, in ms by the clock: from `serveSocket` to its close. */
  readonly openMs: number;
}

export interface ServedSocket {
  readonly session: UpstreamSession;
  /** Settles once the socket has closed and every timer and listener is released. Never rejects. */
  readonly closed: Promise<ServedSocketClose>;
  /** Bytes queued for the client now (0 once closed). */
  readonly bufferedAmount: number;
  /**
   * Stops reading new client frames, waits (≤ `drainMs`) until every call the client sent has
   * been answered, then closes with 1012 (SERVICE_RESTART), so the client reconnects elsewhere at
   * once. Calls still owed at the deadline are answered first: NOT_RESENT for a write that went
   * out (the node may have carried it out), UPSTREAM_UNAVAILABLE for the rest. Resolves when
   * closed; a second call joins the first.
   */
  drain(drainMs: number): Promise<void>;
  /**
   * Closes the session, whose calls still owed are answered on the socket first (NOT_RESENT for a
   * write that went out, UPSTREAM_UNAVAILABLE for the rest), then the socket. Idempotent.
   * @default code 1001, reason 'steadyrpc: going away'
   */
  close(code?: number, reason?: string): void;
  /** `close()`, then waits until closed: for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}
