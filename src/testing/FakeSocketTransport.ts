import { SteadyRpcError } from '../errors.js';
import { CloseCode } from '../transport/SocketTransport.js';
import type {
  SendOptions,
  SocketCloseInfo,
  SocketEndpoint,
  SocketListener,
  SocketTransport,
  UpstreamSocket,
} from '../transport/SocketTransport.js';

export type FakeSocketState = 'connecting' | 'open' | 'closing' | 'closed';

/** Plays the server for a new socket: accept it, refuse it, or keep it to drive later. */
export type FakeConnectHandler = (socket: FakeSocket) => void;

/** Sees every frame the client sent, after it is recorded in `socket.sent`. */
export type FakeSendHandler = (text: string, socket: FakeSocket) => void;

export interface FakeSocketTransportOptions {
  /**
   * What the client's `close()` does on an open socket. `'immediate'`: the socket is closed and
   * `onClose` called before `close()` returns. `'manual'`: the socket moves to `'closing'`, where
   * the server can still `receive()` (as during a real closing handshake), until the test calls
   * `finishClose()`, `serverClose()` or `fail()`, or the client calls `terminate()`.
   * @default 'immediate'
   */
  closeHandshake?: 'immediate' | 'manual';
  /**
   * Whether the transport says that its sockets hand frames over in tasks of their own
   * (`SocketTransport.readsInTasks`), as `WsSocketTransport` does. A session then holds the
   * messages the frames it handles cause until the end of the task (a microtask: `await
   * clock.flush()` lets them out) or until it emits anything else: it behaves as it does over `ws`.
   * Off, a session emits them while `receive()` runs, which suits most tests.
   * @default false
   */
  readsInTasks?: boolean;
}

const DEFAULTS = Object.freeze({ closeHandshake: 'immediate' as const, readsInTasks: false });

type Settings = Readonly<Required<FakeSocketTransportOptions>>;

/**
 * One scripted socket: the client side is the {@link UpstreamSocket} contract, the server side is
 * a set of drivers (`accept`, `receive`, `serverClose`, `refuse`, `fail`, `tooBig`, `pong`) that call the
 * listener synchronously. Once closed, drivers do nothing (tests may race them against a close)
 * and the listener is never called again.
 */
export class FakeSocket implements UpstreamSocket {
  readonly endpoint: SocketEndpoint;
  /** Frames the client sent, in order. */
  readonly sent: string[] = [];
  /** The frames of `sent` the session sent with `isolate` (SendOptions): calls it sends again after a message too big. */
  readonly isolated: string[] = [];
  /** What the client passed to `close()`, if it called it while the socket was not yet closing. */
  closedWith: { code?: number; reason?: string } | undefined;
  /** Whether the client called `terminate()` before the socket was closed. */
  terminated = false;
  /** Pings the client sent while the socket was open. */
  pings = 0;
  /** What `bufferedAmount` reports; set it to simulate a slow upstream. @default 0 (bytes) */
  bufferedAmount = 0;
  /** What the listener's `onClose` was given, once closed. */
  closeInfo: SocketCloseInfo | undefined;

  readonly #listener: SocketListener;
  readonly #closeHandshake: Settings['closeHandshake'];
  readonly #onSent: FakeSendHandler | undefined;
  #onSend: FakeSendHandler | undefined;
  #state: FakeSocketState = 'connecting';

  constructor(
    endpoint: SocketEndpoint,
    listener: SocketListener,
    options: { closeHandshake?: Settings['closeHandshake']; onSent?: FakeSendHandler } = {},
  ) {
    this.endpoint = endpoint;
    this.#listener = listener;
    this.#closeHandshake = options.closeHandshake ?? DEFAULTS.closeHandshake;
    this.#onSent = options.onSent;
  }

  get state(): FakeSocketState {
    return this.#state;
  }

  /** The sent frames, parsed as JSON. */
  sentJson(): unknown[] {
    return this.sent.map((text) => JSON.parse(text) as unknown);
  }

  /**
   * Answers this socket's frames automatically (before the transport's `onSend` handler). Called
   * in a microtask after each `send()`, never inside it: a real server cannot answer before
   * `send()` returns. Replaces any previous handler; `undefined` removes it.
   */
  onSend(handler: FakeSendHandler | undefined): void {
    this.#onSend = handler;
  }

  // Server side.

