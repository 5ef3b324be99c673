/**
 * A {@link SocketTransport} around the one the proxy's sessions use, writing down in the order it
 * happens what the sessions do with their sockets and what the sockets tell them: each tagged
 * request sent (tags: what `pattern` finds in a frame), a socket the session lets go (`close`,
 * `terminate`), a send that threw (the session takes the socket as closed from then on), and each
 * close, with whether a message too big for the socket caused it. That is the session's own view
 * of which socket a call was on when which socket failed, which the nodes cannot see.
 */
import type { SendOptions, SocketCloseInfo, SocketEndpoint, SocketListener, SocketTransport, UpstreamSocket } from '../../../src/index.js';

export type LedgerEvent =
  /** `alone`: nothing else the session sent on that socket was unanswered then. */
  | { kind: 'sent'; socket: number; tag: string; alone: boolean }
  | { kind: 'left'; socket: number }
  | { kind: 'send-failed'; socket: number }
  | { kind: 'closed'; socket: number; tooBig: boolean };

export class SocketLedger implements SocketTransport {
  readonly events: LedgerEvent[] = [];
  readonly multiplexed: boolean | undefined;
  readonly framesChecked: boolean | undefined;
  readonly isolates: boolean | undefined;
  readonly #inner: SocketTransport;
  readonly #pattern: RegExp;
  #sockets = 0;

  /** `pattern` must have the global flag: every match in a frame is a tag. */
  constructor(inner: SocketTransport, pattern: RegExp) {
    if (!pattern.global) throw new Error('SocketLedger: the tag pattern needs the g flag');
    this.#inner = inner;
    this.#pattern = pattern;
    this.multiplexed = inner.multiplexed;
    this.framesChecked = inner.framesChecked;
    this.isolates = inner.isolates;
  }

  open(endpoint: SocketEndpoint, listener: SocketListener): UpstreamSocket {
    const socket = ++this.#sockets;
    const events = this.events;
    const unanswered = new Set<string>();
    const inner = this.#inner.open(endpoint, {
      onOpen: () => listener.onOpen(),
      onMessage: (text, bytes) => {
        const id = ANSWER_ID.exec(text)?.[1];
        if (id !== undefined) unanswered.delete(id);
        listener.onMessage(text, bytes);
      },
      onClose: (info: SocketCloseInfo) => {
        events.push({ kind: 'closed', socket, tooBig: info.messageTooBig === true });
        listener.onClose(info);
      },
      onError: (error) => listener.onError(error),
      onPong: () => listener.onPong?.(),
    });
    return new LedgerSocket(inner, socket, events, this.#pattern, unanswered);
  }
}

/** The id of a request as a session writes it (one a frame: sessions do not batch upstream). */
const REQUEST_ID = /^\{"jsonrpc":"2\.0","id":(\d+),"method"/;
/** The id of an answer: a top-level member, before any nested object (a notification has none there). */
const ANSWER_ID = /^\{[^{}]*?"id":(\d+)[,}]/;

class LedgerSocket implements UpstreamSocket {
  readonly #inner: UpstreamSocket;
  readonly #socket: number;
  readonly #events: LedgerEvent[];
  readonly #pattern: RegExp;
  /** Ids of the requests sent on it not answered yet. */
  readonly #unanswered: Set<string>;
  readonly ping: (() => void) | undefined;

  constructor(inner: UpstreamSocket, socket: number, events: LedgerEvent[], pattern: RegExp, unanswered: Set<string>) {
    this.#inner = inner;
    this.#socket = socket;
    this.#events = events;
    this.#pattern = pattern;
    this.#unanswered = unanswered;
    this.ping = inner.ping === undefined ? undefined : () => inner.ping!();
  }

  get bufferedAmount(): number | undefined {
    return this.#inner.bufferedAmount;
  }

  send(text: string, options?: SendOptions): void {
    try {
      this.#inner.send(text, options);
    } catch (error) {
      this.#events.push({ kind: 'send-failed', socket: this.#socket });
      throw error;
    }
    // Sent with isolate, a transport that isolates calls (the one wrapped says so) puts it alone on
    // a socket of its own: it is not beside the others on this one either.
    const isolated = options?.isolate === true;
    const alone = isolated || this.#unanswered.size === 0;
    const id = REQUEST_ID.exec(text)?.[1];
    if (id !== undefined && !isolated) this.#unanswered.add(id);
    for (const [tag] of text.matchAll(this.#pattern)) this.#events.push({ kind: 'sent', socket: this.#socket, tag, alone });
  }

  close(code?: number, reason?: string): void {
    this.#events.push({ kind: 'left', socket: this.#socket });
    this.#inner.close(code, reason);
  }

  terminate(): void {
    this.#events.push({ kind: 'left', socket: this.#socket });
    this.#inner.terminate();
  }
}
