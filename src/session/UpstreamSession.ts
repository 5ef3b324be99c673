import { EventEmitter } from 'eventemitter3';
import { ExponentialBackoff } from '../backoff/ExponentialBackoff.js';
import type { Clock, TimerHandle } from '../Clock.js';
import { SteadyRpcError, describeError } from '../errors.js';
import type { JsonRpcResponse } from '../jsonrpc.js';
import { RpcErrorCode, errorResponse } from '../jsonrpc.js';
import type { NodePool, SwitchEvent } from '../pool/NodePool.js';
import type { Random } from '../random.js';
import { defaultRandom } from '../random.js';
import { resolveEndpoint } from '../transport/endpoint.js';
import type { SocketCloseInfo, SocketTransport } from '../transport/SocketTransport.js';
import { isAuthOrPolicyClose } from '../transport/SocketTransport.js';
import { WsSocketTransport } from '../transport/WsSocketTransport.js';
import { BatchCollector } from './BatchCollector.js';
import { ContinuityKeeper, type OwnCall } from './ContinuityKeeper.js';
import type { ParsedItem } from './ClientFrame.js';
import { parseClientFrame } from './ClientFrame.js';
import { MessageQueue } from './MessageQueue.js';
import type { BatchSlot, PendingCall } from './PendingCall.js';
import { clientAnswer } from './PendingCall.js';
import type { OwnPurpose } from './ReplayFilter.js';
import { ReplayFilter } from './ReplayFilter.js';
import { isRepeatable, type RepeatablePredicate } from './repeatable.js';
import type { SessionSettings, UpstreamSessionOptions } from './SessionOptions.js';
import { continuitySettings, sessionSettings } from './SessionOptions.js';
import type { SessionState } from './SessionState.js';
import { acceptsTraffic, assertTransition } from './SessionState.js';
import type { SessionEvents, SessionStats, SessionSwitchReason } from './SessionEvents.js';
import { SubscriptionRegistry } from './SubscriptionRegistry.js';
import { UpstreamLink } from './UpstreamLink.js';

type Upstream = Record<string, unknown>;

/**
 * The two frame shapes nodes send most, as geth, reth, erigon, nethermind and anvil write them. A
 * frame that matches is re-addressed by splicing the client's id (or subscription id) into the text,
 * instead of parsing and serialising it again; anything else takes the general path.
 */
