/**
 * A fault-injecting TCP proxy in front of one target (an anvil node), on a free 127.0.0.1 port.
 *
 * Modes (switchable at any time, applied to new and existing connections):
 * - pass / restore: forward bytes both ways;
 * - cut: stop listening (new connects get ECONNREFUSED) and reset every open connection; the next
 *   pass/restore/slow/blackhole listens again on the SAME port, so URLs stay valid;
 * - blackhole: accept connections but deliver nothing in either direction, and never close a
 *   connection on its own (a zombie). Bytes are held, not lost, like a network partition under TCP:
 *   they flow on when the proxy passes again (unless `blackhole({ discard: true })`);
 * - slow(ms): delay every chunk by `ms`, in both directions, keeping order.
 *
 * Bytes are forwarded by explicit 'data' handlers and per-direction queues (no pipe()), so the mode
 * can stop delivery mid-stream. Socket errors (ECONNRESET, EPIPE, ...) are absorbed: they close the
 * connection on both sides but never surface as unhandled 'error' events.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface FaultProxyTarget {
  host: string;
  port: number;
}

export type FaultMode = 'pass' | 'cut' | 'blackhole' | 'closed';

export interface FaultProxyStats {
  /** Connections open right now (client side or upstream side not yet closed). */
  connections: number;
  /** Connections accepted since start. */
  accepted: number;
}

type Item =
  | { kind: 'data'; chunk: Buffer; due: number }
  | { kind: 'end'; due: number }
  | { kind: 'reset'; due: number };

/** One direction of one connection: bytes read from `src`, written to `dst`. */
interface Lane {
  src: Socket;
  dst: Socket;
  queue: Item[];
  lastDue: number;
  timer: NodeJS.Timeout | undefined;
  /** False while `dst` is an upstream socket still connecting. */
  ready: () => boolean;
}

interface Connection {
  client: Socket;
  upstream: Socket;
  up: Lane;
  down: Lane;
  clientClosed: boolean;
  upstreamClosed: boolean;
}

const HOST = '127.0.0.1';

export class FaultProxy {
  readonly port: number;
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly target: FaultProxyTarget;

  #server: Server;
  #mode: FaultMode = 'pass';
  #delayMs = 0;
  #discard = false;
  #listening = true;
  #accepted = 0;
  readonly #connections = new Set<Connection>();
  /** Serializes mode changes (listen/close of the listening socket are asynchronous). */
  #op: Promise<void> = Promise.resolve();

  private constructor(server: Server, port: number, target: FaultProxyTarget) {
    this.#server = server;
    this.port = port;
    this.httpUrl = `http://${HOST}:${port}`;
    this.wsUrl = `ws://${HOST}:${port}`;
    this.target = { ...target };
  }

