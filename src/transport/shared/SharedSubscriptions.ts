import type { Clock, TimerHandle } from '../../Clock.js';
import { FirstError } from '../../FirstError.js';
import { NOTIFICATION_PREFIX, NOTIFICATION_RESULT, SUBSCRIPTION_AT, notificationId } from '../../frameShapes.js';
import { checkFrame } from '../../jsonScan.js';
import { answerFrame, type IdAddressing } from './IdAddressing.js';
import type { VirtualSocket } from './VirtualSocket.js';

/**
 * A subscribe the node has not answered within this long is sent again, for every user waiting on
 * it, and again after twice as long each time (1 s, 2 s, 4 s… after the one before) while anyone
 * still waits; a new subscriber to the same params arriving when the last ask is this old has it
 * sent again at once. A node that lost one (a stall, a proxy in between that dropped it) then holds
 * the waiters up by about this long at most, not until their request deadline, while a slow node
 * gets a handful of extra subscribes at most. The first answer serves every waiter; an answer to
 * another ask that comes later is unsubscribed (nobody holds it).
 */
export const RESUBSCRIBE_AFTER_MS = 1_000;

/**
 * A user's place in a shared subscription; `held`: notifications waiting until it has its subscribe
 * answer; `from`: the shared subscription's fan-out count when it joined (it gets later ones only).
 */
interface Member {
  readonly user: VirtualSocket;
  held: string[] | undefined;
  readonly from: number;
}

/** One upstream subscription and the user subscriptions it serves. */
export interface SharedSubscription {
  readonly key: string;
  /** The subscribe frame after its method (`,"params":[…]}`): what goes upstream, each time it is asked. */
  readonly rest: string;
  upstreamId: string | undefined;
  /** The node answered (either way) or it was closed: any later answer is an orphan. */
  settled: boolean;
  /** When its subscribe was last sent upstream. */
  sentAt: number;
  /** How long after `sentAt` it is asked again if still unanswered. */
  askAfter: number;
  /** The timer that asks again; only while unanswered and waited on. */
  timer: TimerHandle | undefined;
  /** Subscribes waiting for the upstream answer (`idText`: the JSON text of the id each was sent under). */
  readonly waiters: Array<{ user: VirtualSocket; idText: string }>;
  /** User subscription id → its member. */
  readonly members: Map<string, Member>;
  /** Notifications fanned out so far (see `Member.from`). */
  fanouts: number;
}

/** What the shared subscriptions of one real socket are built with. */
export interface SharedSubscriptionsOptions {
  /** Off: every `eth_subscribe` is an upstream subscription of its own. */
  readonly share: boolean;
  readonly clock: Clock;
  /** The ids of the real socket, to send subscribes and unsubscribes under. */
  readonly ids: IdAddressing;
  /** A fresh user subscription id, unique for the transport's life (a late unsubscribe never hits another). */
  readonly newSubscriptionId: () => string;
  /**
   * Gives `user` an answer on the node's behalf (never inside its send()), once the node is known
   * to be there: at once when it was heard just now, else when it is heard again.
   */
  readonly vouch: (user: VirtualSocket, answer: () => void) => void;
}

/**
 * The subscriptions of one real socket: one upstream subscription per distinct `eth_subscribe`
 * params, shared by every user that asked for it, each under a subscription id of its own. The first
 * subscriber's call goes upstream (later ones wait for its answer, or are answered at once when it
 * has come; one the node leaves unanswered is asked again, see {@link RESUBSCRIBE_AFTER_MS});
 * notifications are fanned out to every member under its own id, each to the members there when it
 * came; the last member's `eth_unsubscribe` closes it upstream. It owns the memberships and the
 * fan-out; the ids under which its subscribes go upstream belong to {@link IdAddressing}, the
 * socket's life to the connection, and when the node is known to be there to its `LivenessGate`.
 */
export class SharedSubscriptions {
  readonly #share: boolean;
  readonly #clock: Clock;
  readonly #ids: IdAddressing;
  readonly #newSubscriptionId: () => string;
  readonly #vouch: (user: VirtualSocket, answer: () => void) => void;
  /** The upstream subscriptions that have their id, by that id. */
  readonly #byUpstream = new Map<string, SharedSubscription>();
  readonly #byParams = new Map<string, SharedSubscription>();
  /** User subscription id → the shared subscription it is a member of. */
  readonly #memberships = new Map<string, SharedSubscription>();
  #unshared = 0;

  constructor({ share, clock, ids, newSubscriptionId, vouch }: SharedSubscriptionsOptions) {
    this.#vouch = vouch;
    this.#share = share;
    this.#clock = clock;
    this.#ids = ids;
    this.#newSubscriptionId = newSubscriptionId;
  }

  /** Upstream subscriptions on the real socket. */
  get upstreamCount(): number {
    return this.#byUpstream.size;
  }

