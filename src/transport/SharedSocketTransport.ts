import type { Clock } from '../Clock.js';
import { systemClock } from '../Clock.js';
import { SteadyRpcError } from '../errors.js';
import type { Random } from '../random.js';
import { defaultRandom } from '../random.js';
import type { SocketCloseInfo, SocketEndpoint, SocketListener, SocketTransport, UpstreamSocket } from './SocketTransport.js';
import { defaultSocketTransport } from './defaultSocketTransport.js';
import { IsolationLane, LANE_ANSWER_MS } from './IsolationLane.js';
import { SharedConnection, type ConnectionOwner, type ConnectionSettings } from './shared/SharedConnection.js';
import { VirtualSocket } from './shared/VirtualSocket.js';

export interface SharedSocketTransportOptions {
  /**
   * Opens the real sockets: one per URL (and subprotocols), with the headers of the session that
   * opened it first.
   * @default defaultSocketTransport(): ws on Node, the platform's WebSocket elsewhere
   */
  transport?: SocketTransport;
  /**
   * Whether subscriptions with the same params share one upstream subscription per socket (its
   * notifications fanned out to every subscriber, each under an id of its own). Off: each
   * `eth_subscribe` is its own upstream subscription.
   * @default true
   */
  shareSubscriptions?: boolean;
  /**
   * After a real socket failed to open (or was closed by the node within this time of opening),
   * how long opens to the same endpoint fail at once with the same close instead of connecting
   * again: thousands of sessions retrying a dead node make one connect attempt per this interval,
   * not one each.
   * @default 250 (ms)
   */
  retryAfterMs?: number;
  /**
   * `eth_chainId` (every session's keepalive call) is answered from the value the node last gave
   * on the socket, without asking it again, while the socket has carried a frame within this many
   * ms: thousands of idle sessions keeping alive then cost the node one call per socket per window,
   * not one each. A socket that went silent longer gets the call (so a dead node still misses the
   * keepalive deadline). 0: always ask the node.
   * @default 1000 (ms)
   */
  livenessWindowMs?: number;
  /**
   * Source of time for connect pacing, the liveness window and pending subscribes.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Draws the random part of the subscription ids handed out (so two transports never hand out the
   * same id).
   * @default defaultRandom (Math.random)
   */
  random?: Random;
}

export interface SharedSocketStats {
  /** Real sockets open or opening. */
  sockets: number;
  /** Virtual sockets using them. */
  users: number;
  /** Upstream subscriptions on the real sockets. */
  upstreamSubscriptions: number;
  /** Subscriptions handed to users (each shares one upstream subscription). */
  subscriptions: number;
  /**
   * Frames from upstream that could be given to no user: not JSON, nested too deep to serialise
   * again (deeper than 2,048 levels; the call it answers gets -32603), or an answer nobody waits
   * for (its session left before it came).
   */
  unroutable: number;
  /**
   * Calls sent with `isolate` (SendOptions: a session sends so a call that was in flight on a socket
   * an answer too large closed), each put on a real socket of its own to go one at a time (see
   * IsolationLane); since the transport was made.
   */
  isolated: number;
  /** Of those, calls answered FRAME_TOO_LARGE: their answer failed a socket they were alone in flight on. */
  isolatedTooLarge: number;
}

const DEFAULTS = Object.freeze({ shareSubscriptions: true, retryAfterMs: 250, livenessWindowMs: 1_000 });

/** Failed endpoints remembered for pacing before expired ones are swept. */
const FAILURES_KEPT = 1_000;

