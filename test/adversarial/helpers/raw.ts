/**
 * Clients that misbehave below JSON-RPC: raw TCP connections that send nothing, drip bytes or stop
 * half-way through a handshake, and a WebSocket client that keeps every frame's exact text.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import WebSocket from 'ws';

export interface RawConnection {
  readonly socket: net.Socket;
  /** Date.now() when the TCP connection opened. */
  readonly openedAt: number;
  /** Everything the server sent so far. */
  received(): string;
  /** Settles when the server (or the test) closed the connection: ms after opening, and what came. */
  readonly closed: Promise<{ afterMs: number; received: string }>;
  /** Writes `text` one byte every `everyMs` until it is all sent or the connection closes. */
  drip(text: string, everyMs: number): void;
}

/** A raw TCP connection to `url`'s host and port. */
export async function rawConnect(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const openedAt = Date.now();
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString('latin1')));
  const timers = new Set<NodeJS.Timeout>();
  const closed = new Promise<{ afterMs: number; received: string }>((resolve) =>
    socket.once('close', () => {
      for (const timer of timers) clearInterval(timer);
      resolve({ afterMs: Date.now() - openedAt, received });
    }),
  );
  return {
    socket,
    openedAt,
    received: () => received,
    closed,
    drip(text, everyMs) {
      let i = 0;
      const timer = setInterval(() => {
        if (socket.destroyed || i >= text.length) {
          clearInterval(timer);
          timers.delete(timer);
          return;
        }
        socket.write(text[i++]!);
      }, everyMs);
      timers.add(timer);
    },
  };
}

/** The request of a WebSocket upgrade, complete (ends with the blank line). */
export function upgradeRequest(url: string): string {
  const { host, pathname } = new URL(url);
  return (
    `GET ${pathname || '/'} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}

/** The first line of an HTTP answer (`HTTP/1.1 408 Request Timeout`), or '' when none came. */
export const statusLine = (received: string): string => received.split('\r\n', 1)[0] ?? '';

/** A WebSocket client that records every frame as the exact text the server sent. */
export class TextClient {
  readonly texts: string[] = [];
  readonly ws: WebSocket;
  /** Settles with the close code (1006 when the connection dropped without one). */
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => this.texts.push(String(data)));
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  }

  static async connect(url: string): Promise<TextClient> {
    const ws = new WebSocket(url);
    ws.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
      ws.once('close', () => reject(new Error('closed before opening')));
    });
    return new TextClient(ws);
  }

  send(text: string): void {
    this.ws.send(text);
  }

  /** Resolves with the first frame (from `from` on) that `match` accepts; rejects after `timeoutMs`. */
  async next(match: (text: string) => boolean, timeoutMs = 10_000, from = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.texts.slice(from).find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`no matching frame within ${timeoutMs} ms; got ${this.texts.slice(-3).join(' | ').slice(0, 500)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Sends `text` and resolves with the next frame after it (that `match` accepts: e.g. not a notification). */
  async ask(text: string, timeoutMs = 10_000, match: (text: string) => boolean = () => true): Promise<string> {
    const from = this.texts.length;
    this.send(text);
    return this.next(match, timeoutMs, from);
  }

  close(): void {
    this.ws.close();
  }
}

/** POSTs `body` as is and returns the status and the exact text of the answer. */
export async function postText(url: string, body: string, timeoutMs = 15_000): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, text: await response.text() };
}