  /** Subscriptions handed to users on the real socket. */
  get memberCount(): number {
    let count = 0;
    for (const shared of this.#byUpstream.values()) count += shared.members.size;
    return count;
  }

  /**
   * `rest`: the subscribe frame after its method (`,"params":[…]}` as the session wrote it), which is
   * what tells subscriptions apart and what goes upstream after the connection's own id and method.
   * `idText`: the JSON text of the id it was sent under, as the user wrote it.
   */
  subscribe(user: VirtualSocket, idText: string, rest: string): void {
    const key = this.#share ? rest : `unshared:${this.#unshared++}`;
    let shared = this.#byParams.get(key);
    if (shared?.upstreamId !== undefined) return this.#admitNow(shared, user, idText);
    if (shared === undefined) {
      const now = this.#clock.now();
      shared = { key, rest, upstreamId: undefined, settled: false, sentAt: now, askAfter: RESUBSCRIBE_AFTER_MS, timer: undefined, waiters: [], members: new Map(), fanouts: 0 };
      this.#ids.subscribe(shared, rest); // throws, recording nothing, when the socket cannot take it
      this.#byParams.set(key, shared);
    }
    shared.waiters.push({ user, idText });
    // A newcomer does not wait on an ask older than RESUBSCRIBE_AFTER_MS (however long the timer's
    // next wait has grown): it is asked again now, for everyone waiting.
    if (this.#clock.now() - shared.sentAt >= RESUBSCRIBE_AFTER_MS) this.#askAgain(shared);
    else this.#arm(shared);
  }

  unsubscribe(user: VirtualSocket, idText: string, subscription: string): void {
    const owned = user.subscriptions.delete(subscription);
    if (owned) this.#leaveSubscription(subscription);
    // As a node answers: true for a subscription it had, false for any other id.
    this.#vouch(user, () => user.deliver(`{"jsonrpc":"2.0","id":${idText},"result":${owned}}`));
  }

  /** `user` is gone: its subscriptions are left, and it waits for no subscribe answer any more. */
  leave(user: VirtualSocket): void {
    for (const id of user.subscriptions) this.#leaveSubscription(id);
    user.subscriptions.clear();
    for (const shared of this.#byParams.values()) {
      if (shared.waiters.some((waiter) => waiter.user === user)) {
        const kept = shared.waiters.filter((waiter) => waiter.user !== user);
        shared.waiters.splice(0, shared.waiters.length, ...kept);
        // Nobody waits on it any more: not asked again (a newcomer waiting on it arms it again).
        if (kept.length === 0) this.#disarm(shared);
      }
    }
  }

  /**
   * The node answered a shared subscribe: every waiter gets its own id, or the node's error. An
   * answer to it after the first (it was asked again) opened a subscription nobody holds: undone.
   */
  subscribed(shared: SharedSubscription, answer: { result?: unknown; error?: unknown }): void {
    const ok = typeof answer.result === 'string' && !('error' in answer);
    if (shared.settled) {
      if (ok && answer.result !== shared.upstreamId) this.#ids.unsubscribe(answer.result as string);
      return;
    }
    shared.settled = true;
    this.#disarm(shared);
    const waiters = shared.waiters.splice(0);
    // Every waiter hears, though one's listener throws (its error is thrown after).
    const errors = new FirstError();
    if (!ok) {
      if (this.#byParams.get(shared.key) === shared) this.#byParams.delete(shared.key);
      for (const { user, idText } of waiters) errors.run(() => user.deliver(answerFrame(idText, answer)));
      return errors.rethrow();
    }
    const upstreamId = answer.result as string;
    shared.upstreamId = upstreamId;
    this.#byUpstream.set(upstreamId, shared);
    // Every waiter is a member before any answer goes out: one that unsubscribes at once, on
    // hearing its answer, then leaves the others their subscription.
    const admitted = waiters.filter(({ user }) => user.isOpen).map(({ user, idText }) => ({ user, idText, subscription: this.#member(shared, user, undefined) }));
    if (admitted.length === 0) return this.#close(shared); // everyone who asked has left meanwhile
    for (const { user, idText, subscription } of admitted) errors.run(() => user.deliver(`{"jsonrpc":"2.0","id":${idText},"result":"${subscription}"}`));
    errors.rethrow();
  }

  /** A notification in the common shape, its result one JSON value (checked in place), fanned out as text. */
  fastNotification(text: string, bytes?: Uint8Array): boolean {
    const upstreamId = notificationId(text);
    if (upstreamId === undefined || !text.endsWith('}}')) return false;
    const idEnd = SUBSCRIPTION_AT + upstreamId.length;
    if (!checkFrame(text, idEnd + NOTIFICATION_RESULT.length, text.length - 2, -1, bytes)) return false;
    const shared = this.#byUpstream.get(upstreamId);
    if (!shared) return true; // a subscription closed here, its notifications still in flight: nobody wants them
    this.#fanOut(shared, text.slice(SUBSCRIPTION_AT + upstreamId.length));
    return true;
  }

  /**
   * A notification that took the general path (parsed): fanned out under each member's id, written
   * with its JSON-RPC members only (the common shape, its result one JSON value), as what a
   * session is handed by a `framesChecked` transport must be.
   */
  notification(frame: { params?: { subscription?: unknown; result?: unknown } }): void {
    const shared = typeof frame.params?.subscription === 'string' ? this.#byUpstream.get(frame.params.subscription) : undefined;
    if (!shared) return;
    const result = JSON.stringify(frame.params!.result);
    this.#fanOut(shared, result === undefined ? '"}}' : `${NOTIFICATION_RESULT}${result}}}`);
  }

  /** The real socket is gone: every subscription with it. */
  clear(): void {
    for (const shared of this.#byParams.values()) this.#disarm(shared);
    this.#byParams.clear();
    this.#byUpstream.clear();
    this.#memberships.clear();
  }

  /** Makes `user` a member of `shared` under a subscription id of its own. */
  #member(shared: SharedSubscription, user: VirtualSocket, held: string[] | undefined): string {
    const subscription = this.#newSubscriptionId();
    shared.members.set(subscription, { user, held, from: shared.fanouts });
    this.#memberships.set(subscription, shared);
    user.subscriptions.add(subscription);
    return subscription;
  }

  /**
   * A subscribe to an upstream subscription that exists: a member at once, answered after the
   * user's send() returns and the node is known to be there, with the notifications that come
   * meanwhile held until then.
   */
  #admitNow(shared: SharedSubscription, user: VirtualSocket, idText: string): void {
    const subscription = this.#member(shared, user, []);
    const member = shared.members.get(subscription)!;
    this.#vouch(user, () => {
      const held = member.held ?? [];
      member.held = undefined;
      user.deliver(`{"jsonrpc":"2.0","id":${idText},"result":"${subscription}"}`);
      for (const text of held) user.deliver(text);
    });
  }

  #leaveSubscription(subscription: string): void {
    const shared = this.#memberships.get(subscription);
    if (!shared) return;
    this.#memberships.delete(subscription);
    shared.members.delete(subscription);
    if (shared.members.size === 0) this.#close(shared);
  }

  /** Arms the timer that asks `shared` again, unless it is armed, answered or waited on by nobody. */
  #arm(shared: SharedSubscription): void {
    if (shared.timer !== undefined || shared.settled || shared.waiters.length === 0) return;
    const wait = Math.max(0, shared.sentAt + shared.askAfter - this.#clock.now());
    shared.timer = this.#clock.setTimeout(() => {
      shared.timer = undefined;
      this.#askAgain(shared);
    }, wait);
  }