const ANSWER_HEAD = /^\{"jsonrpc":"2\.0","id":(\d{1,15}),"(?:result|error)":/;
const NOTIFICATION_HEAD = /^\{"jsonrpc":"2\.0","method":"eth_subscription","params":\{"subscription":"([0-9A-Za-z_-]{1,100})","result":/;

/** How many recent subscription ids a session refuses to hand out again. */
const ISSUED_IDS_REMEMBERED = 4_096;

/**
 * One client's logical JSON-RPC WebSocket connection to "the best node". It stays valid while the
 * upstream under it dies, stalls, is replaced or is left for a better one: the host feeds it client
 * frames with {@link send} and forwards what it emits as `message`.
 *
 * Every id sent upstream is the session's own; client ids are restored on the way down.
 * Subscriptions keep their client-facing id across any number of upstreams; replays, keepalives and
 * other calls the session makes for itself never reach the client.
 */
export class UpstreamSession extends EventEmitter<SessionEvents> {
  readonly #pool: NodePool;
  readonly #transport: SocketTransport;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #settings: SessionSettings;
  readonly #isRepeatable: RepeatablePredicate;
  readonly #registry = new SubscriptionRegistry();
  readonly #filter: ReplayFilter;
  readonly #queue: MessageQueue<PendingCall>;
  readonly #onPoolSwitch = (event: SwitchEvent) => this.#followPool(event);
  readonly #continuity: ContinuityKeeper;
  #state: SessionState = 'connecting';
  /** The socket client traffic flows through. */
  #link: UpstreamLink | undefined;
  /** The socket being opened and replayed, to take over from `#link` (or to be the first). */
  #next: UpstreamLink | undefined;
  #nextReason: SessionSwitchReason = 'connect';
  readonly #draining = new Set<UpstreamLink>();
  /**
   * Subscriptions whose subscribe answer waits in an unfinished client batch, with their
   * notifications held back until the client has that answer (it cannot know the id before).
   */
  readonly #unannounced = new Map<string, string[]>();
  readonly #batchSubscriptions = new WeakMap<BatchCollector, string[]>();
  /**
   * Subscription ids given to the client, most recent last; none of them is given again. Bounded,
   * so a session that subscribes and unsubscribes for days does not grow: a late unsubscribe of an
   * id thousands of subscriptions old is not a risk worth unbounded memory.
   */
  readonly #issuedSubscriptionIds = new Set<string>();
  #generation = 0;
  #nextId = 1;
  #backoff: ExponentialBackoff;
  #backoffTimer: TimerHandle | undefined;
  /** Nodes that failed since the last round started; the next is tried at once until none is left. */
  readonly #failedThisRound = new Set<string>();
  /** Consecutive short-lived connections per node, to space out attempts to go back to it. */
  readonly #nodeFailures = new Map<string, { count: number; at: number }>();
  #lastNode: string | undefined;
  readonly #stats = {
    reconnects: 0,
    switches: 0,
    resent: 0,
    notResent: 0,
    upstreamGarbage: 0,
    unknownAnswers: 0,
    droppedNotifications: 0,
    queueOverflows: 0,
  };

  constructor(options: UpstreamSessionOptions) {
    super();
    if (typeof options !== 'object' || options === null || typeof options.pool !== 'object') {
      throw new SteadyRpcError('ERR_CONFIG', 'Expected UpstreamSession options with a `pool`');
    }
    const { pool, transport = new WsSocketTransport(), clock = pool.clock, random = defaultRandom } = options;
    if (!pool.nodes.some((node) => node.ws !== undefined)) {
      throw new SteadyRpcError('ERR_CONFIG', 'UpstreamSession needs at least one node with a `ws` endpoint');
    }
    this.#settings = sessionSettings(options);
    this.#pool = pool;
    this.#transport = transport;
    this.#clock = clock;
    this.#random = random;
    this.#isRepeatable = options.isRepeatable ?? isRepeatable;
    this.#backoff = new ExponentialBackoff(options.backoff);
    this.#filter = new ReplayFilter(clock);
    this.#queue = new MessageQueue({ ...options.queue, clock }, (expired) => {
      for (const call of expired) this.#fail(call, RpcErrorCode.REQUEST_TIMEOUT, 'Request timed out waiting for an upstream node');
      this.#emitQueue();
    });
    this.#continuity = new ContinuityKeeper(
      continuitySettings(options.continuity),
      (subscription, result, resultText) => this.#emitNotification(subscription, result, resultText),
      (event) => this.emit('backfill', { ...event, node: this.#link?.node ?? '' }),
    );
    pool.on('switch', this.#onPoolSwitch);
    this.#reconnect();
  }

  get state(): SessionState {
    return this.#state;
  }

  /** The node client traffic goes to now, if any. */
  get node(): string | undefined {
    return this.#link?.node;
  }

  /** A read-only snapshot of counters and sizes, for status pages and metrics. */
  stats(): SessionStats {
    let inFlight = 0;
    for (const link of [this.#link, ...this.#draining]) inFlight += link?.calls.size ?? 0;
    return Object.freeze({
      ...this.#stats,
      state: this.#state,
      node: this.#link?.node,
      subscriptions: this.#registry.size,
      queued: this.#queue.length,
      queuedBytes: this.#queue.bytes,
      inFlight,
      swallowed: this.#filter.swallowed,
      duplicatesSuppressed: this.#continuity.duplicates,
      backfilled: this.#continuity.backfilled,
    });
  }

  /** Takes one client frame (a request, a notification or a batch). Every request gets one answer. */
  send(text: string): void {
    if (this.#state === 'closed') throw new SteadyRpcError('ERR_CLOSED', 'UpstreamSession is closed');
    const parsed = parseClientFrame(text, this.#settings);
    if (parsed.kind === 'error') return this.#emitText(JSON.stringify(parsed.response));
    if (parsed.kind === 'single') return this.#take(parsed.item, undefined, text.length);
    const collector: BatchCollector = new BatchCollector(parsed.items.length, (responses) => {
      if (responses.length > 0) this.#emitText(JSON.stringify(responses));
      this.#announce(collector);
    });
    const share = Math.ceil(text.length / parsed.items.length);
    parsed.items.forEach((item, index) => this.#take(item, { collector, index }, share));
  }

  /**
   * Reconnects now with a fresh backoff (for when the host learns the network is back). With an
   * upstream in use, moves to the best node make-before-break.
   */
  reconnect(): void {
    if (this.#state === 'closed') throw new SteadyRpcError('ERR_CLOSED', 'UpstreamSession is closed');
    this.#backoff = this.#backoff.reset();
    this.#failedThisRound.clear();
    this.#nodeFailures.clear();
    if (this.#backoffTimer !== undefined) {
      this.#clock.clearTimeout(this.#backoffTimer);
      this.#backoffTimer = undefined;
    }
    if (this.#link && !this.#next) {
      const best = this.#pickNode() ?? this.#link.node;
      this.#setState('switching');
      void this.#prepare(best, 'forced');
    } else if (!this.#next) {
      this.#reconnect();
    }
  }

  /**
   * Ends the session: calls still owed get an UPSTREAM_UNAVAILABLE answer, then every socket, timer
   * and listener is released. Idempotent.
   */
  close(): void {
    if (this.#state === 'closed') return;
    this.#pool.off('switch', this.#onPoolSwitch);
    const owed = [...this.#queue.clear()];
    for (const link of [this.#link, this.#next, ...this.#draining]) {
      if (!link) continue;
      owed.push(...link.calls.values());
      link.calls.clear();
      link.kill(1000, 'steadyrpc: session closed');
    }
    for (const call of owed) this.#fail(call, RpcErrorCode.UPSTREAM_UNAVAILABLE, 'Session closed');
    this.#unannounced.clear();
    this.#link = this.#next = undefined;
    this.#draining.clear();
    this.#filter.clear();
    this.#continuity.clear();
    this.#queue.close();
    if (this.#backoffTimer !== undefined) this.#clock.clearTimeout(this.#backoffTimer);
    this.#backoffTimer = undefined;
    this.#setState('closed');
    this.emit('closed');
    this.removeAllListeners();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  // ---- client side -------------------------------------------------------------------------

  #take(item: ParsedItem, slot: BatchSlot | undefined, bytes: number): void {
    if (item.kind === 'invalid') return this.#deliver(slot, item.response);
    const { request, hasId } = item;
    const call: PendingCall = {
      clientId: request.id ?? null,
      method: request.method,
      params: request.params,
      slot,
      bytes,
      sentAt: 0,
      answered: false,
      oneWay: !hasId,
    };
    if (!hasId) slot?.collector.skip(slot.index);
    if (request.method === 'eth_unsubscribe' && hasId) return this.#unsubscribe(call);
    this.#dispatch(call);
  }

  #unsubscribe(call: PendingCall): void {
    const id = Array.isArray(call.params) ? call.params[0] : undefined;
    const entry = typeof id === 'string' ? this.#registry.remove(id) : undefined;
    if (entry) this.#continuity.forget(entry.clientId);
    // An id the client does not have: answer as a node would, without bothering one.
    if (!entry) return this.#answer(call, { jsonrpc: '2.0', id: call.clientId, result: false });
    if (entry.upstreamId === undefined || !this.#link || !acceptsTraffic(this.#state)) {
      // No upstream holds it now; it will simply not be replayed.
      return this.#answer(call, { jsonrpc: '2.0', id: call.clientId, result: true });
    }
    this.#sendCall(this.#link, { ...call, params: [entry.upstreamId], unsubscribed: entry.clientId });
  }

  #dispatch(call: PendingCall): void {
    if (this.#link && acceptsTraffic(this.#state)) return this.#sendCall(this.#link, call);
    if (this.#queue.push(call, call.bytes)) return this.#emitQueue();
    this.#stats.queueOverflows += 1;
    if (call.oneWay) {
      this.emit('error', new SteadyRpcError('ERR_UPSTREAM_UNAVAILABLE', `Queue full: dropped client notification ${call.method}`));
      return;
    }
    this.#fail(call, RpcErrorCode.QUEUE_FULL, 'Too many requests queued while reconnecting');
  }

  #answer(call: PendingCall, response: JsonRpcResponse): void {
    if (call.answered || call.oneWay) return;
    call.answered = true;
    this.#deliver(call.slot, response);
  }

  #fail(call: PendingCall, code: number, message: string): void {
    this.#answer(call, errorResponse(call.clientId, code, message));
  }

  #deliver(slot: BatchSlot | undefined, response: JsonRpcResponse): void {
    if (slot) slot.collector.set(slot.index, response);
    else this.#emitText(JSON.stringify(response));
  }

  #emitText(text: string): void {
    this.emit('message', text);
  }

  #emitQueue(): void {
    this.emit('queue', { depth: this.#queue.length, bytes: this.#queue.bytes });
  }

  // ---- sending upstream ----------------------------------------------------------------------

  #sendCall(link: UpstreamLink, call: PendingCall): void {
    if (call.oneWay) return this.#write(link, { jsonrpc: '2.0', method: call.method, params: call.params });
    const id = this.#nextId++;
    call.sentAt = this.#clock.now();
    link.calls.set(id, call);
    if (!link.hasTimer('calls')) link.setTimer('calls', this.#settings.requestTimeoutMs, () => this.#expireCalls(link));
    this.#write(link, { jsonrpc: '2.0', id, method: call.method, params: call.params });
  }

  /** Sends a request of the session's own; its answer goes to `onAnswer`, never to the client. */
  #sendOwn(link: UpstreamLink, purpose: OwnPurpose, method: string, params: unknown[], timeoutMs: number, onAnswer: (response: JsonRpcResponse) => void, onFail: (error: SteadyRpcError) => void): number {
    const id = this.#nextId++;
    this.#filter.own(id, purpose, link, timeoutMs, { onAnswer, onFail });
    this.#write(link, { jsonrpc: '2.0', id, method, params });
    return id;
  }

  #write(link: UpstreamLink, payload: Upstream): void {
    if (payload.params === undefined) delete payload.params;
    try {
      link.socket!.send(JSON.stringify(payload));
    } catch (error) {
      // The socket is going away; its close handler (or this) re-homes what it owes, in order.
      queueMicrotask(() => this.#linkFailed(link, 'error', error));
    }
  }

  #expireCalls(link: UpstreamLink): void {
    const deadline = this.#clock.now() - this.#settings.requestTimeoutMs;
    for (const [id, call] of link.calls) {
      if (call.sentAt > deadline) {
        link.setTimer('calls', call.sentAt - deadline, () => this.#expireCalls(link));
        return;
      }
      link.calls.delete(id);
      if (call.method === 'eth_subscribe') this.#undoLateSubscribe(link, id);
      this.#fail(call, RpcErrorCode.REQUEST_TIMEOUT, `No answer from node "${link.node}" within ${this.#settings.requestTimeoutMs} ms`);
    }
    if (link.phase === 'draining') this.#retire(link);
  }

  /** A subscribe given up on (timed out): if the node sets it up after all, it is undone there. */
  #undoLateSubscribe(link: UpstreamLink, id: number): void {
    link.abandonedSubscribes.add(id);
  }

  // ---- choosing and opening upstreams -------------------------------------------------------

  #pickNode(): string | undefined {
    return this.#pool.candidates().find((name) => this.#pool.node(name).ws !== undefined && !this.#failedThisRound.has(name));
  }

  /** Opens the next node now, or backs off when every node failed this round. */
  #reconnect(): void {
    if (this.#state === 'closed' || this.#next || this.#backoffTimer !== undefined) return;
    const node = this.#pickNode();
    if (node !== undefined) {
      void this.#prepare(node, this.#lastNode === undefined ? 'connect' : 'failover');
      return;
    }
    const delayMs = this.#backoff.delay(this.#random);
    this.#backoff = this.#backoff.next();
    this.#stats.reconnects += 1;
    this.emit('reconnecting', { attempt: this.#backoff.attempt, delayMs });
    this.#backoffTimer = this.#clock.setTimeout(() => {
      this.#backoffTimer = undefined;
      this.#failedThisRound.clear();
      this.#reconnect();
    }, delayMs);
  }

  async #prepare(node: string, reason: SessionSwitchReason): Promise<void> {
    const link = new UpstreamLink(node, ++this.#generation, this.#clock);
    this.#next = link;
    this.#nextReason = reason;
    // Shared by every session on the pool: a failover of thousands of sessions is paced.
    await this.#pool.connectPermit(node);
    if (!link.alive || link !== this.#next) return;
    link.setTimer('connect', this.#settings.connectTimeoutMs, () =>
      this.#linkFailed(link, 'connect-timeout', new SteadyRpcError('ERR_TIMEOUT', `Node "${node}" did not open a socket within ${this.#settings.connectTimeoutMs} ms`)),
    );
    let endpoint;
    try {
      endpoint = await resolveEndpoint(this.#pool.node(node).ws!);
    } catch (error) {
      return this.#linkFailed(link, 'error', error);
    }
    if (!link.alive) return;
    link.socket = this.#transport.open(endpoint, {
      onOpen: () => this.#onOpen(link),
      onMessage: (text) => this.#onMessage(link, text),
      onClose: (info) => this.#onClose(link, info),
      onError: (error) => this.emit('error', new SteadyRpcError('ERR_TRANSPORT', `Socket error on node "${node}"`, { cause: error })),
    });
  }

  #onOpen(link: UpstreamLink): void {
    if (link !== this.#next || link.phase !== 'connecting') return;
    link.clearTimer('connect');
    link.phase = 'replaying';
    link.lastSeenAt = this.#clock.now();
    this.#maybeActivate(link);
  }

  // ---- replay ---------------------------------------------------------------------------------

  #replay(link: UpstreamLink, clientId: string): void {
    const entry = this.#registry.byClientId(clientId);
    if (!entry || link.replaying.has(clientId)) return;
    link.replaying.add(clientId);
    const settle = () => link.replaying.delete(clientId);
    const id = this.#sendOwn(link, 'replay', 'eth_subscribe', [...entry.params], this.#settings.replayTimeoutMs,
      (response) => {
        settle();
        const result = (response as { result?: unknown }).result;
        if (typeof result === 'string') this.#replayed(link, clientId, result);
        else this.#replayFailed(link, clientId, new SteadyRpcError('ERR_BAD_RESPONSE', `Replay of subscription ${clientId} on node "${link.node}" was refused: ${'error' in response ? response.error.message : 'no subscription id'}`));
      },
      (error) => {
        settle();
        if (!link.alive) return;
        // A slow node may still set it up; it is retried, so that one would be an orphan.
        if (error.code === 'ERR_TIMEOUT') this.#undoLateSubscribe(link, id);
        this.#replayFailed(link, clientId, error);
      },
    );
  }

  #replayed(link: UpstreamLink, clientId: string, upstreamId: string): void {
    if (!link.alive) return;
    if (!this.#registry.byClientId(clientId)) {
      // The client unsubscribed while the replay was in flight: don't leave it open on the node.
      this.#unsubscribeOrphan(link, upstreamId);
    } else if (link.phase === 'active') {
      this.#registry.setUpstream(clientId, upstreamId);
    } else {
      link.replayed.set(clientId, upstreamId);
    }
    this.emit('replay', { subscription: clientId, node: link.node, ok: true });
    this.#maybeActivate(link);
  }

  #replayFailed(link: UpstreamLink, clientId: string, error: SteadyRpcError): void {
    this.emit('replay', { subscription: clientId, node: link.node, ok: false, error });
    if (link === this.#next && this.#link) {
      // A node that cannot carry every subscription is no better: stay where we are.
      return this.#linkFailed(link, 'replay-failed', error);
    }
    const delay = link.replayBackoff.delay(this.#random);
    link.replayBackoff = link.replayBackoff.next();
    link.replayRetries.set(clientId, this.#clock.setTimeout(() => {
      link.replayRetries.delete(clientId);
      if (link.alive) {
        this.#replay(link, clientId);
        this.#maybeActivate(link);
      }
    }, delay));
    this.#maybeActivate(link);
  }

  #unsubscribeOrphan(link: UpstreamLink, upstreamId: string): void {
    this.#sendOwn(link, 'unsubscribe', 'eth_unsubscribe', [upstreamId], this.#settings.replayTimeoutMs, () => {}, () => {});
  }

  /** Activates a prepared socket once every subscription the client has is replayed on it. */
  #maybeActivate(link: UpstreamLink): void {
    if (link !== this.#next || link.phase !== 'replaying') return;
    for (const entry of this.#registry.entries()) {
      if (!link.replayed.has(entry.clientId) && !link.replayRetries.has(entry.clientId)) this.#replay(link, entry.clientId);
    }
    if (link.replaying.size === 0) this.#activate(link);
  }

  #activate(link: UpstreamLink): void {
    const old = this.#link;
    this.#next = undefined;
    this.#registry.detachAll();
    for (const [clientId, upstreamId] of link.replayed) {
      if (this.#registry.byClientId(clientId)) this.#registry.setUpstream(clientId, upstreamId);
      else this.#unsubscribeOrphan(link, upstreamId);
    }
    link.replayed.clear();
    link.phase = 'active';
    link.activatedAt = this.#clock.now();
    this.#link = link;
    this.#failedThisRound.clear();
    if (old) this.#drain(old, this.#nextReason === 'unhealthy');
    const from = this.#lastNode;
    this.#lastNode = link.node;
    this.#stats.switches += 1;
    this.#armKeepalive(link);
    this.#setState('ready');
    for (const call of this.#queue.drain()) if (!call.answered) this.#sendCall(link, call);
    this.#emitQueue();
    // What the client missed while switching comes from the new node, before newer notifications.
    if (from !== undefined) this.#continuity.afterSwitch(this.#ownCall(link));
    this.emit('switch', { from, to: link.node, reason: this.#nextReason });
  }

  // ---- leaving upstreams ---------------------------------------------------------------------

  /**
   * Lets a socket that was left deliver the answers it owes, up to the drain deadline. When it was
   * left because its node is unhealthy, waiting for it is pointless: calls that are safe to repeat
   * move to the new socket at once, and only the others wait.
   */
  #drain(old: UpstreamLink, sick: boolean): void {
    old.phase = 'draining';
    old.clearTimer('keepalive');
    this.#filter.failOwner(old, new SteadyRpcError('ERR_ABORTED', 'Left for a better node'));
    this.#draining.add(old);
    if (sick) {
      const moved: PendingCall[] = [];
      for (const [id, call] of old.calls) {
        if (call.unsubscribed !== undefined || !this.#isRepeatable(call.method)) continue;
        old.calls.delete(id);
        moved.push(call);
      }
      this.#rehome(moved, old.node);
    }
    if (old.calls.size === 0) this.#retire(old);
    else old.setTimer('drain', this.#settings.drainTimeoutMs, () => this.#retire(old));
  }

  /** Closes a draining socket; calls it still owes are re-sent or failed. */
  #retire(old: UpstreamLink): void {
    if (!this.#draining.delete(old)) return;
    const owed = [...old.calls.values()];
    old.calls.clear();
    old.kill(1000, 'steadyrpc: switched to a better node');
    this.#rehome(owed, old.node);
  }

  #onClose(link: UpstreamLink, info: SocketCloseInfo): void {
    if (!link.alive) return;
    const auth = isAuthOrPolicyClose(info);
    this.emit('upstreamClose', { node: link.node, ...info, auth });
    const error = new SteadyRpcError(auth ? 'ERR_UPSTREAM_AUTH' : 'ERR_TRANSPORT', `Node "${link.node}" closed the socket (${info.code}${info.httpStatus ? `, HTTP ${info.httpStatus}` : ''}${info.reason ? `: ${info.reason}` : ''})`);
    if (auth) this.#pool.quarantine(link.node, this.#settings.authQuarantineMs, error);
    this.#linkFailed(link, auth ? 'auth' : 'closed', error);
  }

  #linkFailed(link: UpstreamLink, cause: string, error: unknown): void {
    if (!link.alive) return;
    const wasActive = link === this.#link;
    const now = this.#clock.now();
    link.kill(1000, `steadyrpc: ${cause}`, cause === 'connect-timeout' || cause === 'keepalive-timeout');
    const failure = error instanceof SteadyRpcError ? error : new SteadyRpcError('ERR_TRANSPORT', describeError(error), { cause: error });
    this.#filter.failOwner(link, failure);
    const owed = [...link.calls.values()];
    link.calls.clear();
    this.#noteNodeFailure(link, now);
    if (cause !== 'closed') this.emit('error', failure);

    if (this.#draining.delete(link)) return this.#rehome(owed, link.node);
    if (link === this.#next) {
      this.#next = undefined;
      if (this.#link) {
        // A switch that did not work out: stay on the current node.
        this.#setState('ready');
        return;
      }
      this.#failedThisRound.add(link.node);
      return this.#reconnect();
    }
    if (!wasActive) return;
    this.#link = undefined;
    this.#registry.detachAll();
    if (link.activatedAt !== undefined && now - link.activatedAt >= this.#settings.stableAfterMs) {
      this.#backoff = this.#backoff.reset();
    }
    this.#failedThisRound.add(link.node);
    this.#setState('reconnecting');
    this.#rehome(owed, link.node);
    if (this.#next) {
      this.#nextReason = 'failover'; // the switch in progress becomes the way out
      return;
    }
    this.#reconnect();
  }

  /** Calls a dead socket owed: re-sent (in their order, ahead of the queue) when safe, else failed. */
  #rehome(owed: PendingCall[], node: string): void {
    const resend: PendingCall[] = [];
    let failed = 0;
    for (const call of owed) {
      if (call.answered) continue;
      if (call.unsubscribed !== undefined) {
        this.#answer(call, { jsonrpc: '2.0', id: call.clientId, result: true });
      } else if (this.#isRepeatable(call.method)) {
        resend.push(call);
      } else {
        failed += 1;
        this.#fail(call, RpcErrorCode.NOT_RESENT, `Node "${node}" went away before answering; ${call.method} is not safe to send twice`);
      }
    }
    this.#stats.resent += resend.length;
    this.#stats.notResent += failed;
    if (resend.length > 0 || failed > 0) this.emit('inflight', { node, resent: resend.length, failed });
    if (resend.length === 0) return;
    if (this.#link && acceptsTraffic(this.#state)) {
      for (const call of resend) this.#sendCall(this.#link, call);
    } else {
      this.#queue.unshift(resend.map((call) => ({ value: call, bytes: call.bytes })));
      this.#emitQueue();
    }
  }

  #noteNodeFailure(link: UpstreamLink, now: number): void {
    const stable = link.activatedAt !== undefined && now - link.activatedAt >= this.#settings.stableAfterMs;
    if (stable) return void this.#nodeFailures.delete(link.node);
    const count = (this.#nodeFailures.get(link.node)?.count ?? 0) + 1;
    this.#nodeFailures.set(link.node, { count, at: now });
  }

  // ---- upstream frames -----------------------------------------------------------------------

  #onMessage(link: UpstreamLink, text: string): void {
    if (!link.alive) return;
    link.lastSeenAt = this.#clock.now();
    if (this.#fastAnswer(link, text) || this.#fastNotification(link, text)) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return this.#garbage(link, 'invalid JSON');
    }
    if (Array.isArray(message)) for (const item of message) this.#onUpstreamItem(link, item);
    else this.#onUpstreamItem(link, message);
  }

  /** An answer to a plain client call, re-addressed without parsing its result. */
  #fastAnswer(link: UpstreamLink, text: string): boolean {
    const head = ANSWER_HEAD.exec(text);
    if (!head || text.charCodeAt(text.length - 1) !== 125 /* } */) return false;
    const id = Number(head[1]);
    const call = link.calls.get(id);
    // Own requests, batches, subscribes and unsubscribes need the parsed answer.
    if (!call || call.slot || call.answered || call.oneWay || call.unsubscribed !== undefined || call.method === 'eth_subscribe' || this.#filter.owns(id)) return false;
    link.calls.delete(id);
    call.answered = true;
    // `{"jsonrpc":"2.0","id":` is 22 characters; the upstream id's digits follow.
    this.#emitText(`{"jsonrpc":"2.0","id":${JSON.stringify(call.clientId)}${text.slice(22 + head[1]!.length)}`);
    if (link.phase === 'draining' && link.calls.size === 0) this.#retire(link);
    return true;
  }

  /** A notification, re-addressed to the client's subscription id without serialising it again. */
  #fastNotification(link: UpstreamLink, text: string): boolean {
    const head = NOTIFICATION_HEAD.exec(text);
    if (!head || !text.endsWith('}}')) return false;
    // Single writer: only the active socket speaks for subscriptions.
    if (link !== this.#link) return true;
    const entry = this.#registry.byUpstreamId(head[1]!);
    if (!entry) {
      this.#stats.droppedNotifications += 1;
      return true;
    }
    // The result's text, between `"result":` and the closing `}}`.
    return this.#continuity.acceptText(entry.clientId, text.slice(head[0].length, -2));
  }

  #onUpstreamItem(link: UpstreamLink, message: unknown): void {
    if (typeof message !== 'object' || message === null) return this.#garbage(link, 'not an object');
    const frame = message as Upstream;
    if (frame.method === 'eth_subscription') return this.#onNotification(link, frame);
    if (!('id' in frame) || !('result' in frame || 'error' in frame)) return this.#garbage(link, 'neither an answer nor a notification');
    const response = frame as unknown as JsonRpcResponse;
    if (typeof response.id !== 'number') return void (this.#stats.unknownAnswers += 1);
    if (this.#filter.settle(response.id, response)) return;
    if (link.abandonedSubscribes.delete(response.id)) {
      const result = (response as { result?: unknown }).result;
      if (typeof result === 'string') this.#unsubscribeOrphan(link, result);
      return;
    }
    const call = link.calls.get(response.id);
    if (!call) return void (this.#stats.unknownAnswers += 1);
    link.calls.delete(response.id);
    this.#complete(link, call, response);
    if (link.phase === 'draining' && link.calls.size === 0) this.#retire(link);
  }

  #onNotification(link: UpstreamLink, frame: Upstream): void {
    // Single writer: only the active socket speaks for subscriptions.
    if (link !== this.#link) return;
    const params = frame.params as { subscription?: unknown; result?: unknown } | undefined;
    const entry = typeof params?.subscription === 'string' ? this.#registry.byUpstreamId(params.subscription) : undefined;
    if (!entry) return void (this.#stats.droppedNotifications += 1);
    this.#continuity.accept(entry.clientId, params!.result);
  }

  /** Emits a notification; `resultText` is the result as the node wrote it, when the session has it. */
  #emitNotification(subscription: string, result: unknown, resultText?: string): void {
    const text =
      resultText === undefined
        ? JSON.stringify({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription, result } })
        : `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":${JSON.stringify(subscription)},"result":${resultText}}}`;
    const held = this.#unannounced.get(subscription);
    if (held) return void held.push(text);
    this.#emitText(text);
  }

  /** A call of the session's own on `link`, as a promise of its result (for backfills). */
  #ownCall(link: UpstreamLink): OwnCall {
    return (method, params) =>
      new Promise((resolve, reject) => {
        if (!link.alive) return reject(new SteadyRpcError('ERR_ABORTED', `Node "${link.node}" was left`));
        this.#sendOwn(link, 'backfill', method, params, this.#settings.replayTimeoutMs,
          (response) => ('error' in response ? reject(new SteadyRpcError('ERR_BAD_RESPONSE', `${method} failed on node "${link.node}": ${response.error.message}`)) : resolve((response as { result?: unknown }).result)),
          reject,
        );
      });
  }

  /** The client has the batch answer that gives it these subscription ids: what was held back follows. */
  #announce(collector: BatchCollector): void {
    const ids = this.#batchSubscriptions.get(collector);
    if (!ids) return;
    this.#batchSubscriptions.delete(collector);
    for (const id of ids) {
      const held = this.#unannounced.get(id) ?? [];
      this.#unannounced.delete(id);
      if (this.#registry.byClientId(id)) for (const text of held) this.#emitText(text);
    }
  }

  #complete(link: UpstreamLink, call: PendingCall, response: JsonRpcResponse): void {
    const result = (response as { result?: unknown }).result;
    if (call.method === 'eth_subscribe' && !('error' in response) && typeof result === 'string') {
      const clientId = this.#freshSubscriptionId(result);
      const onActive = link === this.#link;
      const params = Array.isArray(call.params) ? call.params : [];
      this.#registry.add(clientId, params, onActive ? result : null);
      this.#continuity.track(clientId, params, onActive ? this.#ownCall(link) : undefined);
      if (!onActive) {
        // Answered by a socket being left: the subscription lives on the active one from now on.
        this.#unsubscribeOrphan(link, result);
        if (this.#link) this.#replay(this.#link, clientId);
      }
      if (this.#next?.phase === 'replaying') this.#maybeActivate(this.#next);
      if (call.slot) {
        this.#unannounced.set(clientId, []);
        const ids = this.#batchSubscriptions.get(call.slot.collector) ?? [];
        ids.push(clientId);
        this.#batchSubscriptions.set(call.slot.collector, ids);
      }
      return this.#answer(call, { jsonrpc: '2.0', id: call.clientId, result: clientId });
    }
    this.#answer(call, clientAnswer(call, response));
  }

  /**
   * The upstream's id, unless this session has handed it out before (a new node may reuse an old
   * number): a late or repeated unsubscribe of an old id must never hit a newer subscription.
   */
  #freshSubscriptionId(upstreamId: string): string {
    let id = upstreamId;
    while (this.#issuedSubscriptionIds.has(id) || this.#registry.byUpstreamId(id)) {
      id = `0x${Array.from({ length: 4 }, () => Math.floor(this.#random() * 2 ** 32).toString(16).padStart(8, '0')).join('')}`;
    }
    this.#issuedSubscriptionIds.add(id);
    if (this.#issuedSubscriptionIds.size > ISSUED_IDS_REMEMBERED) {
      this.#issuedSubscriptionIds.delete(this.#issuedSubscriptionIds.values().next().value!);
    }
    return id;
  }

  #garbage(link: UpstreamLink, what: string): void {
    this.#stats.upstreamGarbage += 1;
    this.emit('error', new SteadyRpcError('ERR_BAD_RESPONSE', `Dropped a frame from node "${link.node}": ${what}`));
  }

  // ---- keepalive and failback ---------------------------------------------------------------

  #armKeepalive(link: UpstreamLink): void {
    link.setTimer('keepalive', this.#settings.keepaliveIntervalMs, () => this.#keepalive(link));
  }

  #keepalive(link: UpstreamLink): void {
    if (link !== this.#link) return;
    this.#maybeFailback(link);
    const { keepaliveIntervalMs, keepaliveTimeoutMs, keepaliveMethod } = this.#settings;
    const idle = this.#clock.now() - link.lastSeenAt;
    if (link.keepaliveInFlight || idle < keepaliveIntervalMs) {
      // Wake up when the socket will have been idle for a whole interval, not a tick later: a
      // silent upstream is then noticed within keepaliveIntervalMs + keepaliveTimeoutMs.
      link.setTimer('keepalive', link.keepaliveInFlight ? keepaliveIntervalMs : keepaliveIntervalMs - idle, () => this.#keepalive(link));
      return;
    }
    this.#armKeepalive(link);
    link.keepaliveInFlight = true;
    this.#sendOwn(link, 'keepalive', keepaliveMethod, [], keepaliveTimeoutMs,
      () => (link.keepaliveInFlight = false), // any answer, even an error, is a sign of life
      (error) => {
        link.keepaliveInFlight = false;
        // Only the active socket is kept alive: a socket being left just drains what it owes.
        if (link === this.#link) this.#linkFailed(link, 'keepalive-timeout', new SteadyRpcError('ERR_TIMEOUT', `Node "${link.node}" missed its keepalive deadline`, { cause: error }));
      },
    );
  }

  /** While on a node the pool does not prefer, tries the preferred one again now and then. */
  #maybeFailback(link: UpstreamLink): void {
    if (this.#next || this.#state !== 'ready') return;
    const preferred = this.#pool.preferred();
    if (preferred === undefined || preferred === link.node || this.#pool.node(preferred).ws === undefined) return;
    const failures = this.#nodeFailures.get(preferred);
    const wait = failures ? Math.min(this.#settings.failbackRetryMs * 2 ** (failures.count - 1), 60_000) : 0;
    if (failures && this.#clock.now() - failures.at < wait) return;
    this.#setState('switching');
    void this.#prepare(preferred, 'failback');
  }

  #followPool({ to, reason }: SwitchEvent): void {
    if (this.#state === 'closed' || to === undefined || this.#pool.node(to).ws === undefined) return;
    if (this.#link?.node === to) {
      if (this.#next) this.#abandonNext();
      return;
    }
    if (this.#next?.node === to) return;
    if (!this.#link) {
      // Reconnecting: don't wait for the backoff, the pool says `to` is good now.
      if (this.#next) return;
      if (this.#backoffTimer !== undefined) this.#clock.clearTimeout(this.#backoffTimer);
      this.#backoffTimer = undefined;
      this.#failedThisRound.delete(to);
      void this.#prepare(to, 'failover');
      return;
    }
    if (this.#next) this.#abandonNext();
    this.#setState('switching');
    void this.#prepare(to, reason === 'recovered' ? 'failback' : reason === 'unhealthy' ? 'unhealthy' : 'better-available');
  }

  #abandonNext(): void {
    const next = this.#next!;
    this.#next = undefined;
    this.#filter.failOwner(next, new SteadyRpcError('ERR_ABORTED', 'Switch abandoned'));
    next.kill(1000, 'steadyrpc: switch abandoned');
    if (this.#state === 'switching') this.#setState('ready');
  }

  #setState(to: SessionState): void {
    const from = this.#state;
    if (from === to) return;
    assertTransition(from, to);
    this.#state = to;
    this.emit('state', { from, to });
  }
}
