import { SteadyRpcError } from '../errors.js';
import { quantity } from '../consistency/quantity.js';
import type { JsonRpcResponse } from '../jsonrpc.js';
import { RpcErrorCode } from '../jsonrpc.js';
import type { OwnCall } from './ContinuityKeeper.js';
import type { PendingCall } from './PendingCall.js';
import type { OwnPurpose } from './ReplayFilter.js';
import type { SessionContext } from './SessionContext.js';
import { acceptsTraffic } from './SessionState.js';
import type { UpstreamLink } from './UpstreamLink.js';
import { redactNodeText } from '../pool/NodeConfig.js';
import { IsolationLane, type LaneUser } from '../transport/IsolationLane.js';
import type { SendOptions, SocketCloseInfo } from '../transport/SocketTransport.js';


/**
 * What a session writes upstream: client calls under ids it owns (with their deadlines), requests
 * of its own whose answers the {@link ReplayFilter} swallows, and the re-homing of calls a socket
 * owed when it went away.
 */
export class Outbox {
  readonly #ctx: SessionContext;
  /**
   * By node, for a transport that does not isolate calls itself: the calls sent on a socket of
   * their own (see {@link #sendApart}). Made with the first: most sessions never need one.
   */
  #lanes: Map<string, IsolationLane> | undefined;
  /** How a call is sent apart to a transport that isolates calls itself (made once). */
  readonly #isolate: SendOptions;

  constructor(ctx: SessionContext) {
    this.#ctx = ctx;
    this.#isolate = Object.freeze({ isolate: true, timeoutMs: ctx.settings.requestTimeoutMs });
  }