  #disarm(shared: SharedSubscription): void {
    if (shared.timer === undefined) return;
    this.#clock.clearTimeout(shared.timer);
    shared.timer = undefined;
  }

  /** The node has not answered `shared`'s subscribe: it is sent again, for everyone waiting on it. */
  #askAgain(shared: SharedSubscription): void {
    this.#disarm(shared);
    if (shared.settled || shared.waiters.length === 0 || this.#byParams.get(shared.key) !== shared) return;
    try {
      this.#ids.subscribe(shared, shared.rest);
    } catch {
      return; // the socket is closing: its close answers the waiters
    }
    shared.sentAt = this.#clock.now();
    shared.askAfter *= 2;
    this.#arm(shared);
  }

  /** Nobody holds `shared` any more: forgotten, and unsubscribed upstream (once). */
  #close(shared: SharedSubscription): void {
    shared.settled = true;
    this.#disarm(shared);
    if (this.#byParams.get(shared.key) === shared) this.#byParams.delete(shared.key);
    const upstreamId = shared.upstreamId;
    if (upstreamId === undefined || this.#byUpstream.get(upstreamId) !== shared) return;
    this.#byUpstream.delete(upstreamId);
    this.#ids.unsubscribe(upstreamId);
  }

  /**
   * A notification (`rest`: its text after the subscription id) to every member of `shared`, though
   * one's listener throws (its error is thrown after). A member that joins while it goes out (a
   * subscribe from a handler) is not given it: the node sent it before that subscribe, as on a
   * socket of its own.
   */
  #fanOut(shared: SharedSubscription, rest: string): void {
    const fanout = ++shared.fanouts;
    const errors = new FirstError();
    for (const [subscription, member] of shared.members) if (member.from < fanout) errors.run(() => this.#notify(member, `${NOTIFICATION_PREFIX}${subscription}${rest}`));
    errors.rethrow();
  }

  #notify(member: Member, text: string): void {
    if (member.held) member.held.push(text);
    else member.user.deliver(text);
  }
}
