import type { SocketCloseInfo } from '../../src/index.js';
import type { FakeSocket } from '../../src/testing/index.js';
import { FakeSocketTransport } from '../../src/testing/index.js';

/** How the fake delivers a text frame from the server. */
export type FakeFrameKind = 'text' | 'binary';

export interface FakeWebSocketOptions {
  /** Plays the servers: the sockets opened are its `FakeSocket`s (routes, FakeNodes). @default a new FakeSocketTransport */
  server?: FakeSocketTransport;
  /** Server frames as strings, or as binary in whatever `binaryType` asks (ArrayBuffer or Blob). @default 'text' */
  frames?: FakeFrameKind;
  /** Whether setting `binaryType` has any effect (some runtimes keep Blob). @default true */
  honoursBinaryType?: boolean;
}

/** What a test can see of the fake class beyond the standard API. */
export interface FakeWebSocketClass {
  new (url: string, protocols?: string | string[]): FakeWebSocket;
  readonly CONNECTING: 0;
  readonly OPEN: 1;
  readonly CLOSING: 2;
  readonly CLOSED: 3;
  /** Every instance, oldest first. */
  readonly instances: FakeWebSocket[];
  /** The server side. */
  readonly server: FakeSocketTransport;
}

export interface FakeWebSocket {
  readonly url: string;
  readonly protocols: string[];
  readyState: number;
  bufferedAmount: number;
  binaryType: string;
  /** The server side of this socket. */
  readonly socket: FakeSocket;
  /** Listeners attached now, of every type. */
  readonly listenerCount: number;
  /** What `close()` was called with, in order. */
  readonly closeCalls: Array<[number | undefined, string | undefined]>;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: any) => void): void;
  removeEventListener(type: string, listener: (event: any) => void): void;
  /** Fires an event as the platform would (for tests of odd events). */
  emit(type: string, event: object): void;
}

class DOMExceptionLike extends Error {
  constructor(message: string, override readonly name: string) {
    super(message);
  }
}

/**
 * A class with the WHATWG `WebSocket` API over a {@link FakeSocketTransport}, so FakeNodes (or a
 * test) play the server. It behaves as the standard says where steadyrpc cares: events are
 * dispatched in later microtasks (never inside a call), `send()` while connecting throws and after
 * closing is dropped, `close()` refuses codes other than 1000 and 3000–4999, a refused upgrade is
 * an `error` then a `close` 1006 with no HTTP status, and a `close` event carries `code`,
 * `reason` and `wasClean`.
 */
export function fakeWebSocketClass(options: FakeWebSocketOptions = {}): FakeWebSocketClass {
  const { server = new FakeSocketTransport(), frames = 'text', honoursBinaryType = true } = options;
  const instances: FakeWebSocket[] = [];

  class Fake implements FakeWebSocket {
    static readonly CONNECTING = 0 as const;
    static readonly OPEN = 1 as const;
    static readonly CLOSING = 2 as const;
    static readonly CLOSED = 3 as const;
    static readonly instances = instances;
    static readonly server = server;

    readonly url: string;
    readonly protocols: string[];
    readyState = 0;
    bufferedAmount = 0;
    readonly socket: FakeSocket;
    readonly closeCalls: Array<[number | undefined, string | undefined]> = [];
    #binaryType = 'blob';
    readonly #listeners = new Map<string, Set<(event: any) => void>>();

    constructor(url: string, protocols: string | string[] = []) {
      const parsed = new URL(url);
      if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new DOMExceptionLike(`The URL's scheme must be either 'ws' or 'wss'. '${url}' is not allowed.`, 'SyntaxError');
      this.url = url;
      this.protocols = typeof protocols === 'string' ? [protocols] : [...protocols];
      instances.push(this);
      this.socket = server.open({ url, protocols: this.protocols }, {
        onOpen: () => this.#later(() => {
          this.readyState = 1;
          this.emit('open', { type: 'open' });
        }),
        onMessage: (text) => this.#later(() => this.emit('message', { type: 'message', data: this.#frame(text) })),
        onError: () => this.#later(() => this.emit('error', { type: 'error' })),
        onClose: (info: SocketCloseInfo) => this.#later(() => {
          const wasClean = info.code !== 1006;
          // The standard hides a refused upgrade's status: an error, then a plain 1006.
          if (info.httpStatus !== undefined) this.emit('error', { type: 'error' });
          this.readyState = 3;
          this.emit('close', { type: 'close', code: info.code, reason: info.httpStatus === undefined ? info.reason : '', wasClean });
        }),
      });
    }

    get binaryType(): string {
      return this.#binaryType;
    }

    set binaryType(value: string) {
      if (honoursBinaryType && (value === 'blob' || value === 'arraybuffer')) this.#binaryType = value;
    }

    get listenerCount(): number {
      let count = 0;
      for (const set of this.#listeners.values()) count += set.size;
      return count;
    }

    send(data: string): void {
      if (this.readyState === 0) throw new DOMExceptionLike("Failed to execute 'send' on 'WebSocket': Still in CONNECTING state.", 'InvalidStateError');
      if (this.readyState !== 1) {
        this.bufferedAmount += data.length;
        return;
      }
      this.socket.send(data);
    }

    close(code?: number, reason?: string): void {
      this.closeCalls.push([code, reason]);
      if (code !== undefined && code !== 1000 && !(code >= 3000 && code <= 4999)) {
        throw new DOMExceptionLike(`The code must be either 1000, or between 3000 and 4999. ${code} is neither.`, 'InvalidAccessError');
      }
      if (reason !== undefined && new TextEncoder().encode(reason).length > 123) {
        throw new DOMExceptionLike('The message must not be greater than 123 bytes.', 'SyntaxError');
      }
      if (this.readyState >= 2) return;
      this.readyState = 2;
      this.socket.close(code, reason);
    }

    addEventListener(type: string, listener: (event: any) => void): void {
      let set = this.#listeners.get(type);
      if (set === undefined) this.#listeners.set(type, (set = new Set()));
      set.add(listener);
    }

    removeEventListener(type: string, listener: (event: any) => void): void {
      this.#listeners.get(type)?.delete(listener);
    }

    emit(type: string, event: object): void {
      for (const listener of [...(this.#listeners.get(type) ?? [])]) listener(event);
    }

    #frame(text: string): unknown {
      if (frames === 'text') return text;
      const bytes = new TextEncoder().encode(text);
      return this.#binaryType === 'arraybuffer' ? bytes.buffer : new Blob([bytes]);
    }

    #later(fn: () => void): void {
      queueMicrotask(fn);
    }
  }
  return Fake;
}
