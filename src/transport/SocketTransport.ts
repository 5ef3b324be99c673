/** Where to connect a socket, resolved fresh before every connect so credentials can rotate. */
export interface SocketEndpoint {
  url: string;
  headers?: Record<string, string>;
  protocols?: string[];
}

/** How a socket ended. `httpStatus` is set when the server refused the WebSocket upgrade. */
export interface SocketCloseInfo {
  code: number;
  reason: string;
  httpStatus?: number;
  /** The refusal's `Retry-After` header, as sent, when it had one (a 429 or 503 naming its wait). */
  retryAfter?: string;
  /**
   * The socket failed because a message from the node was larger than the transport takes
   * (`WsSocketTransport`'s `maxPayload`): the session then sends each call that was on it again on
   * a socket of its own (SendOptions.isolate), and gives up on one whose answer failed that too.
   */
  messageTooBig?: boolean;
  /**
   * With `messageTooBig`, when the transport knows which of the session's requests were on the
   * socket that failed (by the ids the session sent them under): only their answers can have been
   * the one too big. A SharedSocketTransport says so, as calls it sent on a socket of their own
   * (IsolationLane) were not on it. Absent: every call the socket owed was.
   */
  tooBigSuspects?: readonly number[];
}

/**
 * What a socket reports. The transport calls these; it never decides anything. After `onClose`
 * no other callback is made.
 */
export interface SocketListener {
  onOpen(): void;
  /**
   * A text frame. `bytes`, when the transport has them, are the UTF-8 bytes `text` was decoded
   * from, valid only during the call: the frame check reads them instead of encoding `text` again.
   */
  onMessage(text: string, bytes?: Uint8Array): void;
  onClose(info: SocketCloseInfo): void;
  onError(error: Error): void;
  /** A pong arrived for {@link UpstreamSocket.ping}. */
  onPong?(): void;
}

/** What a session says of a request it sends (a transport may ignore it). */
export interface SendOptions {
  /**
   * Its answer may be too large for a socket: it was in flight on one that a message too big
   * closed (`SocketCloseInfo.messageTooBig`), and is sent again, to go where no other call's answer
   * is in flight (SharedSocketTransport: on a socket of its own, see IsolationLane). Sent only to
   * a transport that says it does so ({@link SocketTransport.isolates}), or is multiplexed: for
   * any other, the session opens such a socket itself.
   */
  isolate?: boolean;
  /**
   * How long the sender waits for the answer (a session's `requestTimeoutMs`): a transport that
   * holds a socket for the request alone may let it go after that.
   */
  timeoutMs?: number;
}

/** One open (or opening) socket. */
export interface UpstreamSocket {
  send(text: string, options?: SendOptions): void;
  /** Starts the closing handshake; `onClose` follows. Safe to call more than once. */
  close(code?: number, reason?: string): void;
  /** Tears the socket down at once, without a handshake; `onClose` follows. */
  terminate(): void;
  /** Sends a protocol-level ping, if the transport can. */
  ping?(): void;
  /** Bytes accepted by `send` but not yet written, when the transport knows. */
  readonly bufferedAmount?: number;
}

/** Opens sockets. Holds no policy: reconnection, keepalive and timeouts belong to the caller. */
export interface SocketTransport {
  open(endpoint: SocketEndpoint, listener: SocketListener): UpstreamSocket;
  /**
   * True when opens share connections (see `SharedSocketTransport`): an open is not a connect,
   * so sessions do not pace opens per node; the transport paces its own connects.
   */
  readonly multiplexed?: boolean;
  /**
   * True when every frame its sockets deliver is exactly one JSON value, because the transport has
   * checked (or written) it itself, as `SharedSocketTransport` does: sessions then do not check
   * each frame again before passing its text on to their client.
   */
  readonly framesChecked?: boolean;
  /**
   * True when its sockets send a request with `isolate` (SendOptions) on a socket where nothing
   * else is in flight, and answer it FRAME_TOO_LARGE when its answer fails that one too, as
   * `SharedSocketTransport` does. A session opens a socket of its own for such requests otherwise,
   * unless the transport is {@link multiplexed} (it is sent `isolate` then, as it is the one that
   * can): a transport that wraps another says what the one it wraps says.
   */
  readonly isolates?: boolean;
  /**
   * True when its sockets hand frames over only from the network's own callbacks (the frames of a
   * read one after another, in a task of their own), never from within a call of the session's,
   * as `WsSocketTransport` does. A session then passes on the messages a read's frames cause
   * together, at the end of that task (or before anything else it emits): its work on the frames
   * and its client's on the messages each run warm, not taking turns (see `npm run bench`). For
   * any other transport, a frame's messages are emitted while it is handled. A transport that
   * wraps another may say what the one it wraps says, if it hands frames over as that one does.
   */
  readonly readsInTasks?: boolean;
}

/** The standard close codes steadyrpc treats specially. */
export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  UNSUPPORTED_DATA: 1003,
  ABNORMAL: 1006,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  SERVICE_RESTART: 1012,
  TRY_AGAIN_LATER: 1013,
  UNAUTHORIZED: 4401,
});

/**
 * Whether a close means "you are not welcome", so retrying the same node in a loop is pointless:
 * close codes 4401, 1008 and 1003, or an upgrade refused with HTTP 401/403.
 */
export function isAuthOrPolicyClose(info: SocketCloseInfo): boolean {
  return (
    info.code === CloseCode.UNAUTHORIZED ||
    info.code === CloseCode.POLICY_VIOLATION ||
    info.code === CloseCode.UNSUPPORTED_DATA ||
    info.httpStatus === 401 ||
    info.httpStatus === 403
  );
}
