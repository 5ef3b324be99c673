import { SteadyRpcError } from '../errors.js';
import type { JsonRpcResponse } from '../jsonrpc.js';
import type { BatchCollector } from './BatchCollector.js';
import type { PendingCall } from './PendingCall.js';
import { clientAnswer } from './PendingCall.js';
import type { SessionContext } from './SessionContext.js';
import { IssuedSubscriptionIds } from './IssuedSubscriptionIds.js';
import type { SubscriptionEntry } from './SubscriptionRegistry.js';
import type { UpstreamLink } from './UpstreamLink.js';
import { quantity } from '../consistency/quantity.js';
import { ANSWER_HEAD, ID_AT, NOTIFICATION_RESULT, SUBSCRIPTION_AT, knownSubscription, mayBeNotificationOf, notificationId, type KnownSubscription } from '../frameShapes.js';
import { MAX_UPSTREAM_DEPTH, tooDeepToPassOn } from '../jsonDepth.js';
import { checkFrame, checkPrefixedFrame } from '../jsonScan.js';
import { RpcErrorCode, errorResponse } from '../jsonrpc.js';
import { suggestedBackoffMs, verdictOf } from '../pool/nodeErrors.js';

type Upstream = Record<string, unknown>;

/** An answer's tail when its result is a quantity, up to the digits. */
const RESULT_QUANTITY = ',"result":"0x';

/**
 * Frames from upstream sockets, on their way to the client: answers are re-addressed to the
 * client's id (or swallowed when the session owns them), notifications to the client's
 * subscription id, and nothing from a socket the session has left speaks for subscriptions.
 */
