import type { Clock } from '../../Clock.js';
import { FirstError } from '../../FirstError.js';
import { SteadyRpcError } from '../../errors.js';
import type { SendOptions, SocketCloseInfo, SocketEndpoint, SocketTransport, UpstreamSocket } from '../SocketTransport.js';
import { CloseCode } from '../SocketTransport.js';
import { FrameRouter, type RoutedSocket } from './FrameRouter.js';
import { IdAddressing, type RequestWriter } from './IdAddressing.js';
import { LivenessGate } from './LivenessGate.js';
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
   * A user's call (`rest`: its request after the id) goes on a socket of its own to endpoint `key`
   * (see `IsolationLane`); `timeoutMs`: how long its session waits for the answer, if it said.
   */
  isolate(key: string, user: VirtualSocket, idText: string, method: string, rest: string, timeoutMs: number | undefined): void;
  /**
   * The real socket is done (no user left on it): forgotten, and when its connect failed (`failed`:
   * how it ended), remembered so that opens to its endpoint are paced.
   */
  ended(connection: SharedConnection, failed: SocketCloseInfo | undefined): void;
}

/**
 * One real socket and the virtual sockets on it. It owns the socket's life (connecting, open,
 * closed; closed on purpose when its last user leaves, torn down when a user gives up on it while
 * the node is silent; every user closed with the real socket's close) and who is on it. When a user
 * joining the open socket is let on (once the node has been heard after the join) belongs to its
 * {@link LivenessGate}, the frames each way (and the liveness answer to `eth_chainId`) to its
 * {@link FrameRouter}, ids to its {@link IdAddressing}, subscriptions to its {@link SharedSubscriptions}.
 */
export class SharedConnection implements RequestWriter {
  readonly key: string;
  readonly users = new Set<VirtualSocket>();
  readonly subscriptions: SharedSubscriptions;
  readonly #owner: ConnectionOwner;
  readonly #settings: ConnectionSettings;
  readonly #clock: Clock;
  readonly #ids: IdAddressing;
  readonly #gate: LivenessGate;
  readonly #router: FrameRouter;
  #socket: UpstreamSocket | undefined;
  #state: 'connecting' | 'open' | 'closed' = 'connecting';
  /** How it closed, for users that arrive after. */
  #closeInfo: SocketCloseInfo = { code: CloseCode.ABNORMAL, reason: '' };
  /** Taken down on purpose (no users left, or a zombie): nobody is told twice, nothing is paced. */
  #dropped = false;
  #openedAt: number | undefined;
  /** Taking no new users: the transport opens new ones elsewhere. */
  #retired = false;

