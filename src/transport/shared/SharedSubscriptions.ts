import type { Clock } from '../../Clock.js';
import type { JsonRpcId } from '../../jsonrpc.js';
import { NOTIFICATION_PREFIX, NOTIFICATION_RESULT, SUBSCRIPTION_AT, notificationId } from '../../frameShapes.js';
import { checkFrame } from '../../jsonScan.js';
import type { IdAddressing } from './IdAddressing.js';
import type { VirtualSocket } from './VirtualSocket.js';

/** A subscribe the node has not answered for this long is not waited on by newcomers: they ask again. */
const PENDING_SUBSCRIBE_MS = 5_000;

/** A user's place in a shared subscription; `held`: notifications waiting until it has its subscribe answer. */
interface Member {
  readonly user: VirtualSocket;
  held: string[] | undefined;
}

/** One upstream subscription and the user subscriptions it serves. */
export interface SharedSubscription {
  readonly key: string;
  upstreamId: string | undefined;
  /** When its subscribe was sent upstream. */
  readonly sentAt: number;
  /** Subscribes waiting for the upstream answer. */
  readonly waiters: Array<{ user: VirtualSocket; id: JsonRpcId }>;
  /** User subscription id → its member. */
  readonly members: Map<string, Member>;
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
}

/**
 * The subscriptions of one real socket: one upstream subscription per distinct `eth_subscribe`
 * params, shared by every user that asked for it, each under a subscription id of its own. The first
 * subscriber's call goes upstream (later ones wait for its answer, or are answered at once when it
 * has come); notifications are fanned out to every member under its own id; the last member's
 * `eth_unsubscribe` closes it upstream. It owns the memberships and the fan-out; the ids under which
 * its subscribes go upstream belong to {@link IdAddressing}, and the socket's life to the connection.
 */
export class SharedSubscriptions {
  readonly #share: boolean;
  readonly #clock: Clock;
  readonly #ids: IdAddressing;
  readonly #newSubscriptionId: () => string;
  /** The upstream subscriptions that have their id, by that id. */
  readonly #byUpstream = new Map<string, SharedSubscription>();
  readonly #byParams = new Map<string, SharedSubscription>();
  /** User subscription id → the shared subscription it is a member of. */
  readonly #memberships = new Map<string, SharedSubscription>();
  #unshared = 0;