/**
 * A {@link SocketTransport} whose sockets share one real socket per endpoint: thousands of
 * sessions on one node cost one connection, and (with `shareSubscriptions`) one upstream
 * subscription per distinct params instead of one each. Give the same instance to every session.
 *
 * Each user socket is virtual: the ids it sends are re-addressed to ids unique on the real socket
 * and restored on the answers; `eth_subscribe` and `eth_unsubscribe` are served from the shared
 * subscriptions (the first subscriber's call goes upstream, asked again when the node leaves it
 * unanswered for a second; later ones are answered with an id of their own; the last unsubscribe
 * closes it upstream). Nothing is answered on the node's behalf, and no user is let onto a real
 * socket already open, unless the node has been heard on it just now or after (its next frame, or
 * one `eth_chainId` for everything waiting); a real socket that does not answer gets no new users,
 * those waiting get a fresh one. When the real socket closes, every user socket on it closes with
 * the same code; when its last user leaves, the real socket is closed; when a user gives up on it
 * (`terminate()`) while the node has been silent, it is torn down for all. Answers to a batch come
 * back one by one; an empty batch gets no answer; one-way `eth_subscribe` and `eth_unsubscribe`
 * calls are dropped.
 *
 * Opens do not each connect, so sessions skip the pool's per-node connect pacing for this
 * transport ({@link multiplexed}); real connects are paced here instead (`retryAfterMs`).
 *
 * This class is the facade: options, the real connections by endpoint, connect pacing, the
 * subscription ids it hands out, and `stats()`. The parts live in `./shared/`: `SharedConnection`
 * (one real socket and its life), `LivenessGate` (a session is let on once the node is heard),
 * `FrameRouter` (frames both ways), `VirtualSocket` (what a session holds), `SharedSubscriptions`
 * (one upstream subscription per distinct params, fanned out) and `IdAddressing` (ids unique on
 * the real socket, answers given back under the sender's id).
 */
export class SharedSocketTransport implements SocketTransport {
  /** Opens share connections: sessions do not pace them per node. */
  readonly multiplexed = true;
  /**
   * What reaches a session is one JSON value, and a frame in the common shape is exactly that
   * shape with its result (or error) one JSON value: the node's text is passed on only when it was
   * checked to be so, anything else is written anew with its JSON-RPC members only. Thousands of
   * sessions on one subscription do not check each frame again.
   */
  readonly framesChecked = true;
  /** Calls sent with `isolate` go on sockets of their own (see IsolationLane). */
  readonly isolates = true;
  readonly #inner: SocketTransport;
  readonly #settings: ConnectionSettings;
  readonly #clock: Clock;
  readonly #idPrefix: string;
  readonly #connections = new Map<string, SharedConnection>();
  /** Every real socket open or opening, including those that take no new users any more. */
  readonly #all = new Set<SharedConnection>();
  /** Endpoints whose last connect failed: when, and how. */
  readonly #failures = new Map<string, { at: number; info: SocketCloseInfo }>();
  /** By endpoint: the calls sent on sockets of their own (see IsolationLane). */
  readonly #lanes = new Map<string, IsolationLane>();
  #nextSubscription = 1;
  #unroutable = 0;
  #isolated = 0;
  #isolatedTooLarge = 0;
  /** What the connections tell this transport: kept off its public surface. */
  readonly #owner: ConnectionOwner = {
    subscriptionId: () => `0x${this.#idPrefix}${(this.#nextSubscription++).toString(16).padStart(16, '0')}`,
    unroutable: () => {
      this.#unroutable += 1;
    },
    retired: (connection) => {
      if (this.#connections.get(connection.key) === connection) this.#connections.delete(connection.key);
    },
    place: (user) => this.#place(user),
    ended: (connection, failed) => this.#ended(connection, failed),
    isolate: (key, user, idText, method, rest, timeoutMs) => {
      let lane = this.#lanes.get(key);
      if (lane === undefined) {
        const created = (lane = new IsolationLane(this.#inner, this.#clock, {
          tooLarge: (method) => {
            this.#isolatedTooLarge += 1;
            return `The answer to ${method} was larger than the socket takes (the maxPayload of the transport under SharedSocketTransport): it failed a socket it was alone in flight on; not sent again`;
          },
          idle: () => {
            if (this.#lanes.get(key) === created) this.#lanes.delete(key);
          },
        }));
        this.#lanes.set(key, lane);
      }
      // A second past its session's deadline, when it said (that one answers the client): the lane
      // only lets the socket go then.
      lane.add(user, idText, method, rest, timeoutMs === undefined ? LANE_ANSWER_MS : timeoutMs + 1_000);
      this.#isolated += 1;
    },
  };

