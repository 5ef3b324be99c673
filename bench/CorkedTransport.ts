/**
 * A bench-only prototype, not a product: a SocketTransport whose sockets coalesce every frame sent
 * in one turn of the event loop into one write (cork on the first send, uncork on the next tick).
 * The request case `session-corked` injects it into an UpstreamSession to measure what the same
 * change in src/transport/WsSocketTransport.ts would gain: without it, each upstream frame costs
 * one writev syscall, the biggest item in the session's profile.
 */
import type { Socket } from 'node:net';
import WebSocket, { type RawData } from 'ws';
import type { SocketEndpoint, SocketListener, SocketTransport, UpstreamSocket } from 'steadyrpc';

export class CorkedTransport implements SocketTransport {
  open(endpoint: SocketEndpoint, listener: SocketListener): UpstreamSocket {
    return new CorkedSocket(endpoint, listener);
  }
}

class CorkedSocket implements UpstreamSocket {
  readonly #ws: WebSocket;
  #closed = false;
  #corked = false;

  constructor(endpoint: SocketEndpoint, listener: SocketListener) {
    const ws = new WebSocket(endpoint.url, endpoint.protocols ?? [], { headers: { ...endpoint.headers }, perMessageDeflate: false });
    this.#ws = ws;
    const close = (code: number, reason: string) => {
      if (this.#closed) return;
      this.#closed = true;
      listener.onClose({ code, reason });
    };
    ws.on('open', () => !this.#closed && listener.onOpen());
    ws.on('message', (data: RawData) => !this.#closed && listener.onMessage(toText(data)));
    ws.on('error', (error) => !this.#closed && listener.onError(error));
    ws.on('close', (code, reason) => close(code, reason.toString('utf8')));
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  send(text: string): void {
    if (this.#closed || this.#ws.readyState !== WebSocket.OPEN) throw new Error('Cannot send: socket is not open');
    if (!this.#corked) {
      // `_socket` is ws' underlying net.Socket (not public API: fine for a measurement).
      const socket = (this.#ws as unknown as { _socket: Socket })._socket;
      socket.cork();
      this.#corked = true;
      process.nextTick(() => {
        this.#corked = false;
        socket.uncork();
      });
    }
    this.#ws.send(text);
  }

  close(code?: number, reason?: string): void {
    if (this.#ws.readyState === WebSocket.CONNECTING) this.#ws.terminate();
    else this.#ws.close(code, reason);
  }

  terminate(): void {
    this.#ws.terminate();
  }
}

function toText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
