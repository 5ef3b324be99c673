import type { Clock } from '../Clock.js';
import { systemClock } from '../Clock.js';
import { SteadyRpcError } from '../errors.js';
import type { JsonRpcId } from '../jsonrpc.js';
import type { Random } from '../random.js';
import { defaultRandom } from '../random.js';
import type { SocketCloseInfo, SocketEndpoint, SocketListener, SocketTransport, UpstreamSocket } from './SocketTransport.js';
import { CloseCode } from './SocketTransport.js';
import { WsSocketTransport } from './WsSocketTransport.js';

export interface SharedSocketTransportOptions {
  /** Opens the real sockets. @default a new WsSocketTransport */
  transport?: SocketTransport;
  /**
   * Whether subscriptions with the same params share one upstream subscription per socket (its
   * notifications fanned out to every subscriber, each under an id of its own). Off: each
   * `eth_subscribe` is its own upstream subscription.
   * @default true
   */
  shareSubscriptions?: boolean;
  /**
   * After a real socket failed to open, how long opens to the same endpoint fail at once with the
   * same close instead of connecting again: thousands of sessions retrying a dead node make one
   * connect attempt per this interval, not one each.
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
  clock?: Clock;
  /** Draws the random part of the subscription ids handed out. */
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
  /** Frames from upstream that could be given to no user (not JSON, or an answer nobody waits for). */
  unroutable: number;
}

const DEFAULTS = Object.freeze({ shareSubscriptions: true, retryAfterMs: 250, livenessWindowMs: 1_000 });

