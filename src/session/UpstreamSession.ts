import { EventEmitter } from 'eventemitter3';
import { systemClock } from '../Clock.js';
import { SteadyRpcError } from '../errors.js';
import { RpcErrorCode, errorResponse } from '../jsonrpc.js';
import type { NodePool, SwitchEvent } from '../pool/NodePool.js';
import { defaultRandom } from '../random.js';
import { defaultSocketTransport } from '../transport/defaultSocketTransport.js';
import type { Unsubscribe } from '../environment/Environment.js';
import { browserEnvironment } from '../environment/browserEnvironment.js';
import { BatchCollector } from './BatchCollector.js';
import type { LimitName } from './CallLimits.js';
import { CallLimits } from './CallLimits.js';
import { ContinuityKeeper } from './ContinuityKeeper.js';
import type { ParsedItem } from './ClientFrame.js';
import { parseClientFrame } from './ClientFrame.js';
import { HeldMessages } from './HeldMessages.js';
import { Keepalive } from './Keepalive.js';
import { LinkSwitcher } from './LinkSwitcher.js';
import { Outbox } from './Outbox.js';
import type { BatchSlot, PendingCall } from './PendingCall.js';
import { ReplayFilter } from './ReplayFilter.js';
import { Replayer } from './Replayer.js';
import { isRepeatable } from './repeatable.js';
import { SessionContext } from './SessionContext.js';
import type { UpstreamSessionOptions } from './SessionOptions.js';
import { checkEnvironment, configured } from './SessionOptions.js';
import type { SessionState } from './SessionState.js';
import { acceptsTraffic } from './SessionState.js';
import type { SessionEvents, SessionStats } from './SessionEvents.js';
import { SubscriptionRegistry } from './SubscriptionRegistry.js';
import { UpstreamFrames } from './UpstreamFrames.js';
import { unsubscribe, unsubscribeOneWay } from './unsubscribe.js';
import { ViewGate } from './ViewGate.js';
import { AskElsewhere } from './AskElsewhere.js';

/**
 * One client's logical JSON-RPC WebSocket connection to "the best node". It stays valid while the
 * upstream under it dies, stalls, is replaced or is left for a better one: the host feeds it client
 * frames with {@link send} and forwards what it emits as `message`.
 *
 * Every id sent upstream is the session's own; client ids are restored on the way down.
 * Subscriptions keep their client-facing id across any number of upstreams; replays, keepalives and
 * other calls the session makes for itself never reach the client.
 *
 * This class is the client side (frame intake, batches, unsubscribe translation, answers) and the
 * lifecycle; the upstream side is split into units sharing one {@link SessionContext}:
 * {@link Outbox} (what is written upstream), {@link LinkSwitcher} (which socket, and moving
 * between them), {@link Replayer} (subscriptions on a new socket), {@link UpstreamFrames} (what
 * comes back) and {@link Keepalive}.
 */
export class UpstreamSession extends EventEmitter<SessionEvents> {
  readonly #ctx: SessionContext;
  readonly #onPoolSwitch = (event: SwitchEvent) => this.#ctx.switcher.followPool(event);
  /** Lets go of the environment's events. */
  readonly #unlisten: Unsubscribe[];
  #reorgs = 0;
  #deepReorgs = 0;
  /** send() calls running (a listener may send): one that closes the session meanwhile has the rest answered first (see close()). */
  #sending = 0;
  #closing = false;

