/**
 * How the proxy stops: at once (clients closed with 1001), or by a drain (owed answers delivered,
 * then 1012 so clients reconnect elsewhere at once), always within a bounded time.
 */
import type http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebSocket } from 'ws';
import { CloseCode, type ServedSocket } from 'steadyrpc';
import type { ActiveRequests, UnstartedConnections } from './listeners.js';

/**
 * How long a client has to complete the closing handshake at the end, and how long past `drainMs`
 * the drain waits for clients' own drain deadlines to play out, in ms.
 */
export const CLOSE_GRACE_MS = 1_000;

/**
 * A drain keeps the client listener open until no client request or upgrade has arrived for this
 * long (at most until `drainMs`): a load balancer routes to the replica until its check reads the
 * 503, and a connection it makes in that time must be served, not reset. A listener closed under
 * a connection the kernel had accepted would reset it after the request went out, and a balancer
 * can then tell neither way whether the request was carried out (HAProxy's `empty-response`).
 * Once no request comes, one a balancer still sends finds the port closed and is retried
 * elsewhere (`conn-failure`: provably never sent).
 */
export const LISTEN_QUIET_MS = 1_000;

export interface ShutdownParts {
  /** The client listener: it stops accepting as the shutdown starts. */
  readonly server: http.Server;
  /** Listeners closed last (the admin listener: readiness reads 503 there during the drain). */
  readonly last: readonly http.Server[];
  /** Client sockets open now, with the `ws` socket each one is served on. */
  readonly clients: ReadonlyMap<ServedSocket, WebSocket>;
  /** HTTP requests being answered on the client listener. */
  readonly active: ActiveRequests;
  /** Client connections that have not sent a whole request yet: closed when the port stops accepting. */
  readonly unstarted: UnstartedConnections;
  /**
   * Settles the HTTP requests still in progress at the end (the pool's close): each is answered,
   * with an error if need be, before its connection closes.
   */
  readonly settle: () => void;
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
   * Without `drainMs`: closes every client with 1001 now. With it: the client listener keeps
   * accepting until no client request came for {@link LISTEN_QUIET_MS} (HTTP requests are served,
   * answered `Connection: close`; upgrades refused with 503), then stops (Node closes its idle
   * connections, and those that have not sent a whole request yet are closed); HTTP requests in progress have `drainMs` to be answered, each client `drainMs` to
   * get what it is owed before its 1012; then what remains is closed anyway. Either way an HTTP
   * request still in progress is answered ({@link ShutdownParts.settle}) before its connection
   * closes. Done within `drainMs` + 2 × {@link CLOSE_GRACE_MS}.
   */
  async run(drainMs?: number): Promise<void> {
    const { server, last, clients, active, unstarted, settle } = this.#parts;
    const closed = (s: http.Server) => new Promise((resolve) => s.close(resolve));
    // No new connection, and none that has not sent a whole request yet: that request goes elsewhere.
    const stopAccepting = () => {
      stopped ??= closed(server);
      unstarted.closeAll();
    };
    const timers = new AbortController();
    const wait = (ms: number, signal = timers.signal) => sleep(ms, undefined, { signal }).catch(() => undefined);
    let stopped: Promise<unknown> | undefined;
    try {
      if (drainMs !== undefined && !this.#hurry.signal.aborted) {
        const cut = AbortSignal.any([timers.signal, this.#hurry.signal]);
        const deadline = Date.now() + drainMs;
        const listening = this.#quiet(deadline, wait, cut).then(stopAccepting);
        const http = listening.then(() => Promise.race([active.idle(), wait(deadline - Date.now(), cut)]));
        // Each socket's drain has its own deadline (drainMs): give it the grace to play out.
        const sockets = Promise.all([...clients.keys()].map((served) => served.drain(drainMs)));
        await Promise.race([Promise.all([http, sockets]), wait(drainMs + CLOSE_GRACE_MS, cut)]);
      }
      stopAccepting();
      const hurried = drainMs === undefined || this.#hurry.signal.aborted;
      for (const served of clients.keys()) {
        if (hurried) served.close(CloseCode.GOING_AWAY, 'steadyrpc: shutting down');
        else served.close(CloseCode.SERVICE_RESTART, 'steadyrpc: service restart');
      }
      // Always, not only when a request is in progress now: a connection accepted before the port
      // closed may still complete one, and it must be answered (an error, never sent on) rather
      // than sent to a node and then cut by closeAllConnections below.
      settle();
      await Promise.race([Promise.all([...[...clients.keys()].map((served) => served.closed), active.idle()]), wait(CLOSE_GRACE_MS)]);
      server.closeAllConnections();
      for (const ws of clients.values()) ws.terminate();
      const others = last.map(closed);
      for (const other of last) other.closeAllConnections();
      await Promise.all([stopped, ...others]);
    } finally {
      timers.abort();
    }
  }

  /** Resolves once no client request arrived for {@link LISTEN_QUIET_MS}, or at `deadline`, or on a hurry. */
  async #quiet(deadline: number, wait: (ms: number, signal?: AbortSignal) => Promise<unknown>, cut: AbortSignal): Promise<void> {
    const from = Date.now();
    for (;;) {
      const now = Date.now();
      const quietAt = Math.max(from, this.#parts.active.lastArrival) + LISTEN_QUIET_MS;
      if (now >= quietAt || now >= deadline || cut.aborted) return;
      await wait(Math.min(quietAt, deadline) - now, cut);
    }
  }
}
