import { isAscii, isUtf8 } from 'node:buffer';
import WebSocket from 'ws';
import type { RawData } from 'ws';
import { SteadyRpcError } from '../errors.js';
import { CloseCode } from './SocketTransport.js';
import type {
  SocketCloseInfo,
  SocketEndpoint,
  SocketListener,
  SocketTransport,
  UpstreamSocket,
} from './SocketTransport.js';

export interface WsSocketTransportOptions {
  /**
   * The largest message accepted from the server, in bytes. A bigger one fails the socket
   * (`onError`, then at once `onClose` with 1006: ws sends the node 1009 and reads nothing more).
   * @default 67_108_864 (64 MiB)
   */
  maxPayload?: number;
  /**
   * Whether to negotiate permessage-deflate. Off by default: it costs memory and CPU on every
   * socket, and nodes rarely support it well.
   * @default false
   */
  perMessageDeflate?: boolean;
  /**
   * Whether the frames sent in one turn of the event loop go out in one write: the socket is
   * corked at the first `send()` of a turn and uncorked on `process.nextTick` (after the turn's
   * promise callbacks too), so a burst costs one syscall instead of one per frame. Order is kept,
   * `bufferedAmount` counts the held frames, and `close()` in the same turn sends them before the
   * close frame; `terminate()` drops them, as it drops any write still buffered.
   * @default true
   */
  coalesceWrites?: boolean;
  /**
   * With `coalesceWrites`, the most frames held for one write: a turn that sends more writes them
   * in groups of this many as it goes. Writing early lets the node start on the first requests while
   * the rest are still being produced; holding a whole turn's burst would make the two sides take
   * turns instead of working at once.
   * @default 16
   */
  maxFramesPerWrite?: number;
}

const DEFAULTS = Object.freeze({ maxPayload: 64 * 1024 * 1024, perMessageDeflate: false, coalesceWrites: true, maxFramesPerWrite: 16 });

type Settings = Readonly<Required<WsSocketTransportOptions>>;

