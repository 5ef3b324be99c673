import type { Clock } from '../Clock.js';
import { systemClock } from '../Clock.js';
import { SteadyRpcError } from '../errors.js';
import type { JsonRpcId } from '../jsonrpc.js';
import type { Random } from '../random.js';
import { defaultRandom } from '../random.js';
import type { SocketCloseInfo, SocketEndpoint, SocketListener, SocketTransport, UpstreamSocket } from './SocketTransport.js';
import { CloseCode } from './SocketTransport.js';
import { WsSocketTransport } from './WsSocketTransport.js';
import { ANSWER_HEAD, ID_AT, NOTIFICATION_PREFIX, NOTIFICATION_RESULT, SUBSCRIPTION_AT, plainSubscriptionId } from '../frameShapes.js';
import { isCompactValue, isPlainText } from '../jsonScan.js';
import { RpcErrorCode } from '../jsonrpc.js';

export interface SharedSocketTransportOptions {
  /**
   * Opens the real sockets: one per URL (and subprotocols), with the headers of the session that
   * opened it first.
   * @default a new WsSocketTransport
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
  /**
   * Frames from upstream that could be given to no user: not JSON, or an answer nobody waits for
   * (its session left before it came).
   */
  unroutable: number;
}

const DEFAULTS = Object.freeze({ shareSubscriptions: true, retryAfterMs: 250, livenessWindowMs: 1_000 });

/**
 * A session that gives up on its socket (`terminate()`: a keepalive or connect deadline missed)
 * takes the real socket down for every session on it when the node has sent nothing for this long:
 * a zombie connection is not kept alive by the sessions that have not noticed yet.
 */
const SILENT_MS = 1_000;
/** A subscribe the node has not answered for this long is not waited on by newcomers: they ask again. */
const PENDING_SUBSCRIBE_MS = 5_000;
/** Failed endpoints remembered for pacing before expired ones are swept. */
const FAILURES_KEPT = 1_000;

