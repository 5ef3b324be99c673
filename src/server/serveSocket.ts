import type { RawData, WebSocket } from 'ws';
import type { Clock, TimerHandle } from '../Clock.js';
import { systemClock } from '../Clock.js';
import { SteadyRpcError, isSteadyRpcError } from '../errors.js';
import type { UpstreamSession } from '../session/UpstreamSession.js';
import { CloseCode } from '../transport/SocketTransport.js';
import type { ServeSocketOptions, ServedSocket, ServedSocketClose, ServedSocketCloseCause } from './ServedSocket.js';
import { SERVE_SOCKET_DEFAULTS } from './ServedSocket.js';
import { definedOnly } from './definedOnly.js';

export type { ServeSocketOptions, ServedSocket, ServedSocketClose, ServedSocketCloseCause } from './ServedSocket.js';
export { SERVE_SOCKET_DEFAULTS } from './ServedSocket.js';

/** While draining, how often the session's counters are re-checked besides its events, in ms. */
const DRAIN_POLL_MS = 100;

type Phase = 'open' | 'draining' | 'closing' | 'closed';

const OPEN = 1;
const CLOSED = 3;
const SLOW_READER = 'steadyrpc: slow reader';

/**
 * Serves one client WebSocket (the server side of a `ws` connection) with an `UpstreamSession`:
 * frames both ways, a bound on what is queued for the client, pings, close codes and cleanup both
 * ways. The wiring every host needs, so none re-writes it: see docs/guides/proxy.md.
 *
 * ```ts
 * wss.on('connection', (ws) => {
 *   const served = serveSocket(ws, new UpstreamSession({ pool }));
 *   metrics.trackServedSocket(served);
 * });
 * ```
 *
 * Imports nothing from `ws` at run time; any object with ws's `WebSocket` API will do.
 */
export function serveSocket(socket: WebSocket, session: UpstreamSession, options: ServeSocketOptions = {}): ServedSocket {
  return new SocketServer(socket, session, options);
}

class SocketServer implements ServedSocket {
  readonly session: UpstreamSession;
  readonly closed: Promise<ServedSocketClose>;
  readonly #socket: WebSocket;
  readonly #clock: Clock;
  readonly #maxBuffered: number;
  readonly #pingIntervalMs: number;
  readonly #graceMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #decoder = new TextDecoder();
  #phase: Phase = 'open';
  #cause: ServedSocketCloseCause | undefined;
  #terminated = false;
  #alive = true;
  readonly #openedAt: number;
  #pingTimer: TimerHandle | undefined;
  #graceTimer: TimerHandle | undefined;
  #drainTimer: TimerHandle | undefined;
  #drainPoll: TimerHandle | undefined;
  #drainCheckQueued = false;
  #sessionClosedAs: [code: number, reason: string, cause: ServedSocketCloseCause] = [CloseCode.GOING_AWAY, 'steadyrpc: session closed', 'session-closed'];
  #resolveClosed!: (info: ServedSocketClose) => void;