  /** Completes the upgrade: `onOpen`. */
  accept(): void {
    if (this.#state === 'closed') return;
    this.#expect('accept', 'connecting');
    this.#state = 'open';
    this.#listener.onOpen();
  }

  /**
   * Delivers a frame from the server: `onMessage`. Allowed while open or closing; throws while
   * connecting; silently ignored once closed (a late frame from a socket already gone).
   */
  receive(text: string): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'connecting') throw new Error('FakeSocket.receive: the socket is not open yet (accept() it first)');
    this.#listener.onMessage(text);
  }

  /** `receive(JSON.stringify(value))`. */
  receiveJson(value: unknown): void {
    this.receive(JSON.stringify(value));
  }

  /** The server closes the socket (or completes the client's close): `onClose({ code, reason })`. */
  serverClose(code: number = CloseCode.NORMAL, reason = ''): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'connecting') {
      throw new Error('FakeSocket.serverClose: the socket is not open yet (use refuse() or fail())');
    }
    this.#finish({ code, reason });
  }

  /** Completes a closing handshake the client started (`closeHandshake: 'manual'`), echoing its code. */
  finishClose(): void {
    if (this.#state === 'closed') return;
    this.#expect('finishClose', 'closing');
    this.#finish({ code: this.closedWith?.code ?? CloseCode.NORMAL, reason: this.closedWith?.reason ?? '' });
  }

  /**
   * The server refuses the upgrade: `onClose({ code: 1006, reason: 'HTTP <status>', httpStatus })`,
   * with `retryAfter` when given (the refusal's `Retry-After` header).
   */
  refuse(httpStatus: number, retryAfter?: string): void {
    if (this.#state === 'closed') return;
    this.#expect('refuse', 'connecting');
    this.#finish({ code: CloseCode.ABNORMAL, reason: `HTTP ${httpStatus}`, httpStatus, ...(retryAfter === undefined ? {} : { retryAfter }) });
  }

  /** The connection breaks: `onError(error)`, then `onClose({ code: 1006 })`, in any state. */
  fail(error: Error = new Error('fake failure')): void {
    if (this.#state === 'closed') return;
    // As with ws, the socket is already closing while the listener hears of the error.
    this.#state = 'closing';
    this.#listener.onError(error);
    this.#finish({ code: CloseCode.ABNORMAL, reason: '' });
  }

  /**
   * A message from the server was larger than the transport takes (as `WsSocketTransport`'s past
   * its `maxPayload`): `onError`, then `onClose({ code: 1006, reason: '', messageTooBig: true })`.
   */
  tooBig(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'connecting') throw new Error('FakeSocket.tooBig: the socket is not open yet');
    this.#state = 'closing';
    this.#listener.onError(new Error('Max payload size exceeded'));
    this.#finish({ code: CloseCode.ABNORMAL, reason: '', messageTooBig: true });
  }

  /** A pong arrives: `onPong`. */
  pong(): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'connecting') throw new Error('FakeSocket.pong: the socket is not open yet');
    this.#listener.onPong?.();
  }

  // Client side.

  /**
   * Records the frame (in `isolated` too, when sent with `isolate`); throws `ERR_TRANSPORT` unless
   * the socket is open, as the ws transport does.
   */
  send(text: string, options?: SendOptions): void {
    if (this.#state !== 'open') {
      throw SteadyRpcError.forUrl('ERR_TRANSPORT', 'Cannot send: socket is not open', this.endpoint);
    }
    this.sent.push(text);
    if (options?.isolate === true) this.isolated.push(text);
    if (this.#onSend !== undefined || this.#onSent !== undefined) {
      queueMicrotask(() => {
        this.#onSend?.(text, this);
        this.#onSent?.(text, this);
      });
    }
  }

  /**
   * Records `closedWith` and closes: `onClose({ code: code ?? 1000, reason: reason ?? '' })`, or
   * 1006 while still connecting (the handshake is aborted, as with ws). With
   * `closeHandshake: 'manual'` an open socket only moves to `'closing'`. Idempotent. Throws
   * `ERR_CONFIG` for a code a close frame may not carry, as the ws transport does.
   */
  close(code?: number, reason?: string): void {
    if (code !== undefined && !isSendableCloseCode(code)) {
      throw new SteadyRpcError(
        'ERR_CONFIG',
        `Expected close code to be 1000-1003, 1007-1014 or 3000-4999, got ${String(code)}`,
      );
    }
    if (this.#state === 'closed' || this.#state === 'closing') return;
    this.closedWith = { code, reason };
    if (this.#state === 'connecting') this.#finish({ code: CloseCode.ABNORMAL, reason: '' });
    else if (this.#closeHandshake === 'manual') this.#state = 'closing';
    else this.#finish({ code: code ?? CloseCode.NORMAL, reason: reason ?? '' });
  }

  /** Closes at once: `onClose({ code: 1006, reason: '' })`. Idempotent. */
  terminate(): void {
    if (this.#state === 'closed') return;
    this.terminated = true;
    this.#finish({ code: CloseCode.ABNORMAL, reason: '' });
  }

  /** Counts a ping if the socket is open; otherwise does nothing, as the ws transport does. */
  ping(): void {
    if (this.#state === 'open') this.pings++;
  }

  #expect(driver: string, state: FakeSocketState): void {
    if (this.#state !== state) throw new Error(`FakeSocket.${driver}: expected state '${state}', got '${this.#state}'`);
  }

  #finish(info: SocketCloseInfo): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.closeInfo = info;
    this.#listener.onClose(info);
  }
}

/**
 * A {@link SocketTransport} with no I/O and no timers, for unit tests. Every `open()` makes a
 * {@link FakeSocket}, recorded in `sockets`; the connect handler for its URL (see `route`), or
 * else the default one (see `onConnect`), then plays the server. Without either the socket stays
 * connecting for the test to drive. Handlers run in a microtask after `open()` returns, so, as
 * with a real socket, no listener callback fires before the caller holds the socket.
 */
export class FakeSocketTransport implements SocketTransport {
  /** Every socket opened, oldest first. */
  readonly sockets: FakeSocket[] = [];
  readonly #settings: Settings;
  readonly #routes = new Map<string, FakeConnectHandler>();
  #onConnect: FakeConnectHandler | undefined;
  #onSend: FakeSendHandler | undefined;
  /** See {@link FakeSocketTransportOptions.readsInTasks}. */
  readonly readsInTasks: boolean;

  constructor(options: FakeSocketTransportOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected FakeSocketTransport options to be an object, got ${String(options)}`);
    }
    const { closeHandshake = DEFAULTS.closeHandshake, readsInTasks = DEFAULTS.readsInTasks } = options;
    if (closeHandshake !== 'immediate' && closeHandshake !== 'manual') {
      throw new SteadyRpcError('ERR_CONFIG', `Expected closeHandshake to be 'immediate' or 'manual', got ${String(closeHandshake)}`);
    }
    if (typeof readsInTasks !== 'boolean') {
      throw new SteadyRpcError('ERR_CONFIG', `Expected readsInTasks to be a boolean, got ${String(readsInTasks)}`);
    }
    this.#settings = Object.freeze({ closeHandshake, readsInTasks });
    this.readsInTasks = readsInTasks;
  }

  open(endpoint: SocketEndpoint, listener: SocketListener): FakeSocket {
    const socket = new FakeSocket(endpoint, listener, {
      closeHandshake: this.#settings.closeHandshake,
      onSent: (text, s) => this.#onSend?.(text, s),
    });
    this.sockets.push(socket);
    const handler = this.#routes.get(endpoint.url) ?? this.#onConnect;
    if (handler !== undefined) queueMicrotask(() => handler(socket));
    return socket;
  }

  /** Plays the server for sockets opened to exactly `url`, replacing any handler for it. */
  route(url: string, handler: FakeConnectHandler): void {
    this.#routes.set(url, handler);
  }

  /** Removes the handler for `url`; its sockets then go to the default handler, if any. */
  unroute(url: string): void {
    this.#routes.delete(url);
  }

  /** Plays the server for sockets whose URL has no route. Replaces any previous default; `undefined` removes it. */
  onConnect(handler: FakeConnectHandler | undefined): void {
    this.#onConnect = handler;
  }

  /**
   * Sees every client frame on every socket (after the socket's own `onSend` handler), in a
   * microtask after `send()` returns. Replaces any previous handler; `undefined` removes it.
   */
  onSend(handler: FakeSendHandler | undefined): void {
    this.#onSend = handler;
  }

  /**
   * The sockets that are open now. (Not `open`: that name is the {@link SocketTransport} method.)
   */
  get openSockets(): FakeSocket[] {
    return this.sockets.filter((socket) => socket.state === 'open');
  }

  /** The socket opened last. */
  last(): FakeSocket | undefined {
    return this.sockets.at(-1);
  }
}

/** The codes a close frame may carry (RFC 6455 §7.4, as ws checks them). */
function isSendableCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
      (code >= 3000 && code <= 4999))
  );
}