  constructor(options: SharedSocketTransportOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected SharedSocketTransport options to be an object, got ${String(options)}`);
    }
    const {
      transport = defaultSocketTransport(),
      shareSubscriptions = DEFAULTS.shareSubscriptions,
      retryAfterMs = DEFAULTS.retryAfterMs,
      livenessWindowMs = DEFAULTS.livenessWindowMs,
      clock = systemClock,
      random = defaultRandom,
    } = options;
    if (typeof transport?.open !== 'function') throw new SteadyRpcError('ERR_CONFIG', 'Expected transport to be a SocketTransport (with an open() method)');
    if (typeof shareSubscriptions !== 'boolean') {
      throw new SteadyRpcError('ERR_CONFIG', `Expected shareSubscriptions to be a boolean, got ${String(shareSubscriptions)}`);
    }
    if (typeof retryAfterMs !== 'number' || !Number.isFinite(retryAfterMs) || retryAfterMs < 0) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected retryAfterMs to be a number >= 0 (ms), got ${String(retryAfterMs)}`);
    }
    if (typeof livenessWindowMs !== 'number' || !Number.isFinite(livenessWindowMs) || livenessWindowMs < 0) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected livenessWindowMs to be a number >= 0 (ms), got ${String(livenessWindowMs)}`);
    }
    this.#inner = transport;
    this.#settings = Object.freeze({ shareSubscriptions, retryAfterMs, livenessWindowMs });
    this.#clock = clock;
    this.#idPrefix = Array.from({ length: 2 }, () => Math.floor(random() * 2 ** 32).toString(16).padStart(8, '0')).join('');
  }

  /**
   * A virtual socket on the real socket to `endpoint` (its URL and subprotocols): joins the one
   * open or opening, or connects one, with this endpoint's headers. Within `retryAfterMs` of a
   * failed connect to it, the socket closes at once with that failure's close instead. On a real
   * socket already open it opens once the node has been heard on it after this call (a frame, or
   * the answer to one `eth_chainId` asked for every open waiting); when the node does not answer
   * within 1 s, on a fresh real socket.
   */
  open(endpoint: SocketEndpoint, listener: SocketListener): UpstreamSocket {
    const user = new VirtualSocket(endpoint, listener);
    this.#place(user);
    return user;
  }

  #place(user: VirtualSocket): void {
    const { endpoint } = user;
    const key = JSON.stringify([endpoint.url, endpoint.protocols ?? []]);
    let connection = this.#connections.get(key);
    if (connection === undefined) {
      const failure = this.#failures.get(key);
      if (failure !== undefined && this.#clock.now() - failure.at < this.#settings.retryAfterMs) return user.fail(failure.info);
      this.#failures.delete(key);
      connection = new SharedConnection(this.#owner, key, this.#settings, this.#clock);
      this.#connections.set(key, connection);
      this.#all.add(connection);
      connection.connect(this.#inner, endpoint);
    }
    connection.join(user);
  }

  /** A snapshot of the real sockets, their users and subscriptions, and the frames nobody took. */
  stats(): SharedSocketStats {
    let users = 0;
    let upstreamSubscriptions = 0;
    let subscriptions = 0;
    for (const connection of this.#all) {
      users += connection.users.size;
      upstreamSubscriptions += connection.subscriptions.upstreamCount;
      subscriptions += connection.subscriptions.memberCount;
    }
    return Object.freeze({ sockets: this.#all.size, users, upstreamSubscriptions, subscriptions, unroutable: this.#unroutable, isolated: this.#isolated, isolatedTooLarge: this.#isolatedTooLarge });
  }

  /**
   * A real socket is done: forgotten, and when its connect failed (`failed`: how it ended),
   * remembered so that opens to its endpoint are paced.
   */
  #ended(connection: SharedConnection, failed: SocketCloseInfo | undefined): void {
    this.#all.delete(connection);
    if (this.#connections.get(connection.key) === connection) this.#connections.delete(connection.key);
    if (failed === undefined) return;
    if (this.#failures.size >= FAILURES_KEPT) {
      const now = this.#clock.now();
      for (const [key, { at }] of this.#failures) if (now - at >= this.#settings.retryAfterMs) this.#failures.delete(key);
    }
    this.#failures.set(connection.key, { at: this.#clock.now(), info: failed });
  }
}