export class UpstreamFrames {
  readonly #ctx: SessionContext;
  /** Subscriptions whose subscribe answer waits in an unfinished client batch, with their notifications held back till then. */
  #unannounced: Map<string, string[]> | undefined;
  /** Made with the first subscribe in a batch (as is the one above): most sessions never need them. */
  #batchSubscriptions: WeakMap<BatchCollector<string>, string[]> | undefined;
  /** Subscription ids given to the client: none is given again. */
  readonly #issuedSubscriptionIds: IssuedSubscriptionIds;
  /** The subscription of the last notification passed on: the next one for it is known by one test. */
  #known: KnownSubscription | undefined;
  /** Each entry's {@link KnownSubscription}, made once (a session may have several streams interleaved). */
  #knownOf: WeakMap<SubscriptionEntry, KnownSubscription> | undefined;
  /**
   * The link whose `lastSeenAt` was set in this turn of the event loop: the clock is read once a
   * turn, not a frame (a socket's frames come dozens to a read; a clock read costs a good part of
   * a notification's trip).
   */
  #stamped: UpstreamLink | undefined;
  /** The link whose frame is being handled, if any (see {@link timeOf}). */
  #handling: UpstreamLink | undefined;
  readonly #unstamp = (): void => {
    this.#stamped = undefined;
  };
  /** The transport hands a read's frames over in a task of their own: their messages are held till it ends. */
  readonly #holds: boolean;

  constructor(ctx: SessionContext) {
    this.#ctx = ctx;
    this.#holds = ctx.transport.readsInTasks === true;
    this.#issuedSubscriptionIds = new IssuedSubscriptionIds(ctx.random);
  }

  /**
   * The clock's time for what arrives on `link` now: while one of its frames is handled, the reading
   * taken for its frames in this turn (see {@link #stamped}); else a new one (a transport handing
   * frames over in microtasks, as for binary frames in a browser, may run other jobs between them).
   */
  timeOf(link: UpstreamLink): number {
    return link === this.#handling && link === this.#stamped ? link.lastSeenAt : this.#ctx.clock.now();
  }

  /** `bytes`: what `text` was decoded from, when the transport has them (see SocketListener). */
  onMessage(link: UpstreamLink, text: string, bytes?: Uint8Array): void {
    if (!link.alive) return;
    if (link !== this.#stamped) {
      link.lastSeenAt = this.#ctx.clock.now();
      if (this.#stamped === undefined) queueMicrotask(this.#unstamp);
      this.#stamped = link;
    }
    this.#handling = link;
    const { held } = this.#ctx;
    const holding = held.holding;
    if (this.#holds) held.holding = true;
    try {
      this.#handle(link, text, bytes);
    } finally {
      this.#handling = undefined;
      held.holding = holding;
    }
  }

  /**
   * An answer to a call of `link`'s that was sent on a socket of its own (Outbox): handled as if it
   * came on `link`, but no sign of life of `link`'s socket (its `lastSeenAt` stays).
   */
  onAnswerApart(link: UpstreamLink, text: string): void {
    if (link.alive) this.#handle(link, text, undefined);
  }

  #handle(link: UpstreamLink, text: string, bytes: Uint8Array | undefined): void {
    if (this.#fastAnswer(link, text, bytes) || this.#fastNotification(link, text, bytes)) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.#garbage(link, 'invalid JSON');
      return this.#failMalformed(link, text);
    }
    if (!Array.isArray(message)) return this.#onUpstreamItem(link, message, text);
    for (const item of message) {
      // A listener of an earlier item's answer may have closed the session (or left this socket).
      if (!link.alive || this.#ctx.closed()) return;
      this.#onUpstreamItem(link, item, text);
    }
  }

  /**
   * Emits a notification: `frameText` when the node's frame reads as the client's would, else built
   * around `resultText` (the result as the node wrote it), else serialised.
   */
  emitNotification(subscription: string, result: unknown, resultText?: string, frameText?: string): void {
    const text =
      frameText ??
      (resultText === undefined
        ? JSON.stringify({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription, result } })
        : `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":${JSON.stringify(subscription)},"result":${resultText}}}`);
    const held = this.#unannounced?.get(subscription);
    if (held) return void held.push(text);
    this.#ctx.emitText(text, subscription);
  }

  /** The client has the batch answer that gives it these subscription ids: what was held back follows. */
  announce(collector: BatchCollector<string>): void {
    const ids = this.#batchSubscriptions?.get(collector);
    if (!ids) return;
    this.#batchSubscriptions!.delete(collector);
    for (const id of ids) {
      const held = this.#unannounced?.get(id) ?? [];
      this.#unannounced?.delete(id);
      if (this.#ctx.registry.byClientId(id)) for (const text of held) this.#ctx.emitText(text, id);
    }
  }

  /** Drops the notifications held back for unfinished batches (the session is closing). */
  clear(): void {
    this.#unannounced?.clear();
  }

  /**
   * A result for a plain client call, re-addressed without parsing it: only when the frame is
   * exactly `{"jsonrpc":"2.0","id":N,"result":R}` with R one JSON value (checked in place), so
   * nothing else a node adds to a frame ever reaches the client. Errors take the general path,
   * which checks their shape.
   */
  #fastAnswer(link: UpstreamLink, text: string, bytes: Uint8Array | undefined): boolean {
    // Notifications, the commonest frames, have `"method"` where answers have `"id"`.
    if (text.charCodeAt(ID_AT - 4) !== 105 /* i */) return false;
    const head = ANSWER_HEAD.exec(text);
    if (!head || text.charCodeAt(text.length - 1) !== 125 /* } */ || text.charCodeAt(head[0].length - 3) !== 116 /* t of "result" */) return false;
    const id = Number(head[1]);
    const call = link.calls.get(id);
    // Own requests, batches, subscribes and unsubscribes need the parsed answer.
    // (The session's own requests are never in `calls`: they live in the ReplayFilter.)
    if (!call || call.slot || call.answered || call.oneWay || call.unsubscribed !== undefined || call.method === 'eth_subscribe') return false;
    if (!this.#ctx.transport.framesChecked && !checkFrame(text, head[0].length, text.length - 1, -1, bytes)) return false;
    // Reads the client's view of the chain cares about are judged, so parsed; but a head read
    // (the commonest call of all) is read in place when it keeps the view.
    if (this.#ctx.gate.reads(call) && !this.#headInView(link, call, text, ID_AT + head[1]!.length)) return false;
    // The pool first, while the call is the socket's (see #onUpstreamItem).
    this.#ctx.pool.answered(link.node, this.#poolSentAt(call));
    if (this.#ctx.closed() || !link.calls.delete(id)) return true;
    call.answered = true;
    this.#ctx.limits.answered(call, false);
    this.#ctx.emitText(`{"jsonrpc":"2.0","id":${call.idText}${text.slice(ID_AT + head[1]!.length)}`);
    this.#ctx.switcher.retireIfDone(link);
    return true;
  }

  /** An `eth_blockNumber` answer at or above the client's view: noted, and then passed on as it is. */
  #headInView(link: UpstreamLink, call: PendingCall, text: string, at: number): boolean {
    if (call.method !== 'eth_blockNumber' || !text.startsWith(RESULT_QUANTITY, at)) return false;
    const end = text.indexOf('"', at + RESULT_QUANTITY.length);
    const head = end < 0 ? undefined : quantity(text.slice(at + RESULT_QUANTITY.length - 2, end));
    const { gate } = this.#ctx;
    if (head === undefined || head < (call.viewAt ?? 0)) return false;
    gate.view.raise(head);
    gate.noteHead(link, head, true);
    return true;
  }

  /**
   * A notification, re-addressed to the client's subscription id without serialising it again:
   * only when the frame is exactly the common shape with its result one JSON value (checked in
   * place, which also notes where a head's fields are for continuity).
   */
  #fastNotification(link: UpstreamLink, text: string, bytes: Uint8Array | undefined): boolean {
    const { framesChecked } = this.#ctx.transport;
    const known = this.#known;
    // A notification of the subscription of the last one (the commonest frame) is told by its
    // opening and checked in one pass: `checked` says how that went (null: not that opening).
    // Only a frame that looks like one by three characters goes there, so that neither a large
    // answer nor another subscription's notification is copied into the check for nothing.
    let checked: boolean | null = null;
    if (known !== undefined && !framesChecked && mayBeNotificationOf(text, known)) checked = checkPrefixedFrame(text, known.prefix, known.head, text.length - 2, bytes);
    const upstreamId = checked === null ? notificationId(text, framesChecked ? known : undefined) : known!.id;
    if (upstreamId === undefined || text.charCodeAt(text.length - 1) !== 125 /* } */ || text.charCodeAt(text.length - 2) !== 125) return false;
    const idEnd = SUBSCRIPTION_AT + upstreamId.length;
    // Single writer: only the active socket speaks for subscriptions.
    if (link !== this.#ctx.link) return true;
    const entry = this.#ctx.registry.byUpstreamId(upstreamId);
    if (!entry) {
      this.#ctx.stats.droppedNotifications += 1;
      return true;
    }
    if (this.#known?.id !== entry.upstreamId) this.#known = this.#knownSubscription(entry);
    // Checked only now when not above, as only what is passed on needs to be: a frame that fails
    // is parsed (and dropped as garbage if it is not JSON).
    const resultAt = idEnd + NOTIFICATION_RESULT.length;
    if (!framesChecked && !(checked ?? checkFrame(text, resultAt, text.length - 2, resultAt, bytes))) return false;
    // The result's text runs from after `"result":` to before the closing `}}`. When the client
    // knows the subscription by the node's own id, the node's frame is already its notification.
    return this.#ctx.continuity.acceptText(entry.clientId, text, resultAt, 2, entry.clientId === upstreamId);
  }

  #knownSubscription(entry: SubscriptionEntry): KnownSubscription {
    // Made with the first notification: an idle session keeps none.
    const knownOf = (this.#knownOf ??= new WeakMap());
    let known = knownOf.get(entry);
    // Made again when a replay gave the entry another upstream id.
    if (known?.id !== entry.upstreamId) knownOf.set(entry, (known = knownSubscription(entry.upstreamId!)));
    return known!;
  }

  /** `text`: the frame `message` was parsed from. */
  #onUpstreamItem(link: UpstreamLink, message: unknown, text: string): void {
    const ctx = this.#ctx;
    if (typeof message !== 'object' || message === null) return this.#garbage(link, 'not an object');
    const frame = message as Upstream;
    // What the session passes on, keeps or retracts it may serialise again: nothing goes further
    // that JSON.stringify cannot take (the stack would overflow).
    if (tooDeepToPassOn(text, frame)) {
      this.#garbage(link, `nested deeper than ${MAX_UPSTREAM_DEPTH} levels`);
      return this.#failCall(link, frame.id, `sent an answer that could not be passed on (nested deeper than ${MAX_UPSTREAM_DEPTH} levels)`);
    }
    if (frame.method === 'eth_subscription') return this.#onNotification(link, frame);
    if (!('id' in frame) || !('result' in frame || 'error' in frame)) return this.#garbage(link, 'neither an answer nor a notification');
    const response = frame as unknown as JsonRpcResponse;
    if (typeof response.id !== 'number') return void (ctx.stats.unknownAnswers += 1);
    if (ctx.filter.settle(response.id, response)) {
      // The session's own calls (keepalives, head reads, backfills) are answers of the node too.
      if (!('error' in response)) ctx.pool.answered(link.node);
      return;
    }
    if (link.abandonedSubscribes?.delete(response.id)) {
      const result = (response as { result?: unknown }).result;
      if (typeof result === 'string') ctx.outbox.unsubscribeOrphan(link, result);
      return;
    }
    const call = link.calls.get(response.id);
    if (!call) return void (ctx.stats.unknownAnswers += 1);
    // The pool hears of the answer first, while the call is still the socket's: a listener of what
    // it emits (a rate limit's cool-down, a switch) may close the session, which answers it then.
    if (!('error' in response) || !this.#failedByNode(link, call, response.error)) ctx.pool.answered(link.node, this.#poolSentAt(call));
    if (ctx.closed() || !link.calls.delete(response.id)) return;
    this.#complete(link, call, response);
    ctx.switcher.retireIfDone(link);
  }

  #onNotification(link: UpstreamLink, frame: Upstream): void {
    // Single writer: only the active socket speaks for subscriptions.
    if (link !== this.#ctx.link) return;
    const params = frame.params as { subscription?: unknown; result?: unknown } | undefined;
    const entry = typeof params?.subscription === 'string' ? this.#ctx.registry.byUpstreamId(params.subscription) : undefined;
    if (!entry) return void (this.#ctx.stats.droppedNotifications += 1);
    this.#ctx.continuity.accept(entry.clientId, params!.result);
  }

  #complete(link: UpstreamLink, call: PendingCall, response: JsonRpcResponse): void {
    const ctx = this.#ctx;
    const result = (response as { result?: unknown }).result;
    if (call.method === 'eth_subscribe' && !('error' in response) && typeof result === 'string') {
      const clientId = this.#issuedSubscriptionIds.fresh(result, (id) => this.#ctx.registry.byUpstreamId(id) !== undefined);
      const onActive = link === ctx.link;
      const params = Array.isArray(call.params) ? call.params : [];
      ctx.registry.add(clientId, params, onActive ? result : null);
      // The head known when the subscribe was sent bounds where it began, whichever socket answered
      // (one being left too: the subscription lives on the next, and what it missed is fetched from there).
      ctx.continuity.track(clientId, params, onActive ? ctx.outbox.ownCall(link) : undefined, call.probedHead);
      if (!onActive) {
        // Answered by a socket being left: the subscription lives on the active one from now on.
        ctx.outbox.unsubscribeOrphan(link, result);
        if (ctx.link) ctx.replayer.replay(ctx.link, clientId);
      }
      if (ctx.next?.phase === 'replaying') ctx.replayer.maybeActivate(ctx.next);
      if (call.slot) {
        (this.#unannounced ??= new Map()).set(clientId, []);
        const batchSubscriptions = (this.#batchSubscriptions ??= new WeakMap());
        const ids = batchSubscriptions.get(call.slot.collector) ?? [];
        ids.push(clientId);
        batchSubscriptions.set(call.slot.collector, ids);
      }
      return ctx.answer(call, { jsonrpc: '2.0', id: call.clientId, result: clientId }, true);
    }
    if (call.unsubscribed !== undefined) return ctx.answer(call, clientAnswer(call, response));
    // "Not this node" for a read: the other nodes are asked.
    if (ctx.elsewhere.take(link, call, response)) return;
    ctx.gate.deliver(link, call, response);
  }

  /**
   * A node that answers a call with a rate limit cools down in the pool (new sessions and
   * `request()` go elsewhere meanwhile); this session stays, the answer reaching the client as sent.
   * Returns whether the error says the node failed the call (a rate limit, or "not this node"): any
   * other answer tells the pool the node answered (its rate-limit backoff then starts over).
   */
  #failedByNode(link: UpstreamLink, call: PendingCall, error: unknown): boolean {
    const { pool } = this.#ctx;
    if (pool.closed || typeof error !== 'object' || error === null) return false;
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (typeof code !== 'number' || typeof message !== 'string') return false;
    const rpcError = error as { code: number; message: string; data?: unknown };
    const verdict = verdictOf(pool.classifyError, rpcError, call.method);
    if (verdict === 'rate-limited') pool.coolDown(link.node, suggestedBackoffMs(rpcError), 'rpc-error', this.#poolSentAt(call));
    return verdict !== 'answer';
  }

  /** When `call` was sent, on the pool's clock (the session's may be another). */
  #poolSentAt(call: PendingCall): number {
    return this.#ctx.pool.clock.now() - (this.#ctx.clock.now() - call.sentAt);
  }

  /**
   * A frame that is not JSON but starts as an answer to a call the session is waiting for (say, an
   * answer with something stuck after it): the call is failed now rather than left to time out.
   */
  #failMalformed(link: UpstreamLink, text: string): void {
    const head = ANSWER_HEAD.exec(text);
    if (head) this.#failCall(link, Number(head[1]), 'sent a malformed answer');
  }

  /** The client call an answer with `id` is for on `link`, if any, failed: the node `what`. */
  #failCall(link: UpstreamLink, id: unknown, what: string): void {
    const call = typeof id === 'number' ? link.calls.get(id) : undefined;
    // A subscribe is left to its deadline, which unsubscribes what the node may have set up.
    if (!call || call.method === 'eth_subscribe') return;
    link.calls.delete(id as number);
    this.#ctx.answer(call, errorResponse(call.clientId, RpcErrorCode.INTERNAL_ERROR, `Internal error: node "${link.node}" ${what}`));
    this.#ctx.switcher.retireIfDone(link);
  }

  #garbage(link: UpstreamLink, what: string): void {
    this.#ctx.stats.upstreamGarbage += 1;
    this.#ctx.events.emit('error', new SteadyRpcError('ERR_BAD_RESPONSE', `Dropped a frame from node "${link.node}": ${what}`));
  }
}
