import { SteadyRpcError } from '../errors.js';

/**
 * One client subscription and where it lives upstream now. The registry's own record, read-only
 * to everyone else: its upstream id changes through {@link SubscriptionRegistry.setUpstream} and
 * {@link SubscriptionRegistry.detachAll} only, so an entry held across those calls shows the
 * current id.
 */
export interface SubscriptionEntry {
  /** The id the client knows; it never changes while the entry lives. */
  readonly clientId: string;
  /**
   * The id on the current upstream socket; `undefined` while detached (the upstream died and the
   * replay has not answered yet).
   */
  readonly upstreamId: string | undefined;
  /** The `eth_subscribe` params, replayed as they are on a new upstream (a frozen copy, filter objects and arrays in it too). */
  readonly params: readonly unknown[];
}

/** The same record as the registry writes it. */
interface Entry extends Omit<SubscriptionEntry, 'upstreamId'> {
  upstreamId: string | undefined;
}

/**
 * Client subscription id ↔ upstream subscription id, with the params to replay: what a proxy or
 * session needs to give a client one subscription id for life while the upstream under it changes.
 * On a new upstream, {@link detachAll}, re-send each entry's `params` as `eth_subscribe`, and
 * {@link setUpstream} each answer; notifications are looked up with {@link byUpstreamId} and sent
 * to the client under the entry's `clientId`.
 *
 * It owns the two mappings and the params, nothing else: it sends nothing, holds no socket or
 * timer, chooses no ids (the caller gives both), and sets no bound on how many entries it holds
 * (cap them before {@link add}, as `UpstreamSession` does with `maxSubscriptions`).
 *
 * The two ids live in two independent maps: upstream ids are only unique per upstream socket, and a
 * new upstream may hand out an id that equals some other entry's client id (anvil counts from
 * `0x1` on every socket), so a lookup by one kind of id must never find an entry by the other.
 */
export class SubscriptionRegistry {
  readonly #byClient = new Map<string, Entry>();
  readonly #byUpstream = new Map<string, Entry>();
  /**
   * The last entry found by upstream id, and that id (the registry's own copy): a stream of
   * notifications for one subscription skips hashing a fresh id string for each. Forgotten on any
   * change to the upstream ids.
   */
  #lastUpstreamId: string | undefined;
  #lastEntry: Entry | undefined;

  /**
   * Registers a new subscription under its client-facing id, mapped to `upstreamId` on the current
   * upstream socket (by default the same id: the client id is the id of the first upstream answer),
   * or to none (`null`: detached, to be mapped by {@link setUpstream} once it is replayed; a session
   * does this when the subscribe was answered on a socket it is leaving).
   *
   * Throws `ERR_BAD_RESPONSE` if `clientId` is already a client id, or if `upstreamId` is still the
   * upstream id of another entry: an upstream id that repeats one the registry holds cannot be told
   * apart. After a node switch the first can happen legitimately (the new node reuses a number the
   * client already holds), so check {@link byClientId} first and choose another client id.
   */
  add(clientId: string, params: readonly unknown[], upstreamId: string | null = clientId): SubscriptionEntry {
    if (this.#byClient.has(clientId)) {
      throw new SteadyRpcError('ERR_BAD_RESPONSE', `Subscription id "${clientId}" is already registered`);
    }
    if (upstreamId !== null && this.#byUpstream.has(upstreamId)) {
      throw new SteadyRpcError('ERR_BAD_RESPONSE', `Upstream subscription id "${upstreamId}" is already in use`);
    }
    const entry: Entry = { clientId, upstreamId: upstreamId ?? undefined, params: frozenCopy(params) as readonly unknown[] };
    this.#byClient.set(clientId, entry);
    if (upstreamId !== null) this.#byUpstream.set(upstreamId, entry);
    return entry;
  }

  /** The entry under client id `id` (attached or not), if there is one. */
  byClientId(id: string): SubscriptionEntry | undefined {
    return this.#byClient.get(id);
  }

  /** The entry an upstream `eth_subscription` notification belongs to, if it is attached. */
  byUpstreamId(id: string): SubscriptionEntry | undefined {
    if (this.#lastUpstreamId !== undefined && id === this.#lastUpstreamId) return this.#lastEntry;
    const entry = this.#byUpstream.get(id);
    if (entry !== undefined) {
      this.#lastUpstreamId = entry.upstreamId;
      this.#lastEntry = entry;
    }
    return entry;
  }

  /** Forgets a subscription (the client unsubscribed); returns it, with its upstream id, if it existed. */
  remove(clientId: string): SubscriptionEntry | undefined {
    const entry = this.#byClient.get(clientId);
    if (!entry) return undefined;
    this.#byClient.delete(clientId);
    this.#unmapUpstream(entry);
    return entry;
  }

  /**
   * Maps a subscription to its id on the current upstream, after a replay.
   *
   * Throws a `RangeError` if `clientId` is not registered: a caller bug, since the client may
   * unsubscribe while the replay is in flight and the caller must then unsubscribe the new upstream
   * id instead. Throws `ERR_BAD_RESPONSE` if `upstreamId` already belongs to another entry: call
   * {@link detachAll} before replaying on a new upstream, so the old socket's ids are gone.
   */
  setUpstream(clientId: string, upstreamId: string): void {
    const entry = this.#byClient.get(clientId);
    if (!entry) throw new RangeError(`Subscription id "${clientId}" is not registered`);
    const holder = this.#byUpstream.get(upstreamId);
    if (holder !== undefined && holder !== entry) {
      throw new SteadyRpcError(
        'ERR_BAD_RESPONSE',
        `Upstream subscription id "${upstreamId}" already belongs to subscription "${holder.clientId}"`,
      );
    }
    this.#unmapUpstream(entry);
    entry.upstreamId = upstreamId;
    this.#byUpstream.set(upstreamId, entry);
    this.#lastUpstreamId = undefined;
  }

  /** The upstream died: every entry waits for its replay, and no upstream id finds anything. */
  detachAll(): void {
    for (const entry of this.#byClient.values()) entry.upstreamId = undefined;
    this.#byUpstream.clear();
    this.#lastUpstreamId = undefined;
  }

  /**
   * Every entry, in the order the subscriptions were added: a live view (entries removed while it
   * is read are skipped, entries added are included), so copy it first to add while iterating.
   */
  entries(): IterableIterator<SubscriptionEntry> {
    return this.#byClient.values();
  }

  /** Subscriptions registered now, attached or not. */
  get size(): number {
    return this.#byClient.size;
  }

  #unmapUpstream(entry: Entry): void {
    this.#lastUpstreamId = undefined;
    if (entry.upstreamId !== undefined && this.#byUpstream.get(entry.upstreamId) === entry) {
      this.#byUpstream.delete(entry.upstreamId);
    }
  }
}

/**
 * `value` copied with every array and plain object in it, each frozen: what the caller changes
 * later (a `logs` filter it reuses) does not change what is replayed. Anything else is kept as it is.
 */
function frozenCopy(value: unknown): unknown {
  if (Array.isArray(value)) return Object.freeze(value.map(frozenCopy));
  if (typeof value !== 'object' || value === null) return value;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  return Object.freeze(Object.fromEntries(Object.entries(value).map(([key, item]) => [key, frozenCopy(item)])));
}