  /**
   * Throws the `ERR_CONFIG` error `new UpstreamSession()` would throw for these options (all but
   * `pool`), without a pool and without connecting. For a host that makes sessions later, one per
   * client say: bad settings are refused when it starts, not thrown at its first client.
   */
  static checkOptions(options: Omit<UpstreamSessionOptions, 'pool'>): void {
    if (typeof options !== 'object' || options === null) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected UpstreamSession options to be an object, got ${String(options)}`);
    }
    if (options.environment !== undefined) checkEnvironment(options.environment);
    configured(options, options.clock ?? systemClock, () => undefined).queue.close();
  }

  constructor(options: UpstreamSessionOptions) {
    super();
    if (typeof options !== 'object' || options === null || typeof options.pool !== 'object') {
      throw new SteadyRpcError('ERR_CONFIG', 'Expected UpstreamSession options with a `pool`');
    }
    const { pool, transport = defaultSocketTransport(), clock = pool.clock, random = defaultRandom, environment = browserEnvironment() } = options;
    checkEnvironment(environment);
    if (!pool.nodes.some((node) => node.ws !== undefined)) {
      throw new SteadyRpcError('ERR_CONFIG', 'UpstreamSession needs at least one node with a `ws` endpoint');
    }
    const { settings, backoff, queue, consistency, continuity: continuityOptions } = configured(options, clock, (expired) => {
      // Known to close() until answered: a listener of the first answer may close the session.
      const ctx = this.#ctx;
      ctx.outbox.carry(expired);
      for (const call of expired) {
        ctx.outbox.landed(call);
        ctx.fail(call, RpcErrorCode.REQUEST_TIMEOUT, 'Request timed out waiting for an upstream node');
      }
      if (!ctx.closed()) ctx.emitQueue();
    });
    const filter = new ReplayFilter({ clock });
    const continuity = new ContinuityKeeper(
      continuityOptions,
      (subscription, result, resultText, frameText) => this.#ctx.frames.emitNotification(subscription, result, resultText, frameText),
      (event) => this.emit('backfill', { ...event, node: this.#ctx.link?.node ?? '' }),
      (event, afterSwitch) => {
        this.#reorgs += 1;
        if (event.deep) this.#deepReorgs += 1;
        const to = this.#ctx.link?.node ?? '';
        // A node that reorged under the session is both ends of its reorg.
        this.emit('reorg', { ...event, from: afterSwitch ? this.#ctx.previousNode : to, to });
      },
      (block, live) => {
        const { gate, link, clock } = this.#ctx;
        const highest = gate.view.highest;
        const rises = highest === undefined || block > highest;
        const newer = link !== undefined && (link.head === undefined || block > link.head);
        if (!rises && !newer) {
          // A live head below the node's last word: it went back (a reorg onto a shorter branch).
          // Its latest word, as an eth_blockNumber answer would be: reads are judged by it now.
          if (live && link !== undefined && block < link.head!) gate.noteHead(link, block, true);
          return;
        }
        // One clock read for both, the one taken for the frame it came in when there is one (a
        // clock read costs a good part of a notification's trip).
        const now = link === undefined ? clock.now() : this.#ctx.frames.timeOf(link);
        if (rises) gate.view.raise(block, now);
        if (newer) gate.noteHead(link, block, false, now);
      },
      // A node that does not serve a block below its head yet is waited for as a read is.
      { clock, pollMs: consistency.pollMs, waitMs: consistency.waitMs },
    );
    const ctx = new SessionContext({
      events: this,
      pool,
      transport,
      clock,
      random,
      environment,
      settings,
      isRepeatable: options.isRepeatable ?? isRepeatable,
      registry: new SubscriptionRegistry(),
      filter,
      queue,
      continuity,
    });
    ctx.outbox = new Outbox(ctx);
    ctx.switcher = new LinkSwitcher(ctx, backoff);
    ctx.replayer = new Replayer(ctx);
    ctx.frames = new UpstreamFrames(ctx);
    ctx.keepalive = new Keepalive(ctx);
    ctx.gate = new ViewGate(ctx, consistency);
    ctx.elsewhere = new AskElsewhere(ctx);
    ctx.limits = new CallLimits(settings, () => ctx.registry.size);
    ctx.held = new HeldMessages((text) => super.emit('message', text), throwLater);
    this.#ctx = ctx;
    pool.on('switch', this.#onPoolSwitch);
    this.#unlisten = [
      environment.onOffline(() => {
        if (ctx.state === 'closed') return;
        ctx.switcher.offline();
        this.emit('network', { online: false });
      }),
      environment.onOnline(() => {
        if (ctx.state === 'closed') return;
        ctx.switcher.restart('online');
        this.emit('network', { online: true });
      }),
      environment.onVisible(() => {
        if (ctx.state !== 'closed') ctx.keepalive.checkNow();
      }),
    ];
    ctx.switcher.reconnect();
  }

  get state(): SessionState {
    return this.#ctx.state;
  }

  /** The node client traffic goes to now, if any. */
  get node(): string | undefined {
    return this.#ctx.link?.node;
  }

  /** A read-only snapshot of counters and sizes, for status pages and metrics. */
  stats(): SessionStats {
    const ctx = this.#ctx;
    let inFlight = ctx.elsewhere.size;
    for (const link of [ctx.link, ...ctx.draining]) inFlight += link?.calls.size ?? 0;
    return Object.freeze({
      ...ctx.stats,
      state: ctx.state,
      node: ctx.link?.node,
      subscriptions: ctx.registry.size,
      queued: ctx.queue.length,
      queuedBytes: ctx.queue.bytes,
      inFlight,
      owed: ctx.limits.inFlight,
      swallowed: ctx.filter.swallowed,
      duplicatesSuppressed: ctx.continuity.duplicates,
      backfilled: ctx.continuity.backfilled,
      reorgs: this.#reorgs,
      deepReorgs: this.#deepReorgs,
      retracted: ctx.continuity.retracted,
      retainedBytes: ctx.continuity.retainedBytes,
      highestBlock: ctx.gate.view.highest,
      heldBehind: ctx.gate.stats.held,
      failedBehind: ctx.gate.stats.behind,
      answeredElsewhere: ctx.elsewhere.answered,
    });
  }

  /** Takes one client frame (a request, a notification or a batch). Every request gets one answer. */
  send(text: string): void {
    if (this.#ctx.state === 'closed') throw new SteadyRpcError('ERR_CLOSED', 'UpstreamSession is closed');
    // Called from outside the session while it handles a frame (a pool listener, say): what this
    // causes goes out at once, as from anywhere else.
    if (this.#ctx.held.holding) return this.#ctx.held.outside(() => this.send(text));
    const parsed = parseClientFrame(text, this.#ctx.settings);
    if (parsed.kind === 'error') return this.#ctx.emitText(JSON.stringify(parsed.response));
    // From a listener of an answer close() gives: answered as a closed session answers.
    if (parsed.kind === 'single') return this.#ctx.closed() ? this.#refuseClosed(parsed.item, undefined) : this.#take(parsed.item, undefined, text.length);
    const collector: BatchCollector<string> = new BatchCollector<string>(parsed.items.length, (answers) => {
      this.#ctx.limits.batchSent(collector);
      if (answers.length > 0) this.#ctx.emitText(`[${answers.join(',')}]`);
      this.#ctx.frames.announce(collector);
    });
    const share = Math.ceil(text.length / parsed.items.length);
    // A listener of what an item caused ('error', 'limit') may close the session: the rest of the
    // batch is answered as a closed session answers, so the client still gets the whole batch.
    this.#sending += 1;
    try {
      parsed.items.forEach((item, index) => (this.#ctx.closed() ? this.#refuseClosed(item, { collector, index }) : this.#take(item, { collector, index }, share)));
    } finally {
      this.#sending -= 1;
      // Not while close() is still answering (a listener of one of its answers sent this).
      if (this.#sending === 0 && this.#closedFully()) this.removeAllListeners();
    }
  }

  /**
   * An item taken after a listener closed the session (a batch's rest), or while close() answers
   * what it owes (a frame a listener of one of those answers sent): answered as close() answers.
   */
  #refuseClosed(item: ParsedItem, slot: BatchSlot | undefined): void {
    if (item.kind === 'invalid') return this.#ctx.deliver(slot, item.response, item.idText);
    if (!item.hasId) return slot?.collector.skip(slot.index);
    this.#ctx.deliver(slot, errorResponse(item.request.id ?? null, RpcErrorCode.UPSTREAM_UNAVAILABLE, 'Session closed'), item.idText);
  }

  /**
   * Reconnects now with a fresh backoff (for when the host learns the network is back; a session
   * does it by itself on its environment's `online`). With an upstream in use, moves to the best
   * node make-before-break.
   */
  reconnect(): void {
    if (this.#ctx.state === 'closed') throw new SteadyRpcError('ERR_CLOSED', 'UpstreamSession is closed');
    // From a listener of an answer close() gives: the session is going away.
    if (this.#ctx.closing) return;
    this.#ctx.held.outside(() => this.#ctx.switcher.restart());
  }

  /**
   * Ends the session: every call still owed is answered (see `Outbox.closeAll`), then every socket,
   * timer and listener is released. Idempotent.
   */
  close(): void {
    const ctx = this.#ctx;
    // Also while closing: a listener of an answer close() gives may call it again.
    if (ctx.state === 'closed' || this.#closing) return;
    // What the frames handled before it caused goes out first, as it would have without
    // HeldMessages; a listener of it may close the session itself.
    ctx.held.release();
    if (this.#closedFully() || this.#closing) return;
    ctx.held.outside(() => this.#closeNow());
  }

  #closeNow(): void {
    const ctx = this.#ctx;
    this.#closing = true;
    // Closed from here on for the session's own parts (and for a listener of what it answers).
    ctx.closing = true;
    ctx.pool.off('switch', this.#onPoolSwitch);
    for (const unlisten of this.#unlisten) unlisten();
    ctx.outbox.closeAll();
    ctx.elsewhere.clear();
    ctx.frames.clear();
    ctx.link = ctx.next = undefined;
    ctx.draining.clear();
    ctx.filter.clear();
    ctx.gate.clear();
    ctx.continuity.clear();
    ctx.queue.close();
    ctx.switcher.stopBackoff();
    ctx.setState('closed');
    this.emit('closed');
    // Closed by a listener in the middle of a batch: send() answers the rest, then lets go of them.
    if (this.#sending === 0) this.removeAllListeners();
  }

  /**
   * Emits `event` after the messages held for the read being handled (HeldMessages): whatever the
   * session emits comes in the order it was caused.
   */
  override emit<T extends EventEmitter.EventNames<SessionEvents>>(event: T, ...args: EventEmitter.EventArgs<SessionEvents, T>): boolean {
    // Undefined only while the constructor runs, before anything is held.
    const held = this.#ctx?.held;
    if (held === undefined) return super.emit(event, ...args);
    return held.tell(
      () => super.emit(event, ...args),
      () => this.#closedFully(),
    );
  }

  /** Closed, and close() done (a method: a check made before does not narrow it). */
  #closedFully(): boolean {
    return this.#ctx.state === 'closed';
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  #take(item: ParsedItem, slot: BatchSlot | undefined, bytes: number): void {
    if (item.kind === 'invalid') return this.#ctx.deliver(slot, item.response, item.idText);
    const { request, hasId, idText } = item;
    const call: PendingCall = {
      clientId: request.id ?? null,
      idText,
      method: request.method,
      params: request.params,
      slot,
      bytes,
      sentAt: 0,
      probedHead: undefined,
      probedAt: undefined,
      linkHead: undefined,
      linkHeadAt: undefined,
      answered: false,
      oneWay: !hasId,
      viewAt: this.#ctx.gate.view.highest,
      given: this.#ctx.gate.given(request.method, request.params),
    };
    if (!hasId) {
      slot?.collector.skip(slot.index);
      // That may have completed its batch's answer, and a listener of it closed the session.
      if (this.#ctx.closed()) return;
    }
    if (!hasId && request.method === 'eth_subscribe') {
      // The client could never learn its id, so never end it: a node would hold it for good.
      this.emit('error', new SteadyRpcError('ERR_ABORTED', 'Dropped a client eth_subscribe without an id: its subscription could never be ended'));
      return;
    }
    if (!hasId && request.method === 'eth_unsubscribe') return unsubscribeOneWay(this.#ctx, call);
    const over = this.#ctx.limits.admit(call);
    if (over !== undefined) return this.#refuse(call, over);
    if (request.method === 'eth_unsubscribe') return unsubscribe(this.#ctx, call);
    this.#dispatch(call);
  }

  /** Answers a call past a cap with LIMIT_EXCEEDED; it was never counted, so it is not uncounted. */
  #refuse(call: PendingCall, limit: LimitName): void {
    const ctx = this.#ctx;
    const max = ctx.settings[limit];
    call.answered = true;
    ctx.stats.limitRejections += 1;
    const what = limit === 'maxInFlight' ? `${max} calls awaiting an answer` : `${max} subscriptions`;
    ctx.deliver(call.slot, errorResponse(call.clientId, RpcErrorCode.LIMIT_EXCEEDED, `Limit exceeded: this connection already has ${what}`, { limit, max }), call.idText);
    this.emit('limit', { limit, max, method: call.method });
  }

  #dispatch(call: PendingCall): void {
    const ctx = this.#ctx;
    if (ctx.link && acceptsTraffic(ctx.state)) return ctx.outbox.sendCall(ctx.link, call);
    if (ctx.queue.push(call, call.bytes)) return ctx.emitQueue();
    ctx.stats.queueOverflows += 1;
    // Answered before the host hears of the overflow: a `queue` listener may close the session,
    // and closing answers only what is queued.
    if (!call.oneWay) ctx.fail(call, RpcErrorCode.QUEUE_FULL, 'Too many requests queued while reconnecting');
    ctx.emitQueue();
    if (call.oneWay) this.emit('error', new SteadyRpcError('ERR_UPSTREAM_UNAVAILABLE', `Queue full: dropped client notification ${call.method}`));
  }
}

/** What a `message` listener threw while held messages were released: thrown in a task of its own, as from a socket's callback. */
function throwLater(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}