  constructor({ share, clock, ids, newSubscriptionId }: SharedSubscriptionsOptions) {
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
   */
  subscribe(user: VirtualSocket, id: JsonRpcId, rest: string): void {
    const key = this.#share ? rest : `unshared:${this.#unshared++}`;
    const now = this.#clock.now();
    let shared = this.#byParams.get(key);
    if (shared !== undefined && shared.upstreamId === undefined && now - shared.sentAt >= PENDING_SUBSCRIBE_MS) {
      // The node never answered that one: ask again (if it answers late, who waited for it still gets it).
      this.#byParams.delete(key);
      shared = undefined;
    }
    if (shared?.upstreamId !== undefined) return this.#admitNow(shared, user, id);
    if (shared === undefined) {
      shared = { key, upstreamId: undefined, sentAt: now, waiters: [], members: new Map() };
      this.#ids.subscribe(shared, rest);
      this.#byParams.set(key, shared);
    }
    shared.waiters.push({ user, id });
  }

  unsubscribe(user: VirtualSocket, id: JsonRpcId, subscription: string): void {
    const owned = user.subscriptions.delete(subscription);
    if (owned) this.#leaveSubscription(subscription);
    // As a node answers: true for a subscription it had, false for any other id.
    queueMicrotask(() => user.deliver(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${owned}}`));
  }

  /** `user` is gone: its subscriptions are left, and it waits for no subscribe answer any more. */
  leave(user: VirtualSocket): void {
    for (const id of user.subscriptions) this.#leaveSubscription(id);
    user.subscriptions.clear();
    for (const shared of this.#byParams.values()) {
      if (shared.waiters.some((waiter) => waiter.user === user)) {
        const kept = shared.waiters.filter((waiter) => waiter.user !== user);
        shared.waiters.splice(0, shared.waiters.length, ...kept);
      }
    }
  }

  /** The node answered a shared subscribe: every waiter gets its own id, or the node's error. */
  subscribed(shared: SharedSubscription, answer: { result?: unknown; error?: unknown }): void {
    const waiters = shared.waiters.splice(0);
    if (typeof answer.result !== 'string' || 'error' in answer) {
      if (this.#byParams.get(shared.key) === shared) this.#byParams.delete(shared.key);
      for (const { user, id } of waiters) user.deliver(JSON.stringify({ ...answer, jsonrpc: '2.0', id }));
      return;
    }
    shared.upstreamId = answer.result;
    this.#byUpstream.set(answer.result, shared);
    // Every waiter is a member before any answer goes out: one that unsubscribes at once, on
    // hearing its answer, then leaves the others their subscription.
    const admitted = waiters.filter(({ user }) => user.isOpen).map(({ user, id }) => ({ user, id, subscription: this.#member(shared, user, undefined) }));
    if (admitted.length === 0) return this.#close(shared); // everyone who asked has left meanwhile
    for (const { user, id, subscription } of admitted) user.deliver(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":"${subscription}"}`);
  }

  /** A notification in the common shape, its result one JSON value (checked in place), fanned out as text. */
  fastNotification(text: string, bytes?: Uint8Array): boolean {
    const upstreamId = notificationId(text);
    if (upstreamId === undefined || !text.endsWith('}}')) return false;
    const idEnd = SUBSCRIPTION_AT + upstreamId.length;
    if (!checkFrame(text, idEnd + NOTIFICATION_RESULT.length, text.length - 2, -1, bytes)) return false;
    const shared = this.#byUpstream.get(upstreamId);
    if (!shared) return true; // a subscription closed here, its notifications still in flight: nobody wants them
    const rest = text.slice(SUBSCRIPTION_AT + upstreamId.length);
    for (const [subscription, member] of shared.members) this.#notify(member, `${NOTIFICATION_PREFIX}${subscription}${rest}`);
    return true;
  }

  /** A notification that took the general path (parsed): fanned out re-serialised, under each member's id. */
  notification(frame: { params?: { subscription?: unknown } }): void {
    const shared = typeof frame.params?.subscription === 'string' ? this.#byUpstream.get(frame.params.subscription) : undefined;
    if (!shared) return;
    for (const [subscription, member] of shared.members) {
      this.#notify(member, JSON.stringify({ ...frame, params: { ...frame.params, subscription } }));
    }
  }

  /** The real socket is gone: every subscription with it. */
  clear(): void {
    this.#byParams.clear();
    this.#byUpstream.clear();
    this.#memberships.clear();
  }

  /** Makes `user` a member of `shared` under a subscription id of its own. */
  #member(shared: SharedSubscription, user: VirtualSocket, held: string[] | undefined): string {
    const subscription = this.#newSubscriptionId();
    shared.members.set(subscription, { user, held });
    this.#memberships.set(subscription, shared);
    user.subscriptions.add(subscription);
    return subscription;
  }

  /**
   * A subscribe to an upstream subscription that exists: answered after the user's send() returns,
   * with the notifications that come meanwhile held until then.
   */
  #admitNow(shared: SharedSubscription, user: VirtualSocket, id: JsonRpcId): void {
    const subscription = this.#member(shared, user, []);
    const member = shared.members.get(subscription)!;
    queueMicrotask(() => {
      const held = member.held ?? [];
      member.held = undefined;
      user.deliver(`{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":"${subscription}"}`);
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

  /** Nobody holds `shared` any more: forgotten, and unsubscribed upstream (once). */
  #close(shared: SharedSubscription): void {
    if (this.#byParams.get(shared.key) === shared) this.#byParams.delete(shared.key);
    const upstreamId = shared.upstreamId;
    if (upstreamId === undefined || this.#byUpstream.get(upstreamId) !== shared) return;
    this.#byUpstream.delete(upstreamId);
    this.#ids.unsubscribe(upstreamId);
  }

  #notify(member: Member, text: string): void {
    if (member.held) member.held.push(text);
    else member.user.deliver(text);
  }
}
