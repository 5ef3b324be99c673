import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';

/**
 * The server side of a `ws` connection, as `serveSocket` uses it, with a scriptable client:
 * `reading` (a client that stopped reading leaves every frame in `bufferedAmount`), `autoPong`,
 * and drivers for what the client sends. Events are emitted in an immediate, as ws does, so
 * `FakeClock.flush()` delivers them. `log` keeps sends and closes in order.
 */
export class FakeServerSocket extends EventEmitter {
  readyState = 1;
  bufferedAmount = 0;
  /** False: the client reads nothing, so every frame sent stays buffered and no close is echoed. */
  reading = true;
  /** The client answers pings (while reading). */
  autoPong = true;
  isPaused = false;
  pings = 0;
  terminated = false;
  closedWith: { code: number; reason: string } | undefined;
  readonly sent: string[] = [];
  readonly log: Array<['send', string] | ['close', number] | ['terminate']> = [];
  /** Most bytes ever buffered. */
  maxBuffered = 0;

  asWebSocket(): WebSocket {
    return this as unknown as WebSocket;
  }

  send(text: string): void {
    if (this.readyState !== 1) throw new Error(`send while readyState ${this.readyState}`);
    this.sent.push(text);
    this.log.push(['send', text]);
    if (!this.reading) this.bufferedAmount += Buffer.byteLength(text);
    this.maxBuffered = Math.max(this.maxBuffered, this.bufferedAmount);
  }

  ping(): void {
    this.pings += 1;
    if (this.autoPong && this.reading) setImmediate(() => this.emit('pong', Buffer.alloc(0)));
  }

  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    this.isPaused = false;
  }

  close(code: number, reason: string): void {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    this.closedWith = { code, reason };
    this.log.push(['close', code]);
    // A client that reads answers the close frame at once.
    if (this.reading) setImmediate(() => this.finishClose(code));
  }

  terminate(): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.terminated = true;
    this.log.push(['terminate']);
    setImmediate(() => this.emit('close', 1006, Buffer.alloc(0)));
  }

  // The client's side.

  /** The client sends a JSON value as a text frame (or a binary one). */
  clientSend(value: unknown, binary = false): void {
    const bytes = Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
    this.emit('message', binary ? bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) : bytes, binary);
  }

  /** The client completes the closing handshake (or closes first) with `code`. */
  finishClose(code = 1000): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.emit('close', code, Buffer.alloc(0));
  }

  /** The client reads what was buffered. */
  drainBuffer(): void {
    this.bufferedAmount = 0;
  }

  /** Sent frames, parsed. */
  frames(): any[] {
    return this.sent.map((text) => JSON.parse(text));
  }
}