// The shapes a session writes and nodes answer with: re-addressed by splicing the id, not by parsing.
const REQUEST_HEAD = /^\{"jsonrpc":"2\.0","id":(\d{1,15}),"method":"([A-Za-z0-9_]+)"/;

type Settings = Readonly<Required<Pick<SharedSocketTransportOptions, 'shareSubscriptions' | 'retryAfterMs' | 'livenessWindowMs'>>>;

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
 * closed; when a user gives up on it (`terminate()`) while the node has been silent, it is torn down
 * for all. Answers to a batch come back one by one; an empty batch gets no answer.
 *
 * Opens do not each connect, so sessions skip the pool's per-node connect pacing for this
 * transport ({@link multiplexed}); real connects are paced here instead (`retryAfterMs`).
 */
export class SharedSocketTransport implements SocketTransport {
  /** Opens share connections: sessions do not pace them per node. */
  readonly multiplexed = true;
  /**
   * What reaches a session is one JSON value: checked before it is passed on as text, written by
   * JSON.stringify otherwise. Thousands of sessions on one subscription do not check each frame
   * again.
   */
  readonly framesChecked = true;
  readonly #inner: SocketTransport;
  readonly #settings: Settings;
  readonly #clock: Clock;
  readonly #idPrefix: string;
  readonly #connections = new Map<string, Connection>();
  /** Endpoints whose last connect failed: when, and how. */
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
    const key = JSON.stringify([endpoint.url, endpoint.protocols ?? []]);
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
   * @internal A real socket is done: forgotten, and when its connect failed (`failed`: how it
   * ended), remembered so that opens to its endpoint are paced.
   */
  ended(connection: Connection, failed: SocketCloseInfo | undefined): void {
    if (this.#connections.get(connection.key) === connection) this.#connections.delete(connection.key);
    if (failed === undefined) return;
    if (this.#failures.size >= FAILURES_KEPT) {
      const now = this.#clock.now();
      for (const [key, { at }] of this.#failures) if (now - at >= this.#settings.retryAfterMs) this.#failures.delete(key);
    }
    this.#failures.set(connection.key, { at: this.#clock.now(), info: failed });
  }
}

/** Who sent a request now on the real socket, under which id. */
type Origin =
  | { kind: 'call'; user: SharedSocket; id: JsonRpcId; chainId?: true }
  | { kind: 'subscribe'; shared: SharedSubscription }
  | { kind: 'own' };

/** A user's place in a shared subscription; `held`: notifications waiting until it has its subscribe answer. */
interface Member {
  readonly user: SharedSocket;
  held: string[] | undefined;
}

/** One upstream subscription and the user subscriptions it serves. */
interface SharedSubscription {
  readonly key: string;
  upstreamId: string | undefined;
  /** When its subscribe was sent upstream. */
  readonly sentAt: number;
  /** Subscribes waiting for the upstream answer. */
  readonly waiters: Array<{ user: SharedSocket; id: JsonRpcId }>;
  /** User subscription id → its member. */
  readonly members: Map<string, Member>;
}

/** One real socket and its users. */
class Connection {
  readonly key: string;
  readonly users = new Set<SharedSocket>();
  readonly byUpstream = new Map<string, SharedSubscription>();
  readonly #transport: SharedSocketTransport;
  readonly #settings: Settings;
  readonly #clock: Clock;
  readonly #calls = new Map<number, Origin>();
  readonly #byParams = new Map<string, SharedSubscription>();
  /** User subscription id → the shared subscription it is a member of. */
  readonly #memberships = new Map<string, SharedSubscription>();
  #socket: UpstreamSocket | undefined;
  #state: 'connecting' | 'open' | 'closed' = 'connecting';
  /** How it closed, for users that arrive after. */
  #closeInfo: SocketCloseInfo = { code: CloseCode.ABNORMAL, reason: '' };
  /** Taken down on purpose (no users left, or a zombie): nobody is told twice, nothing is paced. */
  #dropped = false;
  #openedAt: number | undefined;
  /** When the real socket last carried a frame from the node. */
  #heardAt = -Infinity;
  /** The node's answer to `eth_chainId` on this socket, as JSON text. */
  #chainId: string | undefined;
  #nextId = 1;
  #unshared = 0;

  constructor(transport: SharedSocketTransport, key: string, settings: Settings, clock: Clock) {
    this.#transport = transport;
    this.key = key;
    this.#settings = settings;
    this.#clock = clock;
  }

  connect(inner: SocketTransport, endpoint: SocketEndpoint): void {
    try {
      this.#socket = inner.open(endpoint, {
        onOpen: () => {
          if (this.#state !== 'connecting') return;
          this.#state = 'open';
          this.#openedAt = this.#heardAt = this.#clock.now();
          for (const user of this.users) user.opened();
        },
        onMessage: (text) => this.#onMessage(text),
        onClose: (info) => this.#onClose(info),
        onError: (error) => {
          for (const user of this.users) user.error(error);
        },
      });
    } catch (error) {
      // A transport that throws instead of reporting: the same as a connect that failed at once.
      queueMicrotask(() => {
        for (const user of this.users) user.error(error instanceof Error ? error : new Error(String(error)));
        this.#onClose({ code: CloseCode.ABNORMAL, reason: '' });
      });
    }
  }

  get bufferedAmount(): number {
    return this.#socket?.bufferedAmount ?? 0;
  }

  join(user: SharedSocket): void {
    user.attach(this);
    if (this.#state === 'closed') return user.fail(this.#closeInfo);
    this.users.add(user);
    if (this.#state === 'open') queueMicrotask(() => user.opened());
  }

  /**
   * A user's frame: each request re-addressed, subscriptions served from the shared ones. Throws,
   * like a real socket, when the real socket cannot take it.
   */
  send(user: SharedSocket, text: string): void {
    if (this.#state !== 'open') throw new SteadyRpcError('ERR_TRANSPORT', 'Cannot send: socket is not open');
    const head = REQUEST_HEAD.exec(text);
    if (head && head[2] === 'eth_subscribe') return this.#subscribe(user, Number(head[1]), text.slice(head[0].length));
    if (head && head[2] !== 'eth_unsubscribe') {
      const id = Number(head[1]);
      const chainId = head[2] === 'eth_chainId';
      if (chainId && this.#answerChainId(user, id)) return;
      const rest = text.slice(ID_AT + head[1]!.length);
      this.#call(user, chainId ? { kind: 'call', user, id, chainId } : { kind: 'call', user, id }, (upstreamId) => `{"jsonrpc":"2.0","id":${upstreamId}${rest}`);
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      throw new SteadyRpcError('ERR_TRANSPORT', 'Cannot send: a shared socket carries JSON-RPC frames only');
    }
    for (const item of Array.isArray(message) ? message : [message]) this.#sendItem(user, item);
  }

  /**
   * A user is gone: its subscriptions are left and the answers it waited for forgotten. The last
   * one out closes the real socket; one that gives up on it (`terminated`) while the node has been
   * silent takes it down for everyone.
   */
  leave(user: SharedSocket, terminated: boolean): void {
    if (!this.users.delete(user)) return;
    for (const id of user.subscriptions) this.#leaveSubscription(id);
    user.subscriptions.clear();
    for (const id of user.calls) this.#calls.delete(id);
    user.calls.clear();
    for (const shared of this.#byParams.values()) {
      if (shared.waiters.some((waiter) => waiter.user === user)) {
        const kept = shared.waiters.filter((waiter) => waiter.user !== user);
        shared.waiters.splice(0, shared.waiters.length, ...kept);
      }
    }
    if (this.users.size === 0) return this.#drop(CloseCode.NORMAL, 'steadyrpc: no sessions left');
    if (terminated && this.#clock.now() - this.#heardAt >= SILENT_MS) this.#drop(undefined, undefined);
  }

  /** Sends a user's call under a fresh id; nothing is recorded when the real socket refuses it. */
  #call(user: SharedSocket, origin: Origin, frame: (id: number) => string): void {
    const id = this.#nextId++;
    this.#socket!.send(frame(id));
    this.#calls.set(id, origin);
    user.calls.add(id);
  }

  /** A request of the connection's own (an unsubscribe): not sent if the socket is going away. */
  #sendOwn(frame: (id: number) => string): void {
    if (this.#state !== 'open') return;
    const id = this.#nextId++;
    try {
      this.#socket!.send(frame(id));
      this.#calls.set(id, { kind: 'own' });
    } catch {
      // The socket is closing: its subscriptions go with it.
    }
  }

  /** Answers `eth_chainId` from the node's last answer while the socket is known to be alive. */
  #answerChainId(user: SharedSocket, id: number): boolean {
    if (this.#chainId === undefined || this.#clock.now() - this.#heardAt >= this.#settings.livenessWindowMs) return false;
    const answer = `{"jsonrpc":"2.0","id":${id},"result":${this.#chainId}}`;
    queueMicrotask(() => user.deliver(answer));
    return true;
  }

  #sendItem(user: SharedSocket, item: unknown): void {
    const request = item as { id?: unknown; method?: unknown; params?: unknown };
    if (typeof item !== 'object' || item === null || !('id' in request) || request.id === undefined) {
      // A notification to the node (or not a request at all): nothing comes back to anyone for it.
      return this.#socket!.send(JSON.stringify(item));
    }
    const id = request.id as JsonRpcId;
    const params = Array.isArray(request.params) ? request.params : [];
    if (request.method === 'eth_subscribe') return this.#subscribe(user, id, `,"params":${JSON.stringify(params)}}`);
    if (request.method === 'eth_unsubscribe' && typeof params[0] === 'string') return this.#unsubscribe(user, id, params[0]);
    this.#call(user, { kind: 'call', user, id }, (upstreamId) => JSON.stringify({ ...request, id: upstreamId }));
  }

  /**
   * `rest`: the subscribe frame after its method (`,"params":[…]}` as the session wrote it), which is
   * what tells subscriptions apart and what goes upstream after the connection's own id and method.
   */
  #subscribe(user: SharedSocket, id: JsonRpcId, rest: string): void {
    const key = this.#settings.shareSubscriptions ? rest : `unshared:${this.#unshared++}`;
    const now = this.#clock.now();
    let shared = this.#byParams.get(key);
    if (shared !== undefined && shared.upstreamId === undefined && now - shared.sentAt >= PENDING_SUBSCRIBE_MS) {
      // The node never answered that one: ask again (if it answers late, who waited for it still gets it).
      this.#byParams.delete(key);
      shared = undefined;
    }
    if (shared?.upstreamId !== undefined) return this.#admitNow(shared, user, id);
    if (shared === undefined) {
      const upstreamId = this.#nextId++;
      this.#socket!.send(`{"jsonrpc":"2.0","id":${upstreamId},"method":"eth_subscribe"${rest}`);
      shared = { key, upstreamId: undefined, sentAt: now, waiters: [], members: new Map() };
      this.#byParams.set(key, shared);
      this.#calls.set(upstreamId, { kind: 'subscribe', shared });
    }
    shared.waiters.push({ user, id });
  }

  /** Makes `user` a member of `shared` under a subscription id of its own. */
  #member(shared: SharedSubscription, user: SharedSocket, held: string[] | undefined): string {
    const subscription = this.#transport.subscriptionId();
    shared.members.set(subscription, { user, held });
    this.#memberships.set(subscription, shared);
    user.subscriptions.add(subscription);
    return subscription;
  }

  /**
   * A subscribe to an upstream subscription that exists: answered after the user's send() returns,
   * with the notifications that come meanwhile held until then.
   */
  #admitNow(shared: SharedSubscription, user: SharedSocket, id: JsonRpcId): void {
    const subscription = this.#member(shared, user, []);
    const member = shared.members.get(subscription)!;
    queueMicrotask(() => {
      const held = member.held ?? [];
      member.held = undefined;
      user.deliver(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":"${subscription}"}`);
      for (const text of held) user.deliver(text);
    });
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
    if (shared.members.size === 0) this.#close(shared);
  }

  /** Nobody holds `shared` any more: forgotten, and unsubscribed upstream (once). */
  #close(shared: SharedSubscription): void {
    if (this.#byParams.get(shared.key) === shared) this.#byParams.delete(shared.key);
    const upstreamId = shared.upstreamId;
    if (upstreamId === undefined || this.byUpstream.get(upstreamId) !== shared) return;
    this.byUpstream.delete(upstreamId);
    this.#sendOwn((id) => `{"jsonrpc":"2.0","id":${id},"method":"eth_unsubscribe","params":[${JSON.stringify(upstreamId)}]}`);
  }

  #onMessage(text: string): void {
    if (this.#state === 'closed') return;
    this.#heardAt = this.#clock.now();
    if (this.#fastAnswer(text) || this.#fastNotification(text)) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.#transport.unroutable();
      return this.#failMalformed(text);
    }
    for (const item of Array.isArray(message) ? message : [message]) this.#onItem(item);
  }

  /**
   * An answer re-addressed in place: only when the frame is exactly
   * `{"jsonrpc":"2.0","id":N,"result":R}` (or `"error"`) with R one JSON value, checked without
   * parsing, so that nothing a node adds to a frame reaches a session.
   */
  #fastAnswer(text: string): boolean {
    const head = ANSWER_HEAD.exec(text);
    if (!head || text.charCodeAt(text.length - 1) !== 125 /* } */) return false;
    const id = Number(head[1]);
    const origin = this.#calls.get(id);
    if (origin?.kind !== 'call') return false;
    if (origin.chainId) return false; // read in full, to remember the value
    if (!isPlainText(text) || !isCompactValue(text, head[0].length, text.length - 1)) return false;
    this.#calls.delete(id);
    origin.user.calls.delete(id);
    origin.user.deliver(`{"jsonrpc":"2.0","id":${JSON.stringify(origin.id)}${text.slice(ID_AT + head[1]!.length)}`);
    return true;
  }

  /** A notification in the common shape, its result one JSON value (checked in place), fanned out as text. */
  #fastNotification(text: string): boolean {
    const upstreamId = plainSubscriptionId(text);
    if (upstreamId === undefined || !text.endsWith('}}')) return false;
    const idEnd = SUBSCRIPTION_AT + upstreamId.length;
    if (!text.startsWith(NOTIFICATION_RESULT, idEnd)) return false;
    if (!isPlainText(text) || !isCompactValue(text, idEnd + NOTIFICATION_RESULT.length, text.length - 2)) return false;
    const shared = this.byUpstream.get(upstreamId);
    if (!shared) return true; // a subscription closed here, its notifications still in flight: nobody wants them
    const rest = text.slice(SUBSCRIPTION_AT + upstreamId.length);
    for (const [subscription, member] of shared.members) this.#notify(member, `${NOTIFICATION_PREFIX}${subscription}${rest}`);
    return true;
  }

  /**
   * A frame that is not JSON but starts as the answer to a user's call (say, an answer with
   * something stuck after it): the user gets an error answer now rather than waiting for its
   * deadline.
   */
  #failMalformed(text: string): void {
    const head = ANSWER_HEAD.exec(text);
    const id = head ? Number(head[1]) : undefined;
    const origin = id === undefined ? undefined : this.#calls.get(id);
    if (origin?.kind !== 'call') return;
    this.#calls.delete(id!);
    origin.user.calls.delete(id!);
    const error = { code: RpcErrorCode.INTERNAL_ERROR, message: 'Internal error: the node sent a malformed answer' };
    origin.user.deliver(JSON.stringify({ jsonrpc: '2.0', id: origin.id, error }));
  }

  #notify(member: Member, text: string): void {
    if (member.held) member.held.push(text);
    else member.user.deliver(text);
  }

  #onItem(item: unknown): void {
    if (typeof item !== 'object' || item === null) return this.#transport.unroutable();
    const frame = item as { id?: unknown; method?: unknown; result?: unknown; params?: { subscription?: unknown; result?: unknown } };
    if (frame.method === 'eth_subscription') {
      const shared = typeof frame.params?.subscription === 'string' ? this.byUpstream.get(frame.params.subscription) : undefined;
      if (!shared) return;
      for (const [subscription, member] of shared.members) {
        this.#notify(member, JSON.stringify({ ...frame, params: { ...frame.params, subscription } }));
      }
      return;
    }
    const origin = typeof frame.id === 'number' ? this.#calls.get(frame.id) : undefined;
    if (!origin) return this.#transport.unroutable();
    this.#calls.delete(frame.id as number);
    if (origin.kind === 'call') {
      origin.user.calls.delete(frame.id as number);
      if (origin.chainId && typeof frame.result === 'string') this.#chainId = JSON.stringify(frame.result);
      return origin.user.deliver(JSON.stringify({ ...frame, id: origin.id }));
    }
    if (origin.kind === 'subscribe') this.#subscribed(origin.shared, item as { result?: unknown; error?: unknown });
  }

  /** The node answered a shared subscribe: every waiter gets its own id, or the node's error. */
  #subscribed(shared: SharedSubscription, answer: { result?: unknown; error?: unknown }): void {
    const waiters = shared.waiters.splice(0);
    if (typeof answer.result !== 'string' || 'error' in answer) {
      if (this.#byParams.get(shared.key) === shared) this.#byParams.delete(shared.key);
      for (const { user, id } of waiters) user.deliver(JSON.stringify({ ...answer, jsonrpc: '2.0', id }));
      return;
    }
    shared.upstreamId = answer.result;
    this.byUpstream.set(answer.result, shared);
    // Every waiter is a member before any answer goes out: one that unsubscribes at once, on
    // hearing its answer, then leaves the others their subscription.
    const admitted = waiters.filter(({ user }) => user.isOpen).map(({ user, id }) => ({ user, id, subscription: this.#member(shared, user, undefined) }));
    if (admitted.length === 0) return this.#close(shared); // everyone who asked has left meanwhile
    for (const { user, id, subscription } of admitted) user.deliver(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":"${subscription}"}`);
  }

  /**
   * Takes the real socket down on purpose: closed with `code` when its last user left; aborted
   * (`code` undefined) when a user gave up on it while the node was silent, and every user then
   * hears the close.
   */
  #drop(code: number | undefined, reason: string | undefined): void {
    if (this.#dropped || this.#state === 'closed') return;
    this.#dropped = true;
    this.#transport.ended(this, undefined); // new opens get a connection of their own
    if (code === undefined) return this.#socket?.terminate();
    this.#state = 'closed';
    this.#clear();
    this.#socket?.close(code, reason);
  }

  #clear(): void {
    this.#calls.clear();
    this.#byParams.clear();
    this.byUpstream.clear();
    this.#memberships.clear();
  }

  #onClose(info: SocketCloseInfo): void {
    if (this.#state === 'closed') return;
    const now = this.#clock.now();
    // A connect that failed, or a socket the node closed right after opening it: paced.
    const failed = !this.#dropped && (this.#openedAt === undefined || now - this.#openedAt < this.#settings.retryAfterMs);
    this.#state = 'closed';
    this.#closeInfo = info;
    this.#transport.ended(this, failed ? info : undefined);
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
  /** Ids (on the real socket) of its calls not yet answered. */
  readonly calls = new Set<number>();
  readonly #listener: SocketListener;
  #connection: Connection | undefined;
  #state: 'connecting' | 'open' | 'closed' = 'connecting';

  constructor(listener: SocketListener) {
    this.#listener = listener;
  }

  get isOpen(): boolean {
    return this.#state === 'open';
  }

  /** What the real socket under it has not written yet (every session on it shares the figure). */
  get bufferedAmount(): number {
    return this.#connection?.bufferedAmount ?? 0;
  }

  send(text: string): void {
    if (this.#state !== 'open') throw new SteadyRpcError('ERR_TRANSPORT', 'Cannot send: socket is not open');
    this.#connection!.send(this, text);
  }

  close(code?: number, reason?: string): void {
    this.#leave({ code: code ?? 1005, reason: reason ?? '' }, false);
  }

  terminate(): void {
    this.#leave({ code: CloseCode.ABNORMAL, reason: '' }, true);
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

  /** Never opened: a recent connect to this endpoint failed, or the connection closed under it. */
  fail(info: SocketCloseInfo): void {
    queueMicrotask(() => this.closed(info));
  }

  #leave(info: SocketCloseInfo, terminated: boolean): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    try {
      this.#connection?.leave(this, terminated);
    } finally {
      // As with a real socket, onClose follows the call, never inside it.
      queueMicrotask(() => this.#listener.onClose(info));
    }
  }
}
