import { SteadyRpcError } from '../errors.js';

/** One client subscription and where it lives upstream now. */
export interface SubscriptionEntry {
  /** The id the client knows; it never changes while the session lives. */
  readonly clientId: string;
  /**
   * The id on the current upstream socket; `undefined` while detached (the upstream died and the
   * replay has not answered yet). Change it only through the registry.
   */
  upstreamId: string | undefined;
  /** The `eth_subscribe` params, replayed as they are on a new upstream. */
  readonly params: readonly unknown[];
}

/**
 * Client subscription id ↔ upstream subscription id, with the params to replay.
 *
 * The two ids live in two independent maps: upstream ids are only unique per upstream socket, and a
 * new upstream may hand out an id that equals some other entry's client id (anvil counts from
 * `0x1` on every socket), so a lookup by one kind of id must never find an entry by the other.
 */
export class SubscriptionRegistry {
  readonly #byClient = new Map<string, SubscriptionEntry>();
  readonly #byUpstream = new Map<string, SubscriptionEntry>();
  /**
   * The last entry found by upstream id, and that id (the registry's own copy): a stream of
   * notifications for one subscription skips hashing a fresh id string for each. Forgotten on any
   * change to the upstream ids.
   */
  #lastUpstreamId: string | undefined;
  #lastEntry: SubscriptionEntry | undefined;

  /**
   * Registers a new subscription under its client-facing id, mapped to `upstreamId` on the current
   * upstream socket (by default the same id: the client id is the id of the first upstream answer),
   * or to none (`null`) when it was answered on a socket the session is leaving and still has
   * to be replayed on the current one.
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
    const entry: SubscriptionEntry = { clientId, upstreamId: upstreamId ?? undefined, params: Object.freeze([...params]) };
    this.#byClient.set(clientId, entry);
    if (upstreamId !== null) this.#byUpstream.set(upstreamId, entry);
    return entry;
  }

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

  /** Every entry, in the order the subscriptions were added. */
  entries(): IterableIterator<SubscriptionEntry> {
    return this.#byClient.values();
  }

  get size(): number {
    return this.#byClient.size;
  }

  #unmapUpstream(entry: SubscriptionEntry): void {
    this.#lastUpstreamId = undefined;
    if (entry.upstreamId !== undefined && this.#byUpstream.get(entry.upstreamId) === entry) {
      this.#byUpstream.delete(entry.upstreamId);
    }
  }
}
