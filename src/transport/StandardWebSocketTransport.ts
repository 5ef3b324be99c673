import { SteadyRpcError } from '../errors.js';
import { CloseCode } from './SocketTransport.js';
import type {
  SocketCloseInfo,
  SocketEndpoint,
  SocketListener,
  SocketTransport,
  UpstreamSocket,
} from './SocketTransport.js';

/**
 * The part of a WHATWG `WebSocket` this transport uses. The platform's own class fits it (browsers,
 * workers, Bun, Deno, Node ≥ 22), and so does any class with the standard API (the `ws` package's
 * `WebSocket`, a fake in tests).
 */
export interface StandardWebSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  binaryType: string;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: any) => void): void;
  removeEventListener(type: string, listener: (event: any) => void): void;
}

/** A constructor of {@link StandardWebSocket}s, as `new WebSocket(url, protocols)`. */
export type StandardWebSocketConstructor = new (url: string, protocols?: string | string[]) => StandardWebSocket;

export interface StandardWebSocketTransportOptions {
  /**
   * The `WebSocket` class to open sockets with: where the platform has none, or to test with a
   * fake. Read once, when the transport is built.
   * @default globalThis.WebSocket
   */
  WebSocket?: StandardWebSocketConstructor;
}

/** The standard API's `readyState` values. */
const CONNECTING = 0;
const OPEN = 1;

/**
 * A {@link SocketTransport} over the standard (WHATWG) `WebSocket`: browsers, web workers,
 * Bun, Deno and Node ≥ 22's global. Node's default stays {@link WsSocketTransport}; see
 * `defaultSocketTransport()` for which one a platform gets.
 *
 * What the standard API cannot do, and how steadyrpc copes:
 * - **No headers.** An endpoint with `headers` is refused at connect (`onError` with `ERR_CONFIG`,
 *   then `onClose` 1006): put the credential in the URL (an endpoint function gives a fresh one on
 *   every connect) or in `protocols`, which are supported.
 * - **No ping.** The socket has no `ping()`; the session's keepalive is a JSON-RPC call with a reply
 *   deadline, which catches a silent ("zombie") upstream without one.
 * - **No HTTP status of a refused upgrade.** A 401/403 on the upgrade reaches the page as an error
 *   and close 1006, so it is retried with backoff; a node that accepts and then closes with 4401,
 *   1008 or 1003 is recognised as refusing us, as on Node.
 * - **Close codes.** Only 1000 and 3000–4999 may be sent: `close()` sends the other codes a close
 *   frame may carry (1001–1003, 1007–1014) as 1000, with the reason.
 * - **No terminate.** `terminate()` starts the close, stops listening at once and reports
 *   `onClose` 1006 without waiting for the handshake a dead peer would never finish.
 *
 * Binary frames (ArrayBuffer, typed arrays, Blob) are decoded as UTF-8, in the order they came.
 */
export class StandardWebSocketTransport implements SocketTransport {
  readonly #WebSocket: StandardWebSocketConstructor;

  constructor(options: StandardWebSocketTransportOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected StandardWebSocketTransport options to be an object, got ${String(options)}`);
    }
    const { WebSocket = (globalThis as { WebSocket?: StandardWebSocketConstructor }).WebSocket } = options;
    if (typeof WebSocket !== 'function') {
      throw new SteadyRpcError(
        'ERR_CONFIG',
        `Expected a WebSocket class: this platform has no global WebSocket, pass one as \`WebSocket\` (or use WsSocketTransport on Node), got ${String(WebSocket)}`,
      );
    }
    this.#WebSocket = WebSocket;
  }

  open(endpoint: SocketEndpoint, listener: SocketListener): UpstreamSocket {
    return new StandardUpstreamSocket(endpoint, listener, this.#WebSocket);
  }
}

interface CloseEventLike {
  code?: unknown;
  reason?: unknown;
}

interface ErrorEventLike {
  message?: unknown;
  error?: unknown;
}

/**
 * One standard socket behind the {@link UpstreamSocket} contract: one failure path (a URL the
 * constructor rejects is reported through the listener too), exactly one `onClose`, nothing after
 * it, and no listener left on the socket once it is over.
 */
