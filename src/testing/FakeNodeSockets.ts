import type { JsonRpcRequest, JsonRpcResponse } from '../jsonrpc.js';
import { RpcErrorCode, errorResponse } from '../jsonrpc.js';
import type { FakeNode } from './FakeNode.js';
import type { FakeSocket } from './FakeSocketTransport.js';
import { hex } from './fakeNodeAnswers.js';
import type { FakeLog } from './FakeChain.js';
import { logMatches } from './fakeLogFilter.js';
import type { FakeSubscriptionIds } from './FakeNodeOptions.js';

interface FakeSubscription {
  readonly kind: string;
  readonly params: readonly unknown[];
}

/**
 * A {@link FakeNode}'s WebSocket side: its open sockets and their `eth_subscribe` subscriptions,
 * named as {@link FakeSubscriptionIds} says.
 */
export class FakeNodeSockets {
  readonly #node: FakeNode;
  readonly #ids: FakeSubscriptionIds;
  readonly #sockets = new Map<FakeSocket, Map<string, FakeSubscription>>();
  /** `per-socket`: the next id's number. Weak: a closed socket is forgotten with everything it held (a long simulation keeps no socket). */
  readonly #nextSubscription = new WeakMap<FakeSocket, number>();
  /** `random`: subscriptions the node has opened, on any socket. */
  #opened = 0;

  constructor(node: FakeNode, ids: FakeSubscriptionIds) {
    this.#node = node;
    this.#ids = ids;
  }

  /** Accepts (or refuses, or never answers, per the node's `mode`) a new socket. */
  accept(socket: FakeSocket): void {
    const node = this.#node;
    if (node.refuseStatus !== undefined) return socket.refuse(node.refuseStatus);
    if (node.mode === 'down') return socket.fail(new Error(`${node.name}: connection refused`));
    if (node.mode === 'stall') return; // the upgrade never completes
    this.#sockets.set(socket, new Map());
    this.#nextSubscription.set(socket, 1);
    socket.onSend((text) => this.#onFrame(socket, text));
    socket.accept();
  }

  /** Sends `result` to every subscription of `kind` on every open socket. */
  notify(kind: string, result: unknown): void {
    for (const [socket, subscriptions] of this.#open()) {
      for (const [id, subscription] of subscriptions) {
        if (subscription.kind !== kind) continue;
        if (kind === 'logs' && !logMatches(subscription.params[1], result as FakeLog)) continue;
        socket.receiveJson({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: id, result } });
      }
    }
  }

  /** Open sockets. */
  get count(): number {
    return this.#open().length;
  }

  /** Subscriptions open over all sockets. */
  get subscriptionCount(): number {
    let count = 0;
    for (const [, subscriptions] of this.#open()) count += subscriptions.size;
    return count;
  }

  /** Closes every open socket from the server side with close code `code`. */
  closeAll(code: number): void {
    for (const [socket] of this.#open()) socket.serverClose(code);
  }

  /** Open sockets and their subscriptions (forgetting closed ones). */
  #open(): Array<[FakeSocket, Map<string, FakeSubscription>]> {
    for (const socket of this.#sockets.keys()) if (socket.state === 'closed') this.#sockets.delete(socket);
    return [...this.#sockets];
  }

  #onFrame(socket: FakeSocket, text: string): void {
    if (socket.state !== 'open') {
      this.#sockets.delete(socket);
      return;
    }
    if (this.#node.mode === 'stall') return;
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      return socket.receiveJson(errorResponse(null, RpcErrorCode.PARSE_ERROR, 'Parse error'));
    }
    const requests = (Array.isArray(payload) ? payload : [payload]) as JsonRpcRequest[];
    if (this.#node.mode === 'ok' && this.#node.oversized.size > 0 && requests.some((r) => this.#node.oversized.has(r?.method))) return socket.tooBig();
    const answers = requests.map((r) => this.#answerOnSocket(socket, r));
    socket.receiveJson(Array.isArray(payload) ? answers : answers[0]);
  }

  #nextId(socket: FakeSocket): string {
    if (this.#ids === 'random') return randomId(this.#node.name, ++this.#opened);
    const n = this.#nextSubscription.get(socket)!;
    this.#nextSubscription.set(socket, n + 1);
    return hex(n);
  }

  #answerOnSocket(socket: FakeSocket, request: JsonRpcRequest): JsonRpcResponse {
    const node = this.#node;
    const subscriptions = this.#sockets.get(socket)!;
    const id = request.id ?? null;
    const params = Array.isArray(request.params) ? request.params : [];
    if (node.mode === 'ok' && request.method === 'eth_subscribe') {
      node.calls.set(request.method, (node.calls.get(request.method) ?? 0) + 1);
      const kind = params[0];
      if (typeof kind !== 'string' || !['newHeads', 'logs', 'newPendingTransactions', 'syncing'].includes(kind)) {
        return errorResponse(id, RpcErrorCode.INVALID_PARAMS, `unknown subscription ${JSON.stringify(kind)}`);
      }
      const subscription = this.#nextId(socket);
      subscriptions.set(subscription, { kind, params });
      return { jsonrpc: '2.0', id, result: subscription };
    }
    if (node.mode === 'ok' && request.method === 'eth_unsubscribe') {
      node.calls.set(request.method, (node.calls.get(request.method) ?? 0) + 1);
      return { jsonrpc: '2.0', id, result: subscriptions.delete(String(params[0])) };
    }
    return node.answer(request);
  }
}

/**
 * The `n`th subscription id of a node named `name`: a 128-bit quantity (no leading zeros, as geth
 * and reth write one) from two FNV-1a hashes, so the same on every run.
 */
function randomId(name: string, n: number): string {
  const high = fnv1a(`${name}#${n}`, 0xcbf29ce484222325n);
  const low = fnv1a(`${n}#${name}`, 0x84222325cbf29ce4n);
  return hex((high << 64n) | low);
}

function fnv1a(text: string, basis: bigint): bigint {
  let hash = basis;
  for (let i = 0; i < text.length; i++) hash = BigInt.asUintN(64, (hash ^ BigInt(text.charCodeAt(i))) * 0x100000001b3n);
  return hash;
}