  constructor(owner: ConnectionOwner, key: string, settings: ConnectionSettings, clock: Clock) {
    this.#owner = owner;
    this.key = key;
    this.#settings = settings;
    this.#clock = clock;
    this.#ids = new IdAddressing(this);
    this.#gate = new LivenessGate({
      clock,
      isOpen: () => this.#state === 'open',
      probe: () => this.#ids.probe(),
      unanswered: (joining) => this.#turnAway(joining),
    });
    this.subscriptions = new SharedSubscriptions({
      share: settings.shareSubscriptions,
      clock,
      ids: this.#ids,
      newSubscriptionId: () => owner.subscriptionId(),
      vouch: (user, answer) => this.#gate.vouch(user, answer),
    });
    const socket: RoutedSocket = {
      write: (text) => this.write(text),
      heardRecently: () => clock.now() - this.#gate.heardAt < settings.livenessWindowMs,
      unroutable: () => owner.unroutable(),
      isolate: (user, idText, method, rest, timeoutMs) => owner.isolate(key, user, idText, method, rest, timeoutMs),
    };
    this.#router = new FrameRouter(socket, this.#ids, this.subscriptions);
  }

  connect(inner: SocketTransport, endpoint: SocketEndpoint): void {
    try {
      this.#socket = inner.open(endpoint, {
        onOpen: () => {
          if (this.#state !== 'connecting') return;
          this.#state = 'open';
          this.#openedAt = this.#clock.now();
          this.#gate.heard(this.#openedAt);
          everyUser(this.users, (user) => user.opened());
        },
        onMessage: (text, bytes) => this.#onMessage(text, bytes),
        onClose: (info) => this.#onClose(info),
        onError: (error) => everyUser(this.users, (user) => user.error(error)),
      });
    } catch (error) {
      // A transport that throws instead of reporting: the same as a connect that failed at once.
      queueMicrotask(() => {
        const errors = new FirstError();
        errors.run(() => everyUser(this.users, (user) => user.error(error instanceof Error ? error : new Error(String(error)))));
        errors.run(() => this.#onClose({ code: CloseCode.ABNORMAL, reason: '' }));
        errors.rethrow();
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
    this.#gate.join(user);
  }

  /**
   * A user's frame: each request re-addressed, subscriptions served from the shared ones (`options`:
   * see SendOptions). Throws, like a real socket, when the real socket cannot take it.
   */
  send(user: VirtualSocket, text: string, options: SendOptions | undefined): void {
    if (this.#state !== 'open') throw new SteadyRpcError('ERR_TRANSPORT', 'Cannot send: socket is not open');
    this.#router.send(user, text, options);
  }

  /**
   * A user is gone: its subscriptions are left and the answers it waited for forgotten. The last
   * one out closes the real socket; one that gives up on it (`terminated`) while the node has been
   * silent takes it down for everyone.
   */
  leave(user: VirtualSocket, terminated: boolean): void {
    if (!this.users.delete(user)) return;
    this.#gate.leave(user);
    this.subscriptions.leave(user);
    this.#ids.forget(user);
    if (this.users.size === 0) return this.#drop(CloseCode.NORMAL, 'steadyrpc: no sessions left');
    if (terminated && this.#clock.now() - this.#gate.heardAt >= SILENT_MS) this.#abandon(user.joinedAt);
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
      this.#gate.withdraw(user);
      this.#owner.place(user);
    }
    this.#drop(undefined, undefined);
  }

  #onMessage(text: string, bytes: Uint8Array | undefined): void {
    if (this.#state === 'closed') return;
    this.#gate.heard(this.#clock.now());
    // The node is there: whatever waited for it goes on (after the frame, which was not theirs),
    // though a listener the frame went to threw.
    const errors = new FirstError();
    errors.run(() => this.#router.receive(text, bytes));
    if (this.#state === 'open') errors.run(() => this.#gate.release());
    errors.rethrow();
  }

  /**
   * The node did not answer the probe: the socket takes no new users, those waiting to join
   * (`joining`) are placed on a fresh one, and with nobody else on it, it is let go.
   */
  #turnAway(joining: VirtualSocket[]): void {
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
    this.#gate.clear();
    this.#ids.clear();
    this.subscriptions.clear();
  }

  #onClose(info: SocketCloseInfo): void {
    if (this.#state === 'closed') return;
    const now = this.#clock.now();
    // A connect that failed, or a socket the node closed right after opening it: paced.
    const tooBig = info.messageTooBig === true;
    // (Not one an answer too big closed: the node answered.)
    const failed = !this.#dropped && !tooBig && (this.#openedAt === undefined || now - this.#openedAt < this.#settings.retryAfterMs);
    this.#state = 'closed';
    this.#closeInfo = info;
    this.#owner.ended(this, failed ? info : undefined);
    const users = [...this.users];
    // Each user is told which of its calls were on this socket (not those on a socket of their own).
    const suspects = tooBig ? new Map(users.map((user) => [user, this.#ids.sentIdsOf(user)])) : undefined;
    this.users.clear();
    this.#clear();
    everyUser(users, (user) => user.closed(suspects ? { ...info, tooBigSuspects: suspects.get(user)! } : info));
  }
}

/** Tells every user of something, though one's listener throws; then throws the first error. */
function everyUser(users: Iterable<VirtualSocket>, tell: (user: VirtualSocket) => void): void {
  const errors = new FirstError();
  for (const user of users) errors.run(() => tell(user));
  errors.rethrow();
}
