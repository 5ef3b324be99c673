import type { Clock } from '../../Clock.js';
import { SteadyRpcError } from '../../errors.js';
import type { JsonRpcId } from '../../jsonrpc.js';
import { ID_AT } from '../../frameShapes.js';
import type { SocketCloseInfo, SocketEndpoint, SocketTransport, UpstreamSocket } from '../SocketTransport.js';
import { CloseCode } from '../SocketTransport.js';
import { IdAddressing, REQUEST_HEAD, type RequestWriter } from './IdAddressing.js';
import { SharedSubscriptions } from './SharedSubscriptions.js';
import type { VirtualSocket } from './VirtualSocket.js';

/**
 * A session that gives up on its socket (`terminate()`: a keepalive or connect deadline missed)
 * takes the real socket down for every session on it when the node has sent nothing for this long:
 * a zombie connection is not kept alive by the sessions that have not noticed yet.
 */
const SILENT_MS = 1_000;

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
  /**
   * The real socket is done: forgotten, and when its connect failed (`failed`: how it ended),
   * remembered so that opens to its endpoint are paced.
   */
  ended(connection: SharedConnection, failed: SocketCloseInfo | undefined): void;
}

/**
 * One real socket and the virtual sockets on it. It owns the socket's life (connecting, open,
 * closed; closed on purpose when its last user leaves, torn down when a user gives up on it while
 * the node is silent; every user closed with the real socket's close), the routing of frames each
 * way, and the liveness answer to `eth_chainId`. Ids belong to its {@link IdAddressing},
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

  join(user: VirtualSocket): void {
    user.attach(this);
    if (this.#state === 'closed') return user.fail(this.#closeInfo);
    this.users.add(user);
    if (this.#state === 'open') queueMicrotask(() => user.opened());
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
    this.subscriptions.leave(user);
    this.#ids.forget(user);
    if (this.users.size === 0) return this.#drop(CloseCode.NORMAL, 'steadyrpc: no sessions left');
    if (terminated && this.#clock.now() - this.#heardAt >= SILENT_MS) this.#drop(undefined, undefined);
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

  #onItem(item: unknown): void {
    if (typeof item !== 'object' || item === null) return this.#owner.unroutable();
    const frame = item as { id?: unknown; method?: unknown; result?: unknown; params?: { subscription?: unknown; result?: unknown } };
    if (frame.method === 'eth_subscription') return this.subscriptions.notification(frame);
    const origin = typeof frame.id === 'number' ? this.#ids.take(frame.id) : undefined;
    if (!origin) return this.#owner.unroutable();
    if (origin.kind === 'call') {
      if (origin.chainId && typeof frame.result === 'string') this.#chainId = JSON.stringify(frame.result);
      return origin.user.deliver(JSON.stringify({ ...frame, id: origin.id }));
    }
    if (origin.kind === 'subscribe') this.subscriptions.subscribed(origin.shared, item as { result?: unknown; error?: unknown });
  }

  /**
   * Takes the real socket down on purpose: closed with `code` when its last user left; aborted
   * (`code` undefined) when a user gave up on it while the node was silent, and every user then
   * hears the close.
   */
  #drop(code: number | undefined, reason: string | undefined): void {
    if (this.#dropped || this.#state === 'closed') return;
    this.#dropped = true;
    this.#owner.ended(this, undefined); // new opens get a connection of their own
    if (code === undefined) return this.#socket?.terminate();
    this.#state = 'closed';
    this.#clear();
    this.#socket?.close(code, reason);
  }

  #clear(): void {
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
