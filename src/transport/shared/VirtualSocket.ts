import { SteadyRpcError } from '../../errors.js';
import type { SendOptions, SocketCloseInfo, SocketEndpoint, SocketListener, UpstreamSocket } from '../SocketTransport.js';
import { CloseCode } from '../SocketTransport.js';
import type { SharedConnection } from './SharedConnection.js';

/**
 * What a session holds from a `SharedSocketTransport`: a socket of its own in every respect
 * but the connection under it. It keeps its own state (so a session sees `open` once, `close` once,
 * and nothing after it left), and the two sets the connection needs to forget it when it leaves:
 * its subscription ids and its calls in flight. Frames go to the {@link SharedConnection}, which
 * re-addresses them; what comes back is handed to the session's listener.
 */
export class VirtualSocket implements UpstreamSocket {
  /** The subscription ids this socket was given and has not given back. */
  readonly subscriptions = new Set<string>();
  /** Ids (on the real socket) of its calls not yet answered. */
  readonly calls = new Set<number>();
  /**
   * Where it was opened to, with the session's credentials of the moment: what a fresh real socket
   * is connected with when the one it waited to join did not answer.
   */
  readonly endpoint: SocketEndpoint;
  /** When it was put on the connection it is on. */
  joinedAt = 0;
  readonly #listener: SocketListener;
  #connection: SharedConnection | undefined;
  #state: 'connecting' | 'open' | 'closed' = 'connecting';

  constructor(endpoint: SocketEndpoint, listener: SocketListener) {
    this.endpoint = endpoint;
    this.#listener = listener;
  }

  get isOpen(): boolean {
    return this.#state === 'open';
  }

  /** What the real socket under it has not written yet (every session on it shares the figure). */
  get bufferedAmount(): number {
    return this.#connection?.bufferedAmount ?? 0;
  }

  send(text: string, options?: SendOptions): void {
    if (this.#state !== 'open') throw new SteadyRpcError('ERR_TRANSPORT', 'Cannot send: socket is not open');
    this.#connection!.send(this, text, options);
  }

  close(code?: number, reason?: string): void {
    this.#leave({ code: code ?? 1005, reason: reason ?? '' }, false);
  }

  terminate(): void {
    this.#leave({ code: CloseCode.ABNORMAL, reason: '' }, true);
  }

  /** Put on `connection` at `now` (again, when the one it waited on did not answer). */
  attach(connection: SharedConnection, now: number): void {
    this.#connection = connection;
    this.joinedAt = now;
  }

  opened(): void {
    if (this.#state !== 'connecting') return;
    this.#state = 'open';
    this.#listener.onOpen();
  }

  deliver(text: string): void {
    if (this.#state === 'open') this.#listener.onMessage(text);
  }

  error(error: Error): void {
    if (this.#state !== 'closed') this.#listener.onError(error);
  }

  /** The real socket closed. */
  closed(info: SocketCloseInfo): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#listener.onClose(info);
  }

  /**
   * Closed by the transport, as a node closes a socket: it leaves its connection, and its session
   * hears the close after the call (a call of its that went on a socket of its own was lost there).
   */
  drop(info: SocketCloseInfo): void {
    this.#leave(info, false);
  }

  /**
   * Never opened: a recent connect to this endpoint failed, or the connection closed under it. Not
   * as too big, though that one was: none of this socket's calls was on it.
   */
  fail(info: SocketCloseInfo): void {
    const { messageTooBig: _tooBig, tooBigSuspects: _suspects, ...closed } = info;
    queueMicrotask(() => this.closed(closed));
  }

  #leave(info: SocketCloseInfo, terminated: boolean): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    try {
      this.#connection?.leave(this, terminated);
    } finally {
      // As with a real socket, onClose follows the call, never inside it.
      queueMicrotask(() => this.#listener.onClose(info));
    }
  }
}
