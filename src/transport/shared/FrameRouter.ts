import { SteadyRpcError } from '../../errors.js';
import { ID_AT } from '../../frameShapes.js';
import { MAX_UPSTREAM_DEPTH, nestsDeeperThan, tooDeepToPassOn } from '../../jsonDepth.js';
import { RpcErrorCode, errorResponse } from '../../jsonrpc.js';
import { idTextOf, rawBatchIdTexts, rawIdText } from '../../session/idText.js';
import { REQUEST_HEAD, answerFrame, type IdAddressing } from './IdAddressing.js';
import type { SharedSubscriptions } from './SharedSubscriptions.js';
import type { VirtualSocket } from './VirtualSocket.js';
import type { SendOptions } from '../SocketTransport.js';

/** The answer to a batch item that is an array (what a node, or a session, answers it). */
const NOT_A_REQUEST = JSON.stringify(errorResponse(null, RpcErrorCode.INVALID_REQUEST, 'Invalid request: expected an object'));

/** The connection, as its frame routing sees it. */
export interface RoutedSocket {
  /** Writes a frame on the real socket as it is; throws, as the socket does, when it cannot take it. */
  write(text: string): void;
  /**
   * Whether the node was heard within the transport's `livenessWindowMs`: `eth_chainId` is then
   * answered from the node's last answer.
   */
  heardRecently(): boolean;
  /** A frame from upstream could be given to no user. */
  unroutable(): void;
  /** A user's call (`rest`: its request after the id) goes on a socket of its own instead (see `IsolationLane`). */
  isolate(user: VirtualSocket, idText: string, method: string, rest: string, timeoutMs: number | undefined): void;
}

/**
 * The frames of one real socket, each way: a user's requests re-addressed (subscriptions served by
 * the {@link SharedSubscriptions}), the node's frames given to the users they are for, and the
 * liveness answer to `eth_chainId` (the node's last answer, while it was heard recently). It holds
 * nothing of the socket's life: the connection sends only on an open socket, and hands over the
 * node's frames until it closes.
 */
export class FrameRouter {
  readonly #socket: RoutedSocket;
  readonly #ids: IdAddressing;
  readonly #subscriptions: SharedSubscriptions;
  /** The node's answer to `eth_chainId` on this socket, as JSON text. */
  #chainId: string | undefined;

  /** `ids` and `subscriptions`: the real socket's, under which requests go and answers come back. */
  constructor(socket: RoutedSocket, ids: IdAddressing, subscriptions: SharedSubscriptions) {
    this.#socket = socket;
    this.#ids = ids;
    this.#subscriptions = subscriptions;
  }