  static async start(target: FaultProxyTarget): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      if (proxy) proxy.#accept(socket);
      else socket.destroy();
    });
    // After the first listen, errors can only come from a re-listen, which reports them itself.
    server.on('error', () => {});
    const port = await new Promise<number>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      server.once('error', onError);
      server.listen({ host: HOST, port: 0 }, () => {
        server.off('error', onError);
        const address = server.address();
        if (address === null || typeof address === 'string') reject(new Error('FaultProxy: no TCP address'));
        else resolve(address.port);
      });
    });
    proxy = new FaultProxy(server, port, target);
    return proxy;
  }

  get mode(): FaultMode {
    return this.#mode;
  }

  get delayMs(): number {
    return this.#delayMs;
  }

  /** Forward bytes both ways, without delay; listen again if cut. Held (blackholed) bytes flow on. */
  pass(): Promise<void> {
    return this.#switch('pass', 0);
  }

  /** Same as {@link pass}. */
  restore(): Promise<void> {
    return this.pass();
  }

  /** Forward bytes both ways, each chunk delayed by `ms` (order kept). */
  slow(ms: number): Promise<void> {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`FaultProxy.slow: bad delay ${ms}`);
    return this.#switch('pass', ms);
  }

  /**
   * Accept connections but deliver nothing either way, and keep every connection open silently.
   * Held bytes are delivered on the next pass/slow, unless `discard` drops them as they arrive.
   */
  blackhole(options: { discard?: boolean } = {}): Promise<void> {
    return this.#switch('blackhole', 0, options.discard ?? false);
  }

  /** Refuse new connections (ECONNREFUSED) and reset every open one (RST). */
  cut(): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#mode === 'closed') return;
      this.#mode = 'cut';
      this.#delayMs = 0;
      this.#stopListening();
      this.#killAll();
    });
  }

  /** Stop listening and destroy every connection. Idempotent; the proxy cannot be reused. */
  close(): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#mode === 'closed') return;
      this.#mode = 'closed';
      this.#stopListening();
      this.#killAll();
    });
  }

  stats(): FaultProxyStats {
    return { connections: this.#connections.size, accepted: this.#accepted };
  }

  #enqueue(op: () => Promise<void>): Promise<void> {
    const next = this.#op.then(op);
    this.#op = next.catch(() => {});
    return next;
  }

  #switch(mode: 'pass' | 'blackhole', delayMs: number, discard = false): Promise<void> {
    return this.#enqueue(async () => {
      if (this.#mode === 'closed') throw new Error('FaultProxy is closed');
      this.#mode = mode;
      this.#delayMs = delayMs;
      this.#discard = discard;
      await this.#listen();
      if (mode === 'pass') for (const connection of this.#connections) this.#pumpBoth(connection);
    });
  }

  #stopListening(): void {
    if (!this.#listening) return;
    this.#listening = false;
    // Closes the listening socket right away; connects from now on are refused by the kernel.
    this.#server.close();
  }

  async #listen(): Promise<void> {
    if (this.#listening) return;
    // The port could in theory be taken while we were cut (e.g. as another socket's ephemeral port).
    let lastError: unknown;
    for (let attempt = 0; attempt < 40; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          const onError = (error: Error) => reject(error);
          this.#server.once('error', onError);
          this.#server.listen({ host: HOST, port: this.port }, () => {
            this.#server.off('error', onError);
            resolve();
          });
        });
        this.#listening = true;
        return;
      } catch (error) {
        lastError = error;
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    throw new Error(`FaultProxy: cannot listen again on ${HOST}:${this.port}: ${String(lastError)}`);
  }

  #killAll(): void {
    for (const connection of this.#connections) {
      for (const lane of [connection.up, connection.down]) {
        if (lane.timer) clearTimeout(lane.timer);
        lane.timer = undefined;
        lane.queue.length = 0;
      }
      reset(connection.client);
      reset(connection.upstream);
    }
    this.#connections.clear();
  }

  #accept(client: Socket): void {
    this.#accepted++;
    client.on('error', () => {});
    if (this.#mode === 'cut' || this.#mode === 'closed') {
      // Raced with cut(): accepted before the listening socket closed.
      reset(client);
      return;
    }
    client.setNoDelay(true);
    const upstream = connect({ host: this.target.host, port: this.target.port, allowHalfOpen: true });
    upstream.setNoDelay(true);
    const lane = (src: Socket, dst: Socket, ready: () => boolean): Lane => ({ src, dst, queue: [], lastDue: 0, timer: undefined, ready });
    const connection: Connection = {
      client,
      upstream,
      // Writes toward the upstream wait (in the queue) until it is connected.
      up: lane(client, upstream, () => !upstream.connecting),
      down: lane(upstream, client, () => true),
      clientClosed: false,
      upstreamClosed: false,
    };
    this.#connections.add(connection);

    const wire = (src: Socket, lane: Lane, closedFlag: 'clientClosed' | 'upstreamClosed') => {
      src.on('data', (chunk: Buffer) => this.#push(lane, { kind: 'data', chunk, due: 0 }));
      src.on('end', () => this.#push(lane, { kind: 'end', due: 0 }));
      // A failed socket (ECONNRESET, ECONNREFUSED from the target, ...) resets the other side.
      src.on('error', () => this.#push(lane, { kind: 'reset', due: 0 }));
      src.on('close', () => {
        connection[closedFlag] = true;
        if (connection.clientClosed && connection.upstreamClosed) this.#connections.delete(connection);
      });
    };
    wire(client, connection.up, 'clientClosed');
    wire(upstream, connection.down, 'upstreamClosed');
    upstream.on('connect', () => this.#pump(connection.up));
  }

  #push(lane: Lane, item: Item): void {
    if (this.#mode === 'cut' || this.#mode === 'closed') return;
    if (item.kind === 'data' && this.#mode === 'blackhole' && this.#discard) return;
    const now = Date.now();
    item.due = Math.max(now + this.#delayMs, lane.lastDue);
    lane.lastDue = item.due;
    lane.queue.push(item);
    this.#pump(lane);
  }

  #pumpBoth(connection: Connection): void {
    this.#pump(connection.up);
    this.#pump(connection.down);
  }

  #pump(lane: Lane): void {
    while (lane.timer === undefined && this.#mode === 'pass' && lane.ready()) {
      const head = lane.queue[0];
      if (!head) return;
      const wait = head.due - Date.now();
      if (wait > 0) {
        lane.timer = setTimeout(() => {
          lane.timer = undefined;
          this.#pump(lane);
        }, wait);
        return;
      }
      lane.queue.shift();
      deliver(lane.dst, head);
    }
  }
}

function deliver(dst: Socket, item: Item): void {
  if (dst.destroyed) return;
  switch (item.kind) {
    case 'data':
      if (dst.writable) dst.write(item.chunk);
      return;
    case 'end':
      if (dst.writable) dst.end();
      return;
    case 'reset':
      reset(dst);
      return;
  }
}

/** Close with RST where possible (Node >= 18.3), else a plain destroy. */
function reset(socket: Socket): void {
  if (socket.destroyed) return;
  try {
    if (typeof socket.resetAndDestroy === 'function' && !socket.connecting) socket.resetAndDestroy();
    else socket.destroy();
  } catch {
    socket.destroy();
  }
}
