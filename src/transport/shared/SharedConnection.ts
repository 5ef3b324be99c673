import type { Clock, TimerHandle } from '../../Clock.js';
import { SteadyRpcError } from '../../errors.js';
import type { JsonRpcId } from '../../jsonrpc.js';
import { ID_AT } from '../../frameShapes.js';
import type { SocketCloseInfo, SocketEndpoint, SocketTransport, UpstreamSocket } from '../SocketTransport.js';
import { CloseCode } from '../SocketTransport.js';
import { IdAddressing, REQUEST_HEAD, answerFrame, type RequestWriter } from './IdAddressing.js';
import { SharedSubscriptions } from './SharedSubscriptions.js';
import type { VirtualSocket } from './VirtualSocket.js';

/**
 * A session that gives up on its socket (`terminate()`: a keepalive or connect deadline missed)
 * takes the real socket down for every session on it when the node has sent nothing for this long:
 * a zombie connection is not kept alive by the sessions that have not noticed yet. Users not yet
 * open on it that came this much later than the one giving up (their own deadline is further off)
 * are given a fresh real socket instead, as each would connect again on a socket of its own.
 */
const SILENT_MS = 1_000;

/**
 * What the transport does without the node is done only once the node has been heard after it was
 * asked for, as a session's own socket would need the node: a user joining an open real socket is
 * let on once the node has been heard after the join (the socket may have died without a close
 * just before: a network change); a subscribe served from an upstream subscription the socket has,
 * and an unsubscribe, are answered at once when the node was heard within this long, else once it
 * is heard. On a busy socket the next frame does it, at no cost; when none has come for this long,
 * the node is asked (one `eth_chainId`, for everything waiting on it: the probe).
 */
export const QUIET_MS = 100;

/**
 * When the node has not answered the probe within this long, the socket takes no new users: those
 * waiting to join are given a fresh real socket (a connect of their own, as each would get on a
 * socket of its own, still bounded by the session's `connectTimeoutMs`). The sessions already on
 * it stay until their own keepalive finds it dead (then it is taken down for all of them, see
 * {@link SILENT_MS}) or they leave; the answers waiting for the node wait on.
 */
export const PROBE_TIMEOUT_MS = 1_000;

/** The settings of a `SharedSocketTransport` a connection acts on. */
export interface ConnectionSettings {
  readonly shareSubscriptions: boolean;
  readonly retryAfterMs: number;
  readonly livenessWindowMs: number;
}

/** What a connection tells the transport that made it (kept off the transport's public surface). */
export interface ConnectionOwner {
  /** A fresh user subscription id, unique for the transport's life. */
  subscriptionId(): string;
  /** A frame from upstream could be given to no user. */
  unroutable(): void;
  /** The connection takes no new users: opens to its endpoint go to another one from now on. */
  retired(connection: SharedConnection): void;
  /** Users that waited to join a connection that did not answer: each placed afresh, as a new open. */
  place(user: VirtualSocket): void;
  /**
   * The real socket is done (no user left on it): forgotten, and when its connect failed (`failed`:
   * how it ended), remembered so that opens to its endpoint are paced.
   */
  ended(connection: SharedConnection, failed: SocketCloseInfo | undefined): void;
}

/**
 * One real socket and the virtual sockets on it. It owns the socket's life (connecting, open,
 * closed; closed on purpose when its last user leaves, torn down when a user gives up on it while
 * the node is silent; every user closed with the real socket's close), who may join it (on an open
 * socket, only once the node has been heard after the join: {@link QUIET_MS}), the routing of
 * frames each way, and the liveness answer to `eth_chainId`. Ids belong to its {@link IdAddressing},
 * subscriptions to its {@link SharedSubscriptions}.
 */