  /**
   * A user's frame: each request re-addressed, subscriptions served from the shared ones. Throws,
   * like a real socket, when the real socket cannot take it, and (sending nothing of it) when it
   * is not JSON or, not in a session's shape, is nested too deep to be written again. `isolate`
   * (see SendOptions): a call in a session's shape goes on a socket of its own instead.
   */
  send(user: VirtualSocket, text: string, options?: SendOptions): void {
    let head = REQUEST_HEAD.exec(text);
    // Another "id" or "method" after the head would be the one a node reads (the last of a repeated
    // member, as JSON.parse reads it): such a frame is parsed, and written again with one of each.
    if (head && (text.includes('"id"', head[0].length) || text.includes('"method"', head[0].length))) head = null;
    if (head && head[2] !== 'eth_unsubscribe') {
      // At most 15 digits: a safe integer, answered as JSON writes it (no leading zeros).
      const idText = String(Number(head[1]));
      if (head[2] === 'eth_subscribe') return this.#subscriptions.subscribe(user, idText, text.slice(head[0].length));
      const chainId = head[2] === 'eth_chainId';
      if (chainId && this.#answerChainId(user, idText)) return;
      const rest = text.slice(ID_AT + head[1]!.length);
      if (options?.isolate === true && !chainId) return this.#socket.isolate(user, idText, head[2]!, rest, options.timeoutMs);
      this.#ids.call(user, chainId ? { kind: 'call', user, idText, chainId } : { kind: 'call', user, idText }, (upstreamId) => `{"jsonrpc":"2.0","id":${upstreamId}${rest}`);
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      throw new SteadyRpcError('ERR_TRANSPORT', 'Cannot send: a shared socket carries JSON-RPC frames only');
    }
    // Its requests are written again: JSON.stringify would overflow the stack part-way through a
    // batch. (An array in a batch is answered as no request, never written.)
    if (tooDeepToPassOn(text, message) && (Array.isArray(message) ? message : [message]).some((item) => !Array.isArray(item) && nestsDeeperThan(item, MAX_UPSTREAM_DEPTH))) {
      throw new SteadyRpcError('ERR_TRANSPORT', `Cannot send: a frame nested deeper than ${MAX_UPSTREAM_DEPTH} levels`);
    }
    // An id JSON.parse could not hold exactly (past 2^53) is answered with its text from the frame.
    if (!Array.isArray(message)) return this.#sendItem(user, message, () => rawIdText(text));
    let rawIds: Array<string | undefined> | undefined;
    message.forEach((item, index) => this.#sendItem(user, item, () => (rawIds ??= rawBatchIdTexts(text))[index]));
  }

  /** A frame from the node: each answer to the user that asked, each notification to the subscribers. */
  receive(text: string, bytes: Uint8Array | undefined): void {
    if (this.#ids.fastAnswer(text, bytes) || this.#subscriptions.fastNotification(text, bytes)) return;
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      this.#socket.unroutable();
      return this.#ids.failMalformed(text);
    }
    for (const item of Array.isArray(message) ? message : [message]) this.#onItem(item, text);
  }

  /** Answers `eth_chainId` from the node's last answer while the socket is known to be alive. */
  #answerChainId(user: VirtualSocket, idText: string): boolean {
    if (this.#chainId === undefined || !this.#socket.heardRecently()) return false;
    const answer = `{"jsonrpc":"2.0","id":${idText},"result":${this.#chainId}}`;
    queueMicrotask(() => user.deliver(answer));
    return true;
  }

  /**
   * A request that is not in the shape a session writes (a batch item, say): parsed, re-addressed
   * whole. `rawId` finds its id's text in the frame (see `idTextOf`).
   */
  #sendItem(user: VirtualSocket, item: unknown, rawId: () => string | undefined): void {
    // An array in a batch is no request, and written as it is, its items would reach the node under
    // ids of their own (another user's, maybe): answered as invalid, to this user only, after send().
    if (Array.isArray(item)) return queueMicrotask(() => user.deliver(NOT_A_REQUEST));
    const request = item as { id?: unknown; method?: unknown; params?: unknown };
    if (typeof item !== 'object' || item === null || !('id' in request) || request.id === undefined) {
      // A one-way subscribe or unsubscribe is dropped: on the socket every user shares it would end
      // a subscription that is not this user's, or open one nobody holds.
      if (request?.method === 'eth_subscribe' || request?.method === 'eth_unsubscribe') return;
      // A notification to the node (or not a request at all): nothing comes back to anyone for it.
      return this.#socket.write(JSON.stringify(item));
    }
    const idText = idTextOf(request.id, rawId);
    const params = Array.isArray(request.params) ? request.params : [];
    if (request.method === 'eth_subscribe') return this.#subscriptions.subscribe(user, idText, `,"params":${JSON.stringify(params)}}`);
    if (request.method === 'eth_unsubscribe' && typeof params[0] === 'string') return this.#subscriptions.unsubscribe(user, idText, params[0]);
    this.#ids.call(user, { kind: 'call', user, idText }, (upstreamId) => JSON.stringify({ ...request, id: upstreamId }));
  }

  /** `text`: the frame `item` was parsed from. */
  #onItem(item: unknown, text: string): void {
    if (typeof item !== 'object' || item === null) return this.#socket.unroutable();
    const frame = item as { id?: unknown; method?: unknown; result?: unknown; params?: { subscription?: unknown; result?: unknown } };
    // What a user is given is serialised again: nothing goes on that JSON.stringify cannot take.
    if (tooDeepToPassOn(text, frame)) {
      this.#socket.unroutable();
      return this.#ids.fail(frame.id, `the node sent an answer that could not be passed on (nested deeper than ${MAX_UPSTREAM_DEPTH} levels)`);
    }
    if (frame.method === 'eth_subscription') return this.#subscriptions.notification(frame);
    const origin = typeof frame.id === 'number' ? this.#ids.take(frame.id) : undefined;
    if (!origin) return this.#socket.unroutable();
    if (origin.kind !== 'subscribe') {
      if (origin.chainId && typeof frame.result === 'string') this.#chainId = JSON.stringify(frame.result);
      // Its JSON-RPC members only: nothing else a node adds reaches a session.
      if (origin.kind === 'call') origin.user.deliver(answerFrame(origin.idText, frame));
      return;
    }
    this.#subscriptions.subscribed(origin.shared, item as { result?: unknown; error?: unknown });
  }
}