function validate(options: WsSocketTransportOptions): Settings {
  if (typeof options !== 'object' || options === null) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected WsSocketTransport options to be an object, got ${String(options)}`);
  }
  const {
    maxPayload = DEFAULTS.maxPayload,
    perMessageDeflate = DEFAULTS.perMessageDeflate,
    coalesceWrites = DEFAULTS.coalesceWrites,
    maxFramesPerWrite = DEFAULTS.maxFramesPerWrite,
  } = options;
  if (typeof maxPayload !== 'number' || !Number.isSafeInteger(maxPayload) || maxPayload < 1) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected maxPayload to be an integer >= 1 (bytes), got ${String(maxPayload)}`);
  }
  if (typeof perMessageDeflate !== 'boolean') {
    throw new SteadyRpcError('ERR_CONFIG', `Expected perMessageDeflate to be a boolean, got ${String(perMessageDeflate)}`);
  }
  if (typeof coalesceWrites !== 'boolean') {
    throw new SteadyRpcError('ERR_CONFIG', `Expected coalesceWrites to be a boolean, got ${String(coalesceWrites)}`);
  }
  if (typeof maxFramesPerWrite !== 'number' || !Number.isSafeInteger(maxFramesPerWrite) || maxFramesPerWrite < 1) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected maxFramesPerWrite to be an integer >= 1, got ${String(maxFramesPerWrite)}`);
  }
  return Object.freeze({ maxPayload, perMessageDeflate, coalesceWrites, maxFramesPerWrite });
}

/** The default {@link SocketTransport}, over the `ws` package. */
export class WsSocketTransport implements SocketTransport {
  readonly #settings: Settings;
  /** ws hands messages over from the socket's `data` callback, a read's one after another. */
  readonly readsInTasks = true;

  constructor(options: WsSocketTransportOptions = {}) {
    this.#settings = validate(options);
  }

  open(endpoint: SocketEndpoint, listener: SocketListener): UpstreamSocket {
    return new WsUpstreamSocket(endpoint, listener, this.#settings);
  }
}

/**
 * One `ws` socket behind the {@link UpstreamSocket} contract: one failure path (even a URL that `ws`
 * rejects synchronously is reported through the listener), exactly one `onClose`, nothing after it.
 */
class WsUpstreamSocket implements UpstreamSocket {
  /** For error messages only: every secret of it is scrubbed from what ws says. */
  readonly #endpoint: SocketEndpoint;
  readonly #listener: SocketListener;
  readonly #ws: WebSocket | undefined;
  /** `close()` or `terminate()` was called: errors from here on are ours, not news. */
  #closeRequested = false;
  /** `onClose` was delivered: the listener hears nothing more. */
  #closed = false;
  /** A text message was not UTF-8: the socket is failing, and reads nothing more. */
  #invalid = false;
  /** The stream under ws, once open, when writes are coalesced. */
  #wire: Corkable | undefined;
  /** The wire is corked until the end of this turn. */
  #corked = false;
  /** Frames held by the cork now. */
  #held = 0;
  readonly #maxHeld: number;
  readonly #uncork = (): void => {
    this.#corked = false;
    this.#held = 0;
    this.#wire?.uncork();
  };

  constructor(endpoint: SocketEndpoint, listener: SocketListener, settings: Settings) {
    this.#endpoint = endpoint;
    this.#listener = listener;
    this.#maxHeld = settings.maxFramesPerWrite;
    let ws: WebSocket;
    try {
      ws = new WebSocket(endpoint.url, endpoint.protocols ?? [], {
        headers: { ...endpoint.headers },
        maxPayload: settings.maxPayload,
        perMessageDeflate: settings.perMessageDeflate,
        // Checked here instead, with the decoding (see #onMessage): the same rule, at less cost.
        skipUTF8Validation: true,
      });
    } catch (error) {
      // A bad URL, header or subprotocol: report it like any other failure, after open() returns.
      queueMicrotask(() => {
        this.#error(error);
        this.#close({ code: CloseCode.ABNORMAL, reason: '' });
      });
      return;
    }
    this.#ws = ws;
    ws.on('open', () => {
      if (settings.coalesceWrites) this.#wire = corkableSocketOf(ws);
      if (!this.#closed) this.#listener.onOpen();
    });
    ws.on('message', (data: RawData, isBinary: boolean) => this.#onMessage(ws, data, isBinary));
    ws.on('pong', () => {
      if (!this.#closed) this.#listener.onPong?.();
    });
    ws.on('unexpected-response', (_request, response) => {
      // With this listener attached, ws leaves the request hanging. terminate() aborts it (while
      // connecting it destroys the request and its socket); ws then emits 'error' and 'close' on
      // the next tick, which find this socket closed and are dropped.
      const status = response.statusCode ?? 0;
      const retryAfter = response.headers['retry-after'];
      ws.terminate();
      this.#close({ code: CloseCode.ABNORMAL, reason: `HTTP ${status}`, httpStatus: status, ...(retryAfter === undefined ? {} : { retryAfter }) });
    });
    // Stays attached for the socket's whole life, so ws never emits an unhandled 'error'.
    ws.on('error', (error) => {
      this.#error(error);
      // A message past maxPayload: ws sends the node 1009 and reads nothing more. The close is told
      // now, not once the connection has closed: a send in between would find the socket closing,
      // and the session would fail it as closed without learning why (a call whose answer did it
      // would then go to a third socket).
      if ((error as { code?: unknown }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.#close({ code: CloseCode.ABNORMAL, reason: '', messageTooBig: true });
    });
    ws.on('close', (code: number, reason: Buffer) => this.#close({ code, reason: reason.toString('utf8') }));
  }

  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  /** Throws an `ERR_TRANSPORT` error unless the socket is open; the caller decides what then. */
  send(text: string): void {
    const ws = this.#ws;
    if (this.#closed || ws === undefined || ws.readyState !== WebSocket.OPEN) {
      throw SteadyRpcError.forUrl('ERR_TRANSPORT', 'Cannot send: socket is not open', this.#endpoint);
    }
    if (!this.#corked && this.#wire !== undefined) {
      // ws corks around each frame on its own; an outer cork holds them all until the turn ends.
      this.#wire.cork();
      this.#corked = true;
      process.nextTick(this.#uncork);
    }
    ws.send(text);
    if (this.#corked && ++this.#held >= this.#maxHeld) {
      // A full group goes out now; the rest of the turn is held again.
      this.#held = 0;
      this.#wire!.uncork();
      this.#wire!.cork();
    }
  }

  /**
   * Starts the closing handshake, or aborts the connect if the socket is still connecting (then
   * `onClose` reports 1006). Reasons longer than the protocol's 123 bytes are shortened. Throws
   * `ERR_CONFIG` for a code that may not be sent (1004–1006, 1015, outside 1000–4999).
   */
  close(code?: number, reason?: string): void {
    if (code !== undefined && !isSendableCloseCode(code)) {
      throw new SteadyRpcError(
        'ERR_CONFIG',
        `Expected close code to be 1000-1003, 1007-1014 or 3000-4999, got ${String(code)}`,
      );
    }
    if (this.#closed || this.#closeRequested) return;
    this.#closeRequested = true;
    const ws = this.#ws;
    if (ws === undefined) return; // the failed constructor delivers onClose itself
    // ws.close() while connecting aborts the handshake, as terminate() does; say so plainly.
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(code, reason === undefined ? undefined : truncateReason(reason));
  }

  /** Drops the frames of this turn not yet written (see {@link WsSocketTransportOptions.coalesceWrites}). */
  terminate(): void {
    if (this.#closed) return;
    this.#closeRequested = true;
    this.#ws?.terminate();
  }

  /** Sends a ping if the socket is open; otherwise does nothing (a keepalive may race a close). */
  ping(): void {
    const ws = this.#ws;
    if (!this.#closed && ws !== undefined && ws.readyState === WebSocket.OPEN) ws.ping();
  }

  /**
   * A message, as ws hands it over: one Buffer (its default binaryType), decoded to text and handed
   * on with its bytes for the frame check. A text message must be UTF-8 (RFC 6455): one that is not
   * fails the socket as ws itself would (an error, then close 1007), and nothing more is read from
   * it. ws is told not to check that itself: its check and the decoding would both read every
   * byte, where a message all ASCII (every message a node sends but those with text beyond it, in
   * an error message say) is known valid by a quicker test, and is then decoded as Latin-1, which
   * for ASCII is the same text, in about half the time of UTF-8. A binary message is decoded with
   * U+FFFD for what is not UTF-8, as before.
   */
  #onMessage(ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (this.#closed || this.#invalid) return;
    if (!Buffer.isBuffer(data)) return this.#listener.onMessage(textOf(data));
    if (isAscii(data)) return this.#listener.onMessage(data.toString('latin1'), data);
    if (isBinary || isUtf8(data)) return this.#listener.onMessage(data.toString(), data);
    this.#invalid = true;
    this.#error(new Error('Invalid WebSocket frame: invalid UTF-8 sequence'));
    ws.close(CloseCode.INVALID_PAYLOAD, 'invalid UTF-8 sequence');
  }

  #error(error: unknown): void {
    if (this.#closed || this.#closeRequested) return;
    this.#listener.onError(
      SteadyRpcError.forUrl('ERR_TRANSPORT', 'WebSocket error', this.#endpoint, {
        cause: error,
        // forUrl scrubs it: ws puts the whole URL in some of its messages.
        details: error instanceof Error ? error.message : undefined,
      }),
    );
  }

  #close(info: SocketCloseInfo): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.onClose(info);
  }
}

interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * The net (or TLS) socket ws writes to. ws keeps it as `_socket`, not in its typed API; without
 * one that can be corked, writes are simply not coalesced.
 */
function corkableSocketOf(ws: WebSocket): Corkable | undefined {
  const socket = (ws as unknown as { _socket?: Partial<Corkable> | null })._socket;
  return typeof socket?.cork === 'function' && typeof socket.uncork === 'function' ? (socket as Corkable) : undefined;
}

/** The text of a message ws hands over in fragments or as an ArrayBuffer (other binaryTypes). */
function textOf(data: Buffer[] | ArrayBuffer): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** The codes ws (and RFC 6455) allow in a close frame. */
function isSendableCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
      (code >= 3000 && code <= 4999))
  );
}

const MAX_REASON_BYTES = 123;

/** Shortens a close reason to what fits in a close frame, without splitting a character. */
function truncateReason(reason: string): string {
  if (Buffer.byteLength(reason) <= MAX_REASON_BYTES) return reason;
  const chars = [...reason];
  while (Buffer.byteLength(chars.join('')) > MAX_REASON_BYTES) chars.pop();
  return chars.join('');
}