export class SharedConnection implements RequestWriter {
  readonly key: string;
  readonly users = new Set<VirtualSocket>();
  readonly subscriptions: SharedSubscriptions;
  readonly #owner: ConnectionOwner;
  readonly #settings: ConnectionSettings;
  readonly #clock: Clock;
  readonly #ids: IdAddressing;
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
  /** Users that joined the open socket and wait for the node to be heard from (see {@link QUIET_MS}). */
  readonly #joining = new Set<VirtualSocket>();
  /** Answers given on the node's behalf, by user, waiting for it to be heard from (made with the first). */
  #vouched: Map<VirtualSocket, Array<() => void>> | undefined;
  /** Before the probe, the wait for a frame; once it is sent, its deadline. */
  #probeTimer: TimerHandle | undefined;
  /** Taking no new users: the transport opens new ones elsewhere. */
  #retired = false;

  constructor(owner: ConnectionOwner, key: string, settings: ConnectionSettings, clock: Clock) {
    this.#owner = owner;
    this.key = key;
    this.#settings = settings;
    this.#clock = clock;
    this.#ids = new IdAddressing(this);
    this.subscriptions = new SharedSubscriptions({
      share: settings.shareSubscriptions,
      clock,
      ids: this.#ids,
      newSubscriptionId: () => owner.subscriptionId(),
      vouch: (user, answer) => this.#vouch(user, answer),
    });
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
        onMessage: (text, bytes) => this.#onMessage(text, bytes),
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

  get isOpen(): boolean {
    return this.#state === 'open';
  }

  write(text: string): void {
    this.#socket!.send(text);
  }

  /**
   * A new user: on a connecting socket it opens with it; on an open one, once the node has been
   * heard after now (the next frame, or the answer to a probe), since the socket may have died
   * without a close since it last was (a network change, a node gone silent) and a session's own
   * socket would not open on a dead node either.
   */
  join(user: VirtualSocket): void {
    user.attach(this, this.#clock.now());
    if (this.#state === 'closed') return user.fail(this.#closeInfo);
    this.users.add(user);
    if (this.#state !== 'open') return;
    this.#joining.add(user);
    this.#expectNode();
  }

  /**
   * A user's frame: each request re-addressed, subscriptions served from the shared ones. Throws,
   * like a real socket, when the real socket cannot take it.
   */
  send(user: VirtualSocket, text: string): void {
    if (this.#state !== 'open') throw new SteadyRpcError('ERR_TRANSPORT', 'Cannot send: socket is not open');
    const head = REQUEST_HEAD.exec(text);
    if (head && head[2] === 'eth_subscribe') return this.subscriptions.subscribe(user, Number(head[1]), text.slice(head[0].length));
    if (head && head[2] !== 'eth_unsubscribe') {
      const id = Number(head[1]);
      const chainId = head[2] === 'eth_chainId';
      if (chainId && this.#answerChainId(user, id)) return;
      const rest = text.slice(ID_AT + head[1]!.length);
      this.#ids.call(user, chainId ? { kind: 'call', user, id, chainId } : { kind: 'call', user, id }, (upstreamId) => `{"jsonrpc":"2.0","id":${upstreamId}${rest}`);
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
  leave(user: VirtualSocket, terminated: boolean): void {
    if (!this.users.delete(user)) return;
    this.#joining.delete(user);
    this.#vouched?.delete(user);
    if (!this.#waitsForNode()) this.#stopProbe();
    this.subscriptions.leave(user);
    this.#ids.forget(user);
    if (this.users.size === 0) return this.#drop(CloseCode.NORMAL, 'steadyrpc: no sessions left');
    if (terminated && this.#clock.now() - this.#heardAt >= SILENT_MS) this.#abandon(user.joinedAt);
  }

  /**
   * A user that joined at `joinedAt` gave up on the socket while the node was silent: taken down for
   * every user, but those not yet open on it that joined {@link SILENT_MS} or more after it, which
   * are placed on a fresh one.
   */
  #abandon(joinedAt: number): void {
    this.#retire();
    for (const user of [...this.users]) {
      if (user.isOpen || user.joinedAt - joinedAt < SILENT_MS) continue;
      this.users.delete(user);
      this.#joining.delete(user);
      this.#owner.place(user);
    }
    this.#drop(undefined, undefined);
  }

  /** Answers `eth_chainId` from the node's last answer while the socket is known to be alive. */
  #answerChainId(user: VirtualSocket, id: number): boolean {
    if (this.#chainId === undefined || this.#clock.now() - this.#heardAt >= this.#settings.livenessWindowMs) return false;
    const answer = `{"jsonrpc":"2.0","id":${id},"result":${this.#chainId}}`;
    queueMicrotask(() => user.deliver(answer));
    return true;
  }

  /** A request that is not in the shape a session writes (a batch item, say): parsed, re-addressed whole. */
  #sendItem(user: VirtualSocket, item: unknown): void {
    const request = item as { id?: unknown; method?: unknown; params?: unknown };
    if (typeof item !== 'object' || item === null || !('id' in request) || request.id === undefined) {
      // A one-way subscribe or unsubscribe is dropped: on the socket every user shares it would end
      // a subscription that is not this user's, or open one nobody holds.
      if (request?.method === 'eth_subscribe' || request?.method === 'eth_unsubscribe') return;
      // A notification to the node (or not a request at all): nothing comes back to anyone for it.
      return this.write(JSON.stringify(item));
    }
    const id = request.id as JsonRpcId;
    const params = Array.isArray(request.params) ? request.params : [];
    if (request.method === 'eth_subscribe') return this.subscriptions.subscribe(user, id, `,"params":${JSON.stringify(params)}}`);
    if (request.method === 'eth_unsubscribe' && typeof params[0] === 'string') return this.subscriptions.unsubscribe(user, id, params[0]);
    this.#ids.call(user, { kind: 'call', user, id }, (upstreamId) => JSON.stringify({ ...request, id: upstreamId }));
  }

  #onMessage(text: string, bytes: Uint8Array | undefined): void {
    if (this.#state === 'closed') return;
    this.#heardAt = this.#clock.now();
    this.#route(text, bytes);
    // The node is there: whatever waited for it goes on (after the frame, which was not theirs).
    if (this.#state === 'open' && this.#waitsForNode()) this.#heard();
  }

  #route(text: string, bytes: Uint8Array | undefined): void {
    if (this.#ids.fastAnswer(text, bytes) || this.subscriptions.fastNotification(text, bytes)) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.#owner.unroutable();
      return this.#ids.failMalformed(text);
    }
    for (const item of Array.isArray(message) ? message : [message]) this.#onItem(item);
  }

  /**
   * An answer on the node's behalf to `user` (never inside its send()): now when the node was
   * heard within {@link QUIET_MS}, else once it is heard again.
   */
  #vouch(user: VirtualSocket, answer: () => void): void {
    if (this.#clock.now() - this.#heardAt < QUIET_MS) return queueMicrotask(answer);
    const vouched = (this.#vouched ??= new Map());
    const answers = vouched.get(user);
    if (answers) answers.push(answer);
    else vouched.set(user, [answer]);
    this.#expectNode();
  }

  #waitsForNode(): boolean {
    return this.#joining.size > 0 || (this.#vouched !== undefined && this.#vouched.size > 0);
  }

  /**
   * Something waits for the node to be heard: the probe goes out once it has been quiet for
   * {@link QUIET_MS} (at once if it has), unless one is due or on its way already.
   */
  #expectNode(): void {
    if (this.#probeTimer !== undefined || this.#state !== 'open') return;
    const quiet = this.#clock.now() - this.#heardAt;
    if (quiet >= QUIET_MS) return this.#probe();
    this.#probeTimer = this.#clock.setTimeout(() => {
      this.#probeTimer = undefined;
      this.#probe();
    }, QUIET_MS - quiet);
  }

  /** Asks the node whether it is there; gives up on it after {@link PROBE_TIMEOUT_MS}. */
  #probe(): void {
    if (!this.#waitsForNode() || this.#state !== 'open') return;
    try {
      this.#ids.probe();
    } catch {
      return this.#giveUp(); // the socket is closing: no place to join
    }
    this.#probeTimer = this.#clock.setTimeout(() => {
      this.#probeTimer = undefined;
      this.#giveUp();
    }, PROBE_TIMEOUT_MS);
  }

  #stopProbe(): void {
    if (this.#probeTimer === undefined) return;
    this.#clock.clearTimeout(this.#probeTimer);
    this.#probeTimer = undefined;
  }

  /** The node was heard: the users waiting to join are open, the answers given on its behalf go out. */
  #heard(): void {
    this.#stopProbe();
    const joining = [...this.#joining];
    this.#joining.clear();
    const vouched = this.#vouched;
    this.#vouched = undefined;
    for (const user of joining) user.opened();
    for (const answers of vouched?.values() ?? []) for (const answer of answers) answer();
  }

  /**
   * The node did not answer the probe: the socket takes no new users, those waiting to join are
   * placed on a fresh one, and with nobody else on it, it is let go.
   */
  #giveUp(): void {
    this.#stopProbe();
    if (!this.#waitsForNode()) return;
    const joining = [...this.#joining];
    this.#joining.clear();
    this.#retire();
    for (const user of joining) {
      this.users.delete(user);
      this.#owner.place(user);
    }
    if (this.users.size === 0) this.#drop(undefined, undefined);
  }

  #retire(): void {
    if (this.#retired) return;
    this.#retired = true;
    this.#owner.retired(this); // new opens get a connection of their own
  }

  #onItem(item: unknown): void {
    if (typeof item !== 'object' || item === null) return this.#owner.unroutable();
    const frame = item as { id?: unknown; method?: unknown; result?: unknown; params?: { subscription?: unknown; result?: unknown } };
    if (frame.method === 'eth_subscription') return this.subscriptions.notification(frame);
    const origin = typeof frame.id === 'number' ? this.#ids.take(frame.id) : undefined;
    if (!origin) return this.#owner.unroutable();
    if (origin.kind !== 'subscribe') {
      if (origin.chainId && typeof frame.result === 'string') this.#chainId = JSON.stringify(frame.result);
      // Its JSON-RPC members only: nothing else a node adds reaches a session.
      if (origin.kind === 'call') origin.user.deliver(answerFrame(origin.id, frame));
      return;
    }
    this.subscriptions.subscribed(origin.shared, item as { result?: unknown; error?: unknown });
  }

  /**
   * Takes the real socket down on purpose: closed with `code` when its last user left; aborted
   * (`code` undefined) when a user gave up on it while the node was silent, and every user then
   * hears the close.
   */
  #drop(code: number | undefined, reason: string | undefined): void {
    if (this.#dropped || this.#state === 'closed') return;
    this.#dropped = true;
    this.#retire();
    if (code === undefined) return this.#socket?.terminate();
    this.#state = 'closed';
    this.#clear();
    this.#owner.ended(this, undefined);
    this.#socket?.close(code, reason);
  }

  #clear(): void {
    this.#stopProbe();
    this.#joining.clear();
    this.#vouched = undefined;
    this.#ids.clear();
    this.subscriptions.clear();
  }

  #onClose(info: SocketCloseInfo): void {
    if (this.#state === 'closed') return;
    const now = this.#clock.now();
    // A connect that failed, or a socket the node closed right after opening it: paced.
    const failed = !this.#dropped && (this.#openedAt === undefined || now - this.#openedAt < this.#settings.retryAfterMs);
    this.#state = 'closed';
    this.#closeInfo = info;
    this.#owner.ended(this, failed ? info : undefined);
    const users = [...this.users];
    this.users.clear();
    this.#clear();
    for (const user of users) user.closed(info);
  }
}