class StandardUpstreamSocket implements UpstreamSocket {
  /** For error messages only: every secret of it is scrubbed from what the platform says. */
  readonly #endpoint: SocketEndpoint;
  readonly #listener: SocketListener;
  readonly #ws: StandardWebSocket | undefined;
  /** `close()` or `terminate()` was called: errors from here on are ours, not news. */
  #closeRequested = false;
  /** `terminate()` was called: nothing more is delivered but the close it reports. */
  #terminated = false;
  /** `onClose` was delivered: the listener hears nothing more. */
  #closed = false;
  /** Set while a Blob frame is being read: later frames and the close wait behind it, in order. */
  #backlog: Promise<void> | undefined;

  readonly #onOpen = (): void => {
    if (!this.#closed && !this.#terminated) this.#listener.onOpen();
  };
  readonly #onMessage = (event: { data?: unknown }): void => {
    if (!this.#closed && !this.#terminated) this.#message(event.data);
  };
  readonly #onError = (event: ErrorEventLike): void => {
    const message = typeof event?.message === 'string' && event.message !== '' ? event.message : undefined;
    this.#error(event?.error ?? message, message);
  };
  readonly #onClose = (event: CloseEventLike): void => {
    const info = {
      code: typeof event?.code === 'number' ? event.code : CloseCode.ABNORMAL,
      reason: typeof event?.reason === 'string' ? event.reason : '',
    };
    // Frames that came before the close are delivered before it.
    if (this.#backlog === undefined) this.#close(info);
    else void this.#backlog.then(() => this.#close(info));
  };

  constructor(endpoint: SocketEndpoint, listener: SocketListener, WebSocket: StandardWebSocketConstructor) {
    this.#endpoint = endpoint;
    this.#listener = listener;
    const headers = Object.keys(endpoint.headers ?? {});
    if (headers.length > 0) {
      // Sending the socket without them would be worse: a node that needs them refuses us.
      this.#failSoon(
        SteadyRpcError.forUrl(
          'ERR_CONFIG',
          `The standard WebSocket API cannot send headers (${headers.join(', ')}): put the credential in the URL (an endpoint function makes a fresh one for each connect) or in protocols, or use WsSocketTransport on Node`,
          endpoint,
        ),
      );
      return;
    }
    let ws: StandardWebSocket;
    try {
      ws = new WebSocket(endpoint.url, endpoint.protocols ?? []);
    } catch (error) {
      // A bad URL or subprotocol: report it like any other failure, after open() returns.
      this.#failSoon(this.#transportError(error));
      return;
    }
    this.#ws = ws;
    // Binary frames as ArrayBuffers: decoded at once, where Blobs must be read asynchronously.
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('open', this.#onOpen);
    ws.addEventListener('message', this.#onMessage);
    ws.addEventListener('error', this.#onError);
    ws.addEventListener('close', this.#onClose);
  }

  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  /** Throws an `ERR_TRANSPORT` error unless the socket is open; the caller decides what then. */
  send(text: string): void {
    const ws = this.#ws;
    if (this.#closed || this.#terminated || ws === undefined || ws.readyState !== OPEN) {
      throw SteadyRpcError.forUrl('ERR_TRANSPORT', 'Cannot send: socket is not open', this.#endpoint);
    }
    ws.send(text);
  }

  /**
   * Starts the closing handshake, or aborts the connect if the socket is still connecting (then
   * `onClose` reports 1006). Reasons longer than the protocol's 123 bytes are shortened; codes the
   * standard API refuses to send go out as 1000. Throws `ERR_CONFIG` for a code no close frame may
   * carry (1004–1006, 1015, outside 1000–4999), as {@link WsSocketTransport} does.
   */
  close(code?: number, reason?: string): void {
    if (code !== undefined && !isSendableCloseCode(code)) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected close code to be 1000-1003, 1007-1014 or 3000-4999, got ${String(code)}`);
    }
    if (this.#closed || this.#closeRequested) return;
    this.#closeRequested = true;
    const ws = this.#ws;
    if (ws === undefined) return; // the failed constructor delivers onClose itself
    const sent = code === undefined ? (reason === undefined ? undefined : CloseCode.NORMAL) : code === CloseCode.NORMAL || code >= 3000 ? code : CloseCode.NORMAL;
    try {
      if (sent === undefined) ws.close();
      else ws.close(sent, reason === undefined ? undefined : truncateReason(reason));
    } catch {
      ws.close(); // an implementation stricter than the standard: close all the same
    }
  }

  /**
   * Ends the socket now: the close is started (the standard API has no abort), its listeners are
   * removed, and `onClose` 1006 follows in a microtask, without waiting for a peer that may never
   * answer.
   */
  terminate(): void {
    if (this.#closed || this.#terminated) return;
    this.#closeRequested = true;
    this.#terminated = true;
    const ws = this.#ws;
    if (ws === undefined) return; // the failed constructor delivers onClose itself
    this.#detach(ws);
    try {
      ws.close();
    } catch {
      // Nothing more can be done with it; it is forgotten either way.
    }
    queueMicrotask(() => this.#close({ code: CloseCode.ABNORMAL, reason: '' }));
  }

  #message(data: unknown): void {
    if (this.#backlog === undefined) {
      const text = textNow(data);
      if (text !== undefined) return this.#listener.onMessage(text);
    }
    const read = (this.#backlog ?? Promise.resolve()).then(() => textLater(data)).then(
      (text) => {
        if (!this.#closed && !this.#terminated) this.#listener.onMessage(text);
      },
      (error: unknown) => this.#error(error, 'could not read a binary frame'),
    );
    this.#backlog = read;
    void read.then(() => {
      if (this.#backlog === read) this.#backlog = undefined;
    });
  }

  #error(cause: unknown, details: string | undefined): void {
    if (this.#closed || this.#closeRequested) return;
    this.#listener.onError(this.#transportError(cause, details));
  }

  #transportError(cause: unknown, details = cause instanceof Error ? cause.message : undefined): SteadyRpcError {
    // forUrl scrubs the details and the cause: platforms may quote the whole URL.
    return SteadyRpcError.forUrl('ERR_TRANSPORT', 'WebSocket error', this.#endpoint, { cause, details });
  }

  #failSoon(error: SteadyRpcError): void {
    queueMicrotask(() => {
      if (!this.#closeRequested) this.#listener.onError(error);
      this.#close({ code: CloseCode.ABNORMAL, reason: '' });
    });
  }

  #close(info: SocketCloseInfo): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#ws !== undefined) this.#detach(this.#ws);
    this.#listener.onClose(info);
  }

  #detach(ws: StandardWebSocket): void {
    ws.removeEventListener('open', this.#onOpen);
    ws.removeEventListener('message', this.#onMessage);
    ws.removeEventListener('error', this.#onError);
    ws.removeEventListener('close', this.#onClose);
  }
}

/** The text of a frame, when it can be had at once: a string, an ArrayBuffer or a view of one. */
function textNow(data: unknown): string | undefined {
  if (typeof data === 'string') return data;
  // Not `instanceof ArrayBuffer`: a buffer made in another realm (an iframe's WebSocket, a
  // content script, jsdom) has another realm's class.
  if (ArrayBuffer.isView(data) || Object.prototype.toString.call(data) === '[object ArrayBuffer]') return new TextDecoder().decode(data as ArrayBuffer);
  return undefined;
}

/** The text of any frame: a Blob (where `binaryType` could not be set) is read asynchronously. */
async function textLater(data: unknown): Promise<string> {
  const now = textNow(data);
  if (now !== undefined) return now;
  if (typeof (data as Blob | undefined)?.arrayBuffer === 'function') {
    return new TextDecoder().decode(await (data as Blob).arrayBuffer());
  }
  return String(data); // not a frame type of the standard; the session counts it as garbage
}

/** The codes a close frame may carry (RFC 6455 §7.4), the same check as the ws transport's. */
function isSendableCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999))
  );
}

const MAX_REASON_BYTES = 123;

/** Shortens a close reason to what fits in a close frame (the standard API throws past it), whole characters only. */
function truncateReason(reason: string): string {
  const encoder = new TextEncoder();
  if (encoder.encode(reason).length <= MAX_REASON_BYTES) return reason;
  const chars = [...reason];
  while (encoder.encode(chars.join('')).length > MAX_REASON_BYTES) chars.pop();
  return chars.join('');
}