  sendCall(link: UpstreamLink, call: PendingCall): void {
    if (call.oneWay) return this.#write(link, undefined, call.method, call.params);
    const id = this.#ctx.nextId++;
    call.sentAt = this.#ctx.clock.now();
    call.probedHead = this.#ctx.pool.headOf(link.node);
    call.probedAt = this.#ctx.pool.headAtOf(link.node);
    call.linkHead = link.head;
    call.linkHeadAt = link.headAt;
    link.calls.set(id, call);
    if (!link.hasTimer('calls')) link.setTimer('calls', this.#ctx.settings.requestTimeoutMs, () => this.#expireCalls(link));
    if (call.tooBig === undefined) return this.#write(link, id, call.method, call.params);
    // In flight on a socket an answer too large failed: on a socket of its own, which the session
    // opens itself unless its transport isolates calls or shares connections (a socket of the
    // session's own would not be one then: the transport is told with `isolate`).
    const { transport } = this.#ctx;
    if (transport.isolates || transport.multiplexed) this.#write(link, id, call.method, call.params, true);
    else this.#sendApart(link, id, call);
  }

  /** Sends a request of the session's own; its answer goes to `onAnswer`, never to the client. */
  sendOwn(link: UpstreamLink, purpose: OwnPurpose, method: string, params: unknown[], timeoutMs: number, onAnswer: (response: JsonRpcResponse) => void, onFail: (error: SteadyRpcError) => void): number {
    const id = this.#ctx.nextId++;
    this.#ctx.filter.own(id, purpose, link, timeoutMs, { onAnswer, onFail });
    this.#write(link, id, method, params);
    return id;
  }

  /** A call of the session's own on `link`, as a promise of its result (for backfills). */
  ownCall(link: UpstreamLink): OwnCall {
    return (method, params, answered) =>
      new Promise((resolve, reject) => {
        if (!link.alive) return reject(new SteadyRpcError('ERR_ABORTED', `Node "${link.node}" was left`));
        this.sendOwn(link, 'backfill', method, params, this.#ctx.settings.replayTimeoutMs,
          (response) => {
            if ('error' in response) return reject(new SteadyRpcError('ERR_BAD_RESPONSE', `${method} failed on node "${link.node}": ${response.error.message}`));
            const { result } = response as { result?: unknown };
            // The node's head when asked, for whatever purpose, is its latest word (ViewGate.noteHead).
            const head = method === 'eth_blockNumber' ? quantity(result) : undefined;
            if (head !== undefined) this.#ctx.gate.noteHead(link, head, true);
            answered?.();
            resolve(result);
          },
          reject,
        );
      });
  }

  /** Closes an upstream subscription nobody holds any more; its answer does not matter. */
  unsubscribeOrphan(link: UpstreamLink, upstreamId: string): void {
    this.sendOwn(link, 'unsubscribe', 'eth_unsubscribe', [upstreamId], this.#ctx.settings.replayTimeoutMs, () => {}, () => {});
  }

  /** A subscribe given up on (timed out): if the node sets it up after all, it is undone there. */
  undoLateSubscribe(link: UpstreamLink, id: number): void {
    (link.abandonedSubscribes ??= new Set()).add(id);
  }

  /**
   * Takes `owed` in charge until {@link rehome} gives each its place: the session answers them if
   * it is closed before (a listener of an event on the way may close it). `sentTo`: the node whose
   * socket they were sent on (none: they never left, as calls the queue gave up on).
   */
  carry(owed: Iterable<PendingCall>, sentTo?: string): void {
    const moving = (this.#ctx.moving ??= new Map());
    for (const call of owed) moving.set(call, sentTo);
  }

  /** `call` has its place or its answer now: {@link carry} lets go of it (and of the set, once empty). */
  landed(call: PendingCall): void {
    const moving = this.#ctx.moving;
    if (moving?.delete(call) && moving.size === 0) this.#ctx.moving = undefined;
  }

  /** Calls a dead socket owed: re-sent (in their order, ahead of the queue) when safe, else failed. */
  rehome(owed: PendingCall[], node: string): void {
    const ctx = this.#ctx;
    this.carry(owed, node);
    const resend: PendingCall[] = [];
    const answers: Array<[PendingCall, boolean]> = [];
    const tooBig: PendingCall[] = [];
    for (const call of owed) {
      if (call.answered) {
        this.landed(call);
        continue;
      }
      if (call.unsubscribed !== undefined) answers.push([call, true]);
      // Beside others on two sockets that a message too big failed: its transport did not send it
      // apart as it said it would, and it would fail a third.
      else if ((call.tooBig ?? 0) >= 2) tooBig.push(call);
      else if (ctx.isRepeatable(call.method)) resend.push(call);
      else answers.push([call, false]);
    }
    // The calls re-sent find their place first (a socket, or the queue: the session knows them
    // there), then the others are answered: a listener may close the session from any answer.
    for (const call of resend) this.landed(call);
    const queued = resend.length > 0 && !(ctx.link && acceptsTraffic(ctx.state));
    if (queued) ctx.queue.unshift(resend.map((call) => ({ value: call, bytes: call.bytes })));
    else for (const call of resend) this.sendCall(ctx.link!, call);
    const notResent = answers.filter(([, unsubscribed]) => !unsubscribed).length;
    ctx.stats.resent += resend.length;
    ctx.stats.notResent += notResent;
    for (const call of tooBig) {
      this.landed(call);
      ctx.fail(call, RpcErrorCode.FRAME_TOO_LARGE, `The answer to ${call.method} from node "${node}" was larger than the socket takes, on two sockets it was in flight on beside other calls (its transport did not send it apart): not sent again`);
    }
    for (const [call, unsubscribed] of answers) {
      this.landed(call);
      if (unsubscribed) ctx.answer(call, { jsonrpc: '2.0', id: call.clientId, result: true });
      else ctx.fail(call, RpcErrorCode.NOT_RESENT, `Node "${node}" went away before answering; ${call.method} is not safe to send twice`);
    }
    if (ctx.closed()) return;
    if (resend.length > 0 || notResent + tooBig.length > 0) ctx.events.emit('inflight', { node, resent: resend.length, failed: notResent + tooBig.length });
    if (queued && !ctx.closed()) ctx.emitQueue();
  }

  /**
   * The session is closing: every call it owes is answered and every socket killed. A call never
   * sent (queued), or safe to repeat, gets UPSTREAM_UNAVAILABLE; one not safe to repeat that a node
   * was sent (on a socket now, or moving off a dead one) says it may have been carried out
   * (NOT_RESENT), as when its socket dies: never "unavailable", which would invite the client to
   * send it again.
   */
  closeAll(): void {
    const ctx = this.#ctx;
    const owed = ctx.queue.clear();
    const sent: Array<[PendingCall, string]> = [];
    // Calls on their way from a dead socket to their place were sent on it (a listener of an
    // answer rehome() gave closed the session): a write among them may have been carried out.
    for (const [call, node] of ctx.moving ?? []) {
      if (node === undefined) owed.push(call);
      else sent.push([call, node]);
    }
    ctx.moving = undefined;
    for (const link of [ctx.link, ctx.next, ...ctx.draining]) {
      if (!link) continue;
      for (const call of link.calls.values()) sent.push([call, link.node]);
      link.calls.clear();
      link.kill(1000, 'steadyrpc: session closed');
    }
    for (const lane of this.#lanes?.values() ?? []) lane.close();
    this.#lanes = undefined;
    for (const call of owed) ctx.fail(call, RpcErrorCode.UPSTREAM_UNAVAILABLE, 'Session closed');
    for (const [call, node] of sent) {
      if (call.unsubscribed !== undefined || ctx.isRepeatable(call.method)) ctx.fail(call, RpcErrorCode.UPSTREAM_UNAVAILABLE, 'Session closed');
      else ctx.fail(call, RpcErrorCode.NOT_RESENT, `Session closed before node "${node}" answered; ${call.method} may have been carried out`);
    }
  }

  /**
   * Writes one request (a notification when `id` is undefined), without keys that are absent.
   * `isolate`: for the transport to send where no other call is in flight (see PendingCall.tooBig).
   */
  #write(link: UpstreamLink, id: number | undefined, method: string, params: unknown, isolate = false): void {
    const text = requestText(id, method, params);
    try {
      if (isolate) link.socket!.send(text, this.#isolate);
      else link.socket!.send(text);
    } catch (error) {
      // The socket is going away: this re-homes what it owes, in order, and its close says why.
      queueMicrotask(() => this.#ctx.switcher.sendFailed(link, error));
    }
  }

  /**
   * Sends `call` (id `id` on `link`) on a socket to the node with nothing else in flight (see
   * IsolationLane): its answer comes as if on `link`; when that socket too fails on a message too
   * big, the call is answered FRAME_TOO_LARGE, as nothing else was in flight on it; when it is
   * lost otherwise while the call is still owed there, so is `link` (the calls are sent again, as
   * for any socket lost). Once the call is not owed on `link` any more (answered, timed out, moved
   * with the others of a socket that went away), the lane neither sends it nor waits for it.
   */
  #sendApart(link: UpstreamLink, id: number, call: PendingCall): void {
    const ctx = this.#ctx;
    const { method } = call;
    call.sentApart = true;
    const lanes = (this.#lanes ??= new Map());
    let lane = lanes.get(link.node);
    if (lane === undefined) {
      const node = link.node;
      const created = (lane = new IsolationLane(ctx.transport, ctx.clock, {
        connectMs: ctx.settings.connectTimeoutMs,
        tooLarge: (of) => {
          this.#tellApart(node, of, 'too-large');
          return `The answer to ${of} from node "${node}" was larger than the socket takes (WsSocketTransport's maxPayload), on a socket it was alone in flight on: not sent again`;
        },
        idle: () => {
          if (this.#lanes?.get(node) === created) this.#lanes.delete(node);
        },
      }));
      lanes.set(node, lane);
    }
    const owed = () => link.alive && link.calls.get(id) === call;
    const user: LaneUser = {
      endpoint: link.endpoint!,
      get isOpen() {
        return owed();
      },
      // Not a sign of life of `link`'s socket: the frame did not come on it.
      deliver: (text) => ctx.frames.onAnswerApart(link, text),
      // As a socket's close is, told after the call.
      drop: (info: SocketCloseInfo) =>
        queueMicrotask(() => {
          if (owed()) this.#laneLost(link, info);
        }),
    };
    const rest = requestText(id, method, call.params).slice(`{"jsonrpc":"2.0","id":${id}`.length);
    // A second past the session's own deadline for the call (which answers the client): the lane
    // only lets the socket go then.
    lane.add(user, String(id), method, rest, ctx.settings.requestTimeoutMs + 1_000);
    this.#tellApart(link.node, method, 'sent');
  }

  /** Emits `apart` after the call: a listener may close the session, and the caller goes on first. */
  #tellApart(node: string, method: string, outcome: 'sent' | 'too-large'): void {
    queueMicrotask(() => {
      if (!this.#ctx.closed()) this.#ctx.events.emit('apart', { node, method, outcome });
    });
  }

  /** The socket a call of `link`'s was sent on apart was lost: `link` is given up with it. */
  #laneLost(link: UpstreamLink, info: SocketCloseInfo): void {
    if (this.#ctx.closed()) return;
    const reason = info.reason ? `: ${redactNodeText(this.#ctx.pool.node(link.node), info.reason)}` : '';
    this.#ctx.switcher.linkFailed(link, 'closed', new SteadyRpcError('ERR_TRANSPORT', `Node "${link.node}" closed the socket a call was sent on apart (${info.code}${reason})`));
  }

  #expireCalls(link: UpstreamLink): void {
    const deadline = this.#ctx.clock.now() - this.#ctx.settings.requestTimeoutMs;
    for (const [id, call] of link.calls) {
      if (call.sentAt > deadline) {
        link.setTimer('calls', call.sentAt - deadline, () => this.#expireCalls(link));
        return;
      }
      link.calls.delete(id);
      if (call.method === 'eth_subscribe') this.undoLateSubscribe(link, id);
      this.#ctx.fail(call, RpcErrorCode.REQUEST_TIMEOUT, `No answer from node "${link.node}" within ${this.#ctx.settings.requestTimeoutMs} ms`);
    }
    this.#ctx.switcher.retireIfDone(link);
  }
}

/** A request as the session writes it (a notification when `id` is undefined), without keys that are absent. */
function requestText(id: number | undefined, method: string, params: unknown): string {
  const payload =
    id === undefined
      ? params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params }
      : params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
  return JSON.stringify(payload);
}
