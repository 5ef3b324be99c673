/**
 * How the proxy stops: at once (clients closed with 1001), or by a drain (owed answers delivered,
 * then 1012 so clients reconnect elsewhere at once), always within a bounded time.
 */
import type http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebSocket } from 'ws';
import { CloseCode, type ServedSocket } from 'steadyrpc';
import type { ActiveRequests } from './listeners.js';

/**
 * How long a client has to complete the closing handshake at the end, and how long past `drainMs`
 * the drain waits for clients' own drain deadlines to play out, in ms.
 */
export const CLOSE_GRACE_MS = 1_000;

export interface ShutdownParts {
  /** The client listener: it stops accepting as the shutdown starts. */
  readonly server: http.Server;
  /** Listeners closed last (the admin listener: readiness reads 503 there during the drain). */
  readonly last: readonly http.Server[];
  /** Client sockets open now, with the `ws` socket each one is served on. */
  readonly clients: ReadonlyMap<ServedSocket, WebSocket>;
  /** HTTP requests being answered on the client listener. */
  readonly active: ActiveRequests;
}

/**
 * One shutdown of the proxy. {@link run} closes the listeners and clients; {@link hurry} cuts a
 * drain short (what remains is closed with 1001 at once). The pool is the caller's to close.
 */
export class Shutdown {
  readonly #parts: ShutdownParts;
  readonly #hurry = new AbortController();

  constructor(parts: ShutdownParts) {
    this.#parts = parts;
  }

  hurry(): void {
    this.#hurry.abort();
  }

  /**
   * Without `drainMs`: closes every client with 1001 and every connection now. With it: the client
   * listener stops accepting (Node closes its idle connections; a busy one closes once answered,
   * since the proxy then answers `Connection: close`), HTTP requests in progress have `drainMs` to
   * be answered, each client `drainMs` to get what it is owed before its 1012; then what remains is
   * closed anyway. Done within `drainMs` + 2 × {@link CLOSE_GRACE_MS}.
   */
  async run(drainMs?: number): Promise<void> {
    const { server, last, clients, active } = this.#parts;
    const closed = (s: http.Server) => new Promise((resolve) => s.close(resolve));
    const stopped = closed(server);
    const timers = new AbortController();
    const wait = (ms: number, signal = timers.signal) => sleep(ms, undefined, { signal }).catch(() => undefined);
    try {
      if (drainMs !== undefined && !this.#hurry.signal.aborted) {
        const cut = AbortSignal.any([timers.signal, this.#hurry.signal]);
        const http = Promise.race([active.idle(), wait(drainMs, cut)]);
        // Each socket's drain has its own deadline (drainMs): give it the grace to play out.
        const sockets = Promise.all([...clients.keys()].map((served) => served.drain(drainMs)));
        await Promise.race([Promise.all([http, sockets]), wait(drainMs + CLOSE_GRACE_MS, cut)]);
      }
      const hurried = drainMs === undefined || this.#hurry.signal.aborted;
      for (const served of clients.keys()) {
        if (hurried) served.close(CloseCode.GOING_AWAY, 'steadyrpc: shutting down');
        else served.close(CloseCode.SERVICE_RESTART, 'steadyrpc: service restart');
      }
      server.closeAllConnections();
      await Promise.race([Promise.all([...clients.keys()].map((served) => served.closed)), wait(CLOSE_GRACE_MS)]);
      for (const ws of clients.values()) ws.terminate();
      const others = last.map(closed);
      for (const other of last) other.closeAllConnections();
      await Promise.all([stopped, ...others]);
    } finally {
      timers.abort();
    }
  }
}