  constructor(socket: WebSocket, session: UpstreamSession, options: ServeSocketOptions) {
    const { maxBufferedBytes, pingIntervalMs, closeGraceMs } = { ...SERVE_SOCKET_DEFAULTS, ...definedOnly(options) };
    positive('maxBufferedBytes', maxBufferedBytes);
    positive('pingIntervalMs', pingIntervalMs);
    positive('closeGraceMs', closeGraceMs);
    this.#socket = socket;
    this.session = session;
    this.#clock = options.clock ?? systemClock;
    this.#openedAt = this.#clock.now();
    this.#maxBuffered = maxBufferedBytes;
    this.#pingIntervalMs = pingIntervalMs;
    this.#graceMs = closeGraceMs;
    this.#onError = options.onError ?? (() => {});
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));

    socket.on('message', this.#onClientFrame);
    socket.on('pong', this.#onSignOfLife);
    socket.on('ping', this.#onSignOfLife);
    socket.on('error', this.#onSocketError);
    socket.on('close', this.#onSocketClose);
    session.on('message', this.#onSessionMessage);
    session.on('closed', this.#onSessionClosed);
    if (socket.readyState === CLOSED) this.#onSocketClose(CloseCode.ABNORMAL);
    else if (session.state === 'closed') this.#onSessionClosed();
    else this.#pingTimer = this.#clock.setTimeout(this.#ping, this.#pingIntervalMs);
  }

  get bufferedAmount(): number {
    return this.#phase === 'closed' ? 0 : this.#socket.bufferedAmount;
  }

  drain(drainMs: number): Promise<void> {
    if (!Number.isFinite(drainMs) || drainMs < 0) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected drainMs to be a finite number >= 0, got ${String(drainMs)}`);
    }
    const done = this.closed.then(() => undefined);
    if (this.#phase !== 'open') return done;
    this.#phase = 'draining';
    this.#pingTimer = this.#clear(this.#pingTimer);
    this.#socket.pause?.();
    this.session.on('queue', this.#queueDrainCheck);
    this.#drainTimer = this.#clock.setTimeout(() => this.#finishDrain('drain-deadline'), drainMs);
    this.#checkDrained();
    return done;
  }

  close(code: number = CloseCode.GOING_AWAY, reason = 'steadyrpc: going away'): void {
    if (!isValidCloseCode(code)) throw new SteadyRpcError('ERR_CONFIG', `Expected a close code 1000-1003, 1007-1014 or 3000-4999, got ${String(code)}`);
    if (new TextEncoder().encode(reason).length > 123) throw new SteadyRpcError('ERR_CONFIG', 'Expected a close reason of at most 123 bytes');
    if (this.#phase === 'open' || this.#phase === 'draining') {
      // Closing the session first answers what it still owes (NOT_RESENT for a write that went
      // out, UPSTREAM_UNAVAILABLE for the rest) on the socket while it is open; its 'closed'
      // event then closes the socket.
      this.#stopDrainWatch();
      this.#sessionClosedAs = [code, reason, 'host'];
      this.session.close();
    }
    this.#closeSocket(code, reason, 'host');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.closed;
  }

  #onClientFrame = (data: RawData): void => {
    this.#alive = true;
    if ((this.#phase !== 'open' && this.#phase !== 'draining') || this.session.state === 'closed') return;
    try {
      this.session.send(this.#text(data));
    } catch (error) {
      if (isSteadyRpcError(error, 'ERR_CLOSED')) return;
      try {
        this.#onError(error);
      } catch {
        // The host's handler failed too: closing the socket is all that is left to do.
      }
      this.#closeSocket(CloseCode.INTERNAL_ERROR, 'steadyrpc: internal error', 'internal-error');
    }
  };

  #onSessionMessage = (text: string): void => {
    if (this.#phase === 'closing' || this.#phase === 'closed' || this.#socket.readyState !== OPEN) return;
    const buffered = this.#socket.bufferedAmount;
    if (buffered > 0 && buffered + text.length > this.#maxBuffered) {
      // Closes the session from inside its own event: it stops what it was doing there, and what
      // it owed is answered (to this closing socket, which takes nothing more).
      this.#closeSocket(CloseCode.TRY_AGAIN_LATER, SLOW_READER, 'slow-reader');
      return;
    }
    this.#socket.send(text);
    if (this.#phase === 'draining') this.#queueDrainCheck();
  };

  #onSessionClosed = (): void => {
    const [code, reason, cause] = this.#sessionClosedAs;
    this.#closeSocket(code, reason, cause);
  };

  #onSignOfLife = (): void => {
    this.#alive = true;
  };

  #onSocketError = (): void => {
    // ws closes the socket itself after an error (with 1002/1007/1009 for a protocol error);
    // make sure it goes even if the client never completes that close.
    this.#cause ??= 'error';
    this.#startClosing();
  };

  #onSocketClose = (code: number): void => {
    if (this.#phase === 'closed') return;
    this.#phase = 'closed';
    this.#cause ??= 'client';
    this.#pingTimer = this.#clear(this.#pingTimer);
    this.#graceTimer = this.#clear(this.#graceTimer);
    this.#stopDrainWatch();
    const socket = this.#socket;
    socket.off('message', this.#onClientFrame);
    socket.off('pong', this.#onSignOfLife);
    socket.off('ping', this.#onSignOfLife);
    socket.off('error', this.#onSocketError);
    socket.off('close', this.#onSocketClose);
    this.session.off('message', this.#onSessionMessage);
    this.session.off('closed', this.#onSessionClosed);
    this.session.close();
    this.#resolveClosed(Object.freeze({ cause: this.#cause, code, terminated: this.#terminated, openMs: this.#clock.now() - this.#openedAt }));
  };

  #ping = (): void => {
    this.#pingTimer = undefined;
    if (this.#phase !== 'open') return;
    if (!this.#alive) {
      this.#cause ??= 'ping-timeout';
      this.#terminate();
      return;
    }
    this.#alive = false;
    this.#socket.ping();
    this.#pingTimer = this.#clock.setTimeout(this.#ping, this.#pingIntervalMs);
  };

  #queueDrainCheck = (): void => {
    if (this.#drainCheckQueued) return;
    this.#drainCheckQueued = true;
    // After the session has finished the work that emitted the event (an answer is counted out
    // of `inFlight` around its emit), and outside its call stack.
    queueMicrotask(() => {
      this.#drainCheckQueued = false;
      this.#checkDrained();
    });
  };

  #checkDrained = (): void => {
    this.#drainPoll = this.#clear(this.#drainPoll);
    if (this.#phase !== 'draining') return;
    // Every call the client is owed, reads held for a node to catch up with its view included.
    if (this.session.stats().owed === 0) return this.#finishDrain('drained');
    this.#drainPoll = this.#clock.setTimeout(this.#checkDrained, DRAIN_POLL_MS);
  };

  #finishDrain(cause: 'drained' | 'drain-deadline'): void {
    if (this.#phase !== 'draining') return;
    this.#stopDrainWatch();
    const reason = 'steadyrpc: service restart';
    // Closing the session answers what is still owed (forwarded while still draining); its
    // 'closed' event then closes the socket with 1012.
    this.#sessionClosedAs = [CloseCode.SERVICE_RESTART, reason, cause];
    this.session.close();
    this.#closeSocket(CloseCode.SERVICE_RESTART, reason, cause);
  }

  #stopDrainWatch(): void {
    this.#drainTimer = this.#clear(this.#drainTimer);
    this.#drainPoll = this.#clear(this.#drainPoll);
    this.session.off('queue', this.#queueDrainCheck);
  }

  /** Sends a close frame, gives the client `closeGraceMs` to answer it, and closes the session. */
  #closeSocket(code: number, reason: string, cause: ServedSocketCloseCause): void {
    if (this.#phase === 'closing' || this.#phase === 'closed') return;
    this.#cause ??= cause;
    const wasDraining = this.#phase === 'draining';
    this.#startClosing();
    // Reading again lets the client's close frame in, so the handshake can complete.
    if (wasDraining) this.#socket.resume?.();
    this.#socket.close(code, reason);
  }

  #startClosing(): void {
    if (this.#phase === 'closing' || this.#phase === 'closed') return;
    this.#phase = 'closing';
    this.#pingTimer = this.#clear(this.#pingTimer);
    this.#stopDrainWatch();
    this.#graceTimer = this.#clock.setTimeout(() => {
      this.#graceTimer = undefined;
      this.#terminate();
    }, this.#graceMs);
    this.session.close();
  }

  #terminate(): void {
    if (this.#phase === 'closed') return;
    this.#phase = 'closing';
    this.#terminated = true;
    this.#graceTimer = this.#clear(this.#graceTimer);
    this.#socket.terminate();
  }

  #clear(timer: TimerHandle | undefined): undefined {
    if (timer !== undefined) this.#clock.clearTimeout(timer);
    return undefined;
  }

  #text(data: RawData): string {
    if (typeof data === 'string') return data;
    if (!Array.isArray(data)) return this.#decoder.decode(data);
    let text = '';
    for (const chunk of data) text += this.#decoder.decode(chunk, { stream: true });
    return text + this.#decoder.decode();
  }
}

function positive(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected ${name} to be a finite number > 0, got ${String(value)}`);
  }
}

/** The codes an endpoint may send in a close frame (RFC 6455 §7.4, as ws checks them). */
function isValidCloseCode(code: number): boolean {
  return Number.isInteger(code) && ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999));
}