// The shapes a session writes and nodes answer with: re-addressed by splicing the id, not by parsing.
const REQUEST_HEAD = /^\{"jsonrpc":"2\.0","id":(\d{1,15}),"method":"([A-Za-z0-9_]+)"/;
const ANSWER_HEAD = /^\{"jsonrpc":"2\.0","id":(\d{1,15}),"(?:result|error)":/;
const NOTIFICATION_PREFIX = '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"';
const NOTIFICATION_HEAD = /^\{"jsonrpc":"2\.0","method":"eth_subscription","params":\{"subscription":"/;
const ID_START = NOTIFICATION_PREFIX.length;
/** `{"jsonrpc":"2.0","id":` */
const ID_AT = 22;

/**
 * A {@link SocketTransport} whose sockets share one real socket per endpoint: thousands of
 * sessions on one node cost one connection, and (with `shareSubscriptions`) one upstream
 * subscription per distinct params instead of one each. Give the same instance to every session.
 *
 * Each user socket is virtual: the ids it sends are re-addressed to ids unique on the real socket
 * and restored on the answers; `eth_subscribe` and `eth_unsubscribe` are served from the shared
 * subscriptions (the first subscriber's call goes upstream, later ones are answered at once with
 * an id of their own; the last unsubscribe closes it upstream). When the real socket closes, every
 * user socket on it closes with the same code; when its last user leaves, the real socket is
 * closed. Answers to a batch come back one by one.
 *
 * Opens do not each connect, so sessions skip the pool's per-node connect pacing for this
 * transport ({@link multiplexed}); real connects are paced here instead (`retryAfterMs`).
 */
export class SharedSocketTransport implements SocketTransport {
  /** Opens share connections: sessions do not pace them per node. */
  readonly multiplexed = true;
  readonly #inner: SocketTransport;
  readonly #settings: Readonly<Required<Pick<SharedSocketTransportOptions, 'shareSubscriptions' | 'retryAfterMs' | 'livenessWindowMs'>>>;
  readonly #clock: Clock;
  readonly #idPrefix: string;
  readonly #connections = new Map<string, Connection>();
  /** Endpoints whose last connect failed before opening: when, and how. */
  readonly #failures = new Map<string, { at: number; info: SocketCloseInfo }>();
  #nextSubscription = 1;
  #unroutable = 0;

  constructor(options: SharedSocketTransportOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected SharedSocketTransport options to be an object, got ${String(options)}`);
    }
    const {
      transport = new WsSocketTransport(),
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

  open(endpoint: SocketEndpoint, listener: SocketListener): UpstreamSocket {
    const key = JSON.stringify([endpoint.url, endpoint.protocols ?? [], Object.entries(endpoint.headers ?? {}).sort()]);
    const user = new SharedSocket(listener);
    let connection = this.#connections.get(key);
    if (connection === undefined) {
      const failure = this.#failures.get(key);
      if (failure !== undefined && this.#clock.now() - failure.at < this.#settings.retryAfterMs) {
        user.fail(failure.info);
        return user;
      }
      this.#failures.delete(key);
      connection = new Connection(this, key, this.#settings, this.#clock);
      this.#connections.set(key, connection);
      connection.connect(this.#inner, endpoint);
    }
    connection.join(user);
    return user;
  }

  stats(): SharedSocketStats {
    let users = 0;
    let upstreamSubscriptions = 0;
    let subscriptions = 0;
    for (const connection of this.#connections.values()) {
      users += connection.users.size;
      upstreamSubscriptions += connection.byUpstream.size;
      for (const shared of connection.byUpstream.values()) subscriptions += shared.members.size;
    }
    return Object.freeze({ sockets: this.#connections.size, users, upstreamSubscriptions, subscriptions, unroutable: this.#unroutable });
  }

  /** @internal A fresh subscription id: unique for this transport's life, so a late unsubscribe never hits another. */
  subscriptionId(): string {
    return `0x${this.#idPrefix}${(this.#nextSubscription++).toString(16).padStart(16, '0')}`;
  }

  /** @internal */
  unroutable(): void {
    this.#unroutable += 1;
  }

  /**
   * @internal A real socket is done: forgotten, and when it never opened (`failed`: how it ended),
   * remembered so that opens to its endpoint are paced.
   */
  ended(connection: Connection, failed: SocketCloseInfo | undefined): void {
    if (this.#connections.get(connection.key) === connection) this.#connections.delete(connection.key);
    if (failed !== undefined) this.#failures.set(connection.key, { at: this.#clock.now(), info: failed });
  }
}

/** Who sent a request now on the real socket, under which id. */
type Origin =
  | { kind: 'call'; user: SharedSocket; id: JsonRpcId; chainId?: true }
  | { kind: 'subscribe'; shared: SharedSubscription }
  | { kind: 'own' };

/** One upstream subscription and the user subscriptions it serves. */
interface SharedSubscription {
  readonly key: string;
  upstreamId: string | undefined;
  /** Subscribes waiting for the upstream answer. */
  readonly waiters: Array<{ user: SharedSocket; id: JsonRpcId }>;
  /** User subscription id → its user. */
  readonly members: Map<string, SharedSocket>;
}

/** One real socket and its users. */
class Connection {
  readonly key: string;
  readonly users = new Set<SharedSocket>();
  readonly byUpstream = new Map<string, SharedSubscription>();
  readonly #transport: SharedSocketTransport;
  readonly #share: boolean;
  readonly #livenessWindowMs: number;
  readonly #clock: Clock;
  /** When the real socket last carried a frame from the node. */
  #heardAt = -Infinity;
  /** The node's answer to `eth_chainId` on this socket, as JSON text. */
  #chainId: string | undefined;
  readonly #calls = new Map<number, Origin>();
  readonly #byParams = new Map<string, SharedSubscription>();
  /** User subscription id → the shared subscription it is a member of. */
  readonly #memberships = new Map<string, SharedSubscription>();
  #socket: UpstreamSocket | undefined;
  #state: 'connecting' | 'open' | 'closed' = 'connecting';
  #nextId = 1;
  #unshared = 0;

  constructor(transport: SharedSocketTransport, key: string, settings: { shareSubscriptions: boolean; livenessWindowMs: number }, clock: Clock) {
    this.#transport = transport;
    this.key = key;
    this.#share = settings.shareSubscriptions;
    this.#livenessWindowMs = settings.livenessWindowMs;
    this.#clock = clock;
  }

  connect(inner: SocketTransport, endpoint: SocketEndpoint): void {
    this.#socket = inner.open(endpoint, {
      onOpen: () => {
        if (this.#state !== 'connecting') return;
        this.#state = 'open';
        for (const user of this.users) user.opened();
      },
      onMessage: (text) => this.#onMessage(text),
      onClose: (info) => this.#onClose(info),
      onError: (error) => {
        for (const user of this.users) user.error(error);
      },
    });
  }

  get bufferedAmount(): number {
    return this.#socket?.bufferedAmount ?? 0;
  }

  join(user: SharedSocket): void {
    this.users.add(user);
    user.attach(this);
    if (this.#state === 'open') queueMicrotask(() => user.opened());
  }

  /** A user's frame: each request re-addressed, subscriptions served from the shared ones. */
  send(user: SharedSocket, text: string): void {
    if (this.#state !== 'open') throw new SteadyRpcError('ERR_TRANSPORT', 'Cannot send: socket is not open');
    const head = REQUEST_HEAD.exec(text);
    if (head && head[2] !== 'eth_subscribe' && head[2] !== 'eth_unsubscribe') {
      const chainId = head[2] === 'eth_chainId';
      if (chainId && this.#answerChainId(user, Number(head[1]))) return;
      const id = this.#track(chainId ? { kind: 'call', user, id: Number(head[1]), chainId } : { kind: 'call', user, id: Number(head[1]) });
      return this.#socket!.send(`{"jsonrpc":"2.0","id":${id}${text.slice(ID_AT + head[1]!.length)}`);
    }
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      throw new SteadyRpcError('ERR_TRANSPORT', 'Cannot send: a shared socket carries JSON-RPC frames only');
    }
    for (const item of Array.isArray(message) ? message : [message]) this.#sendItem(user, item);
  }

  /** A user is gone: its subscriptions are left, the answers it waits for are dropped when they come. */
  leave(user: SharedSocket): void {
    if (!this.users.delete(user)) return;
    for (const id of user.subscriptions) this.#leaveSubscription(id);
    user.subscriptions.clear();
    for (const shared of this.#byParams.values()) {
      const kept = shared.waiters.filter((waiter) => waiter.user !== user);
      shared.waiters.splice(0, shared.waiters.length, ...kept);
    }
    if (this.users.size === 0) this.#retire();
  }

  /** No user is left: the real socket is closed, and new opens get a connection of their own. */
  #retire(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#transport.ended(this, undefined);
    this.#clear();
    this.#socket?.close(CloseCode.NORMAL, 'steadyrpc: no sessions left');
  }

  #clear(): void {
    this.#calls.clear();
    this.#byParams.clear();
    this.byUpstream.clear();
    this.#memberships.clear();
  }

  /** Answers `eth_chainId` from the node's last answer while the socket is known to be alive. */
  #answerChainId(user: SharedSocket, id: number): boolean {
    if (this.#chainId === undefined || this.#clock.now() - this.#heardAt >= this.#livenessWindowMs) return false;
    const answer = `{"jsonrpc":"2.0","id":${id},"result":${this.#chainId}}`;
    queueMicrotask(() => user.deliver(answer));
    return true;
  }

  #track(origin: Origin): number {
    const id = this.#nextId++;
    this.#calls.set(id, origin);
    return id;
  }

  #sendItem(user: SharedSocket, item: unknown): void {
    const request = item as { id?: unknown; method?: unknown; params?: unknown };
    if (typeof item !== 'object' || item === null || !('id' in request) || request.id === undefined) {
      // A notification to the node: nothing comes back for it.
      return this.#socket!.send(JSON.stringify(item));
    }
    const id = request.id as JsonRpcId;
    const params = Array.isArray(request.params) ? request.params : [];
    if (request.method === 'eth_subscribe') return this.#subscribe(user, id, params);
    if (request.method === 'eth_unsubscribe' && typeof params[0] === 'string') return this.#unsubscribe(user, id, params[0]);
    const upstreamId = this.#track({ kind: 'call', user, id });
    this.#socket!.send(JSON.stringify({ ...request, id: upstreamId }));
  }

  #subscribe(user: SharedSocket, id: JsonRpcId, params: unknown[]): void {
    const key = this.#share ? JSON.stringify(params) : `unshared:${this.#unshared++}`;
    let shared = this.#byParams.get(key);
    if (shared?.upstreamId !== undefined) return this.#admit(shared, user, id, true);
    if (shared === undefined) {
      shared = { key, upstreamId: undefined, waiters: [], members: new Map() };
      this.#byParams.set(key, shared);
      const upstreamId = this.#track({ kind: 'subscribe', shared });
      this.#socket!.send(JSON.stringify({ jsonrpc: '2.0', id: upstreamId, method: 'eth_subscribe', params }));
    }
    shared.waiters.push({ user, id });
  }

  /** Gives `user` a subscription id of its own on `shared`, and answers its subscribe with it. */
  #admit(shared: SharedSubscription, user: SharedSocket, id: JsonRpcId, later: boolean): void {
    const subscription = this.#transport.subscriptionId();
    shared.members.set(subscription, user);
    this.#memberships.set(subscription, shared);
    user.subscriptions.add(subscription);
    const answer = `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":"${subscription}"}`;
    // Never inside the user's own send(): a socket answers after the call returns.
    if (later) queueMicrotask(() => user.deliver(answer));
    else user.deliver(answer);
  }

  #unsubscribe(user: SharedSocket, id: JsonRpcId, subscription: string): void {
    const owned = user.subscriptions.delete(subscription);
    if (owned) this.#leaveSubscription(subscription);
    // As a node answers: true for a subscription it had, false for any other id.
    queueMicrotask(() => user.deliver(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${owned}}`));
  }

  #leaveSubscription(subscription: string): void {
    const shared = this.#memberships.get(subscription);
    if (!shared) return;
    this.#memberships.delete(subscription);
    shared.members.delete(subscription);
    if (shared.members.size > 0 || shared.waiters.length > 0 || shared.upstreamId === undefined) return;
    this.#byParams.delete(shared.key);
    this.byUpstream.delete(shared.upstreamId);
    if (this.#state === 'open') {
      this.#socket!.send(JSON.stringify({ jsonrpc: '2.0', id: this.#track({ kind: 'own' }), method: 'eth_unsubscribe', params: [shared.upstreamId] }));
    }
  }

  #onMessage(text: string): void {
    if (this.#state === 'closed') return;
    this.#heardAt = this.#clock.now();
    if (this.#fastAnswer(text) || this.#fastNotification(text)) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return this.#transport.unroutable();
    }
    for (const item of Array.isArray(message) ? message : [message]) this.#onItem(item);
  }

  #fastAnswer(text: string): boolean {
    const head = ANSWER_HEAD.exec(text);
    if (!head) return false;
    const id = Number(head[1]);
    const origin = this.#calls.get(id);
    if (origin?.kind !== 'call') return false;
    this.#calls.delete(id);
    // `…"id":N,"result":VALUE}`: remembered as the node wrote VALUE.
    const resultAt = ID_AT + head[1]!.length + 1;
    if (origin.chainId && text.startsWith('"result":', resultAt)) this.#chainId = text.slice(resultAt + 9, -1);
    origin.user.deliver(`{"jsonrpc":"2.0","id":${JSON.stringify(origin.id)}${text.slice(ID_AT + head[1]!.length)}`);
    return true;
  }

  #fastNotification(text: string): boolean {
    if (!NOTIFICATION_HEAD.test(text)) return false;
    const idEnd = text.indexOf('"', ID_START);
    if (idEnd < 0) return false;
    const upstreamId = text.slice(ID_START, idEnd);
    if (upstreamId.includes('\\')) return false;
    const shared = this.byUpstream.get(upstreamId);
    if (!shared) return true; // a subscription closed here, still in flight: nobody wants it
    const rest = text.slice(idEnd);
    for (const [subscription, user] of shared.members) user.deliver(`${NOTIFICATION_PREFIX}${subscription}${rest}`);
    return true;
  }

  #onItem(item: unknown): void {
    if (typeof item !== 'object' || item === null) return this.#transport.unroutable();
    const frame = item as { id?: unknown; method?: unknown; params?: { subscription?: unknown; result?: unknown } };
    if (frame.method === 'eth_subscription') {
      const shared = typeof frame.params?.subscription === 'string' ? this.byUpstream.get(frame.params.subscription) : undefined;
      if (!shared) return;
      for (const [subscription, user] of shared.members) {
        user.deliver(JSON.stringify({ ...frame, params: { ...frame.params, subscription } }));
      }
      return;
    }
    const origin = typeof frame.id === 'number' ? this.#calls.get(frame.id) : undefined;
    if (!origin) return this.#transport.unroutable();
    this.#calls.delete(frame.id as number);
    if (origin.kind === 'call') return origin.user.deliver(JSON.stringify({ ...frame, id: origin.id }));
    if (origin.kind === 'subscribe') this.#subscribed(origin.shared, item as { result?: unknown; error?: unknown });
  }

  /** The node answered a shared subscribe: every waiter gets its own id, or the node's error. */
  #subscribed(shared: SharedSubscription, answer: { result?: unknown; error?: unknown }): void {
    const waiters = shared.waiters.splice(0);
    if (typeof answer.result !== 'string' || 'error' in answer) {
      this.#byParams.delete(shared.key);
      for (const { user, id } of waiters) user.deliver(JSON.stringify({ ...answer, jsonrpc: '2.0', id }));
      return;
    }
    shared.upstreamId = answer.result;
    this.byUpstream.set(answer.result, shared);
    for (const { user, id } of waiters) if (user.isOpen) this.#admit(shared, user, id, false);
    if (shared.members.size === 0) {
      // Everyone who asked has left meanwhile.
      this.#byParams.delete(shared.key);
      this.byUpstream.delete(answer.result);
      this.#socket!.send(JSON.stringify({ jsonrpc: '2.0', id: this.#track({ kind: 'own' }), method: 'eth_unsubscribe', params: [answer.result] }));
    }
  }

  #onClose(info: SocketCloseInfo): void {
    if (this.#state === 'closed') return;
    const opened = this.#state === 'open';
    this.#state = 'closed';
    this.#transport.ended(this, opened ? undefined : info);
    const users = [...this.users];
    this.users.clear();
    this.#clear();
    for (const user of users) user.closed(info);
  }
}

/** What a session holds: a socket of its own in every respect but the connection under it. */
class SharedSocket implements UpstreamSocket {
  /** The subscription ids this socket was given and has not given back. */
  readonly subscriptions = new Set<string>();
  readonly #listener: SocketListener;
  #connection: Connection | undefined;
  #state: 'connecting' | 'open' | 'closed' = 'connecting';

  constructor(listener: SocketListener) {
    this.#listener = listener;
  }

  get isOpen(): boolean {
    return this.#state === 'open';
  }

  get bufferedAmount(): number {
    return this.#connection?.bufferedAmount ?? 0;
  }

  send(text: string): void {
    if (this.#state !== 'open') throw new SteadyRpcError('ERR_TRANSPORT', 'Cannot send: socket is not open');
    this.#connection!.send(this, text);
  }

  close(code?: number, reason?: string): void {
    this.#leave({ code: code ?? 1005, reason: reason ?? '' });
  }

  terminate(): void {
    this.#leave({ code: CloseCode.ABNORMAL, reason: '' });
  }

  attach(connection: Connection): void {
    this.#connection = connection;
  }

  opened(): void {
    if (this.#state !== 'connecting') return;
    this.#state = 'open';
    this.#listener.onOpen();
  }

  deliver(text: string): void {
    if (this.#state === 'open') this.#listener.onMessage(text);
  }

  error(error: Error): void {
    if (this.#state !== 'closed') this.#listener.onError(error);
  }

  /** The real socket closed. */
  closed(info: SocketCloseInfo): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#listener.onClose(info);
  }

  /** Never opened: a recent connect to this endpoint failed. */
  fail(info: SocketCloseInfo): void {
    queueMicrotask(() => this.closed(info));
  }

  #leave(info: SocketCloseInfo): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#connection?.leave(this);
    // As with a real socket, onClose follows the call, never inside it.
    queueMicrotask(() => this.#listener.onClose(info));
  }
}
