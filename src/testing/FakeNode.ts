import type { Clock } from '../Clock.js';
import { SteadyRpcError } from '../errors.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../jsonrpc.js';
import { RpcErrorCode, errorResponse } from '../jsonrpc.js';
import type { HttpEndpoint, HttpResponse } from '../transport/HttpTransport.js';
import type { FakeSocket } from './FakeSocketTransport.js';

interface FakeSubscription {
  readonly kind: string;
  readonly params: readonly unknown[];
}

/**
 * How the fake node behaves right now:
 * - `ok`: answers;
 * - `down`: refuses connections (HTTP requests reject like a closed port, sockets fail to open);
 * - `stall`: never answers (a blackholed or zombie node): HTTP requests hang, new sockets never
 *   open, open sockets go silent;
 * - `http-error`: answers HTTP 503;
 * - `rpc-error`: answers every call with a JSON-RPC internal error.
 */
export type FakeNodeMode = 'ok' | 'down' | 'stall' | 'http-error' | 'rpc-error';

export interface FakeNodeOptions {
  /** Used in answers to `web3_clientVersion` and in error messages. @default 'fake' */
  name?: string;
  /** @default 1 */
  chainId?: number;
  /** Block number of the head at start. @default 0 */
  head?: number;
  /** Wei returned by `eth_getBalance` for any address, so tests can tell nodes apart. @default 0n */
  balance?: bigint;
  /** Needed only when `latencyMs` > 0: answers are delayed on this clock. */
  clock?: Clock;
  /** Delay before each answer, in ms (on `clock`). @default 0 */
  latencyMs?: number;
}

const hex = (n: number | bigint) => `0x${n.toString(16)}`;

/** A deterministic block hash for a block number on a given fake chain "fork". */
export const fakeBlockHash = (number: number, fork = 0) =>
  `0x${fork.toString(16).padStart(8, '0')}${number.toString(16).padStart(56, '0')}`;

/**
 * A scriptable Ethereum node for unit tests: head progression, stalls, errors, a wrong chain,
 * latency. Serve it over HTTP with `fakeHttp.route(url, node.http)`.
 */
export class FakeNode {
  readonly name: string;
  chainId: number;
  head: number;
  balance: bigint;
  mode: FakeNodeMode = 'ok';
  latencyMs: number;
  /** Bumped by `reorg()`, so block hashes differ from before. */
  fork = 0;
  /** How many calls each method received. */
  readonly calls = new Map<string, number>();
  /** When set, new sockets are refused with this HTTP status (401/403: an auth failure). */
  refuseStatus: number | undefined;
  readonly #clock: Clock | undefined;
  /** Logs emitted with `emitLog`, for `eth_getLogs` and `logs` subscriptions. */
  readonly logs: Array<{ address: string; blockNumber: string; blockHash: string; logIndex: string; data: string; removed: boolean }> = [];
  /** Open sockets and their subscriptions; ids count from 0x1 on every socket, as many nodes do. */
  readonly #sockets = new Map<FakeSocket, Map<string, FakeSubscription>>();
  readonly #nextSubscription = new Map<FakeSocket, number>();

  constructor(options: FakeNodeOptions = {}) {
    const { name = 'fake', chainId = 1, head = 0, balance = 0n, clock, latencyMs = 0 } = options;
    if (latencyMs > 0 && !clock) throw new SteadyRpcError('ERR_CONFIG', 'FakeNode: latencyMs needs a clock');
    this.name = name;
    this.chainId = chainId;
    this.head = head;
    this.balance = balance;
    this.#clock = clock;
    this.latencyMs = latencyMs;
  }

  /** Mines `blocks` blocks, notifying `newHeads` subscribers of each. */
  advance(blocks = 1): this {
    for (let i = 0; i < blocks; i++) {
      this.head += 1;
      this.notify('newHeads', this.block(this.head));
    }
    return this;
  }

  /** Sends `result` to every subscription of `kind` (`newHeads`, `logs`, `newPendingTransactions`, …). */
  notify(kind: string, result: unknown): this {
    if (this.mode === 'stall') return this;
    for (const [socket, subscriptions] of this.#openSockets()) {
      for (const [id, subscription] of subscriptions) {
        if (subscription.kind !== kind) continue;
        const filter = subscription.params[1] as { address?: string } | undefined;
        if (kind === 'logs' && filter?.address !== undefined && filter.address !== (result as { address?: string }).address) continue;
        socket.receiveJson({ jsonrpc: '2.0', method: 'eth_subscription', params: { subscription: id, result } });
      }
    }
    return this;
  }

  /**
   * Emits a log in the current head block (logIndex counts within the block) to `logs`
   * subscribers, and keeps it for `eth_getLogs`. Two nodes that emit the same logs at the same heads
   * hold the same chain, as two real nodes would.
   */
  emitLog(address = '0x0000000000000000000000000000000000000001', data = '0x'): this {
    const inBlock = this.logs.filter((l) => l.blockNumber === hex(this.head)).length;
    const log = { address, blockNumber: hex(this.head), blockHash: fakeBlockHash(this.head, this.fork), logIndex: hex(inBlock), data, removed: false };
    this.logs.push(log);
    return this.notify('logs', log);
  }

  /** Open sockets to this node. */
  get openSockets(): number {
    return this.#openSockets().length;
  }

  /** Subscriptions open on this node, over all sockets. */
  get subscriptionCount(): number {
    let count = 0;
    for (const [, subscriptions] of this.#openSockets()) count += subscriptions.size;
    return count;
  }

  #openSockets(): Array<[FakeSocket, Map<string, FakeSubscription>]> {
    for (const socket of this.#sockets.keys()) if (socket.state === 'closed') this.#sockets.delete(socket);
    return [...this.#sockets];
  }

  /** Drops every open socket (close code `code`) and refuses new ones until `restore()`. */
  cut(code = 1006): this {
    this.mode = 'down';
    for (const [socket] of this.#openSockets()) socket.serverClose(code);
    return this;
  }

  /** Keeps sockets open but passes nothing, and new sockets never open, until `restore()`. */
  blackhole(): this {
    this.mode = 'stall';
    return this;
  }

  /** Answers again. */
  restore(): this {
    this.mode = 'ok';
    return this;
  }

  /**
   * The node as a WebSocket server for `FakeSocketTransport.route`: accepts (or refuses, or never
   * answers, per `mode`), answers calls, keeps `eth_subscribe` subscriptions per socket.
   */
  readonly socket = (socket: FakeSocket): void => {
    if (this.refuseStatus !== undefined) return socket.refuse(this.refuseStatus);
    if (this.mode === 'down') return socket.fail(new Error(`${this.name}: connection refused`));
    if (this.mode === 'stall') return; // the upgrade never completes
    this.#sockets.set(socket, new Map());
    this.#nextSubscription.set(socket, 1);
    socket.onSend((text) => this.#onFrame(socket, text));
    socket.accept();
  };

  #onFrame(socket: FakeSocket, text: string): void {
    if (socket.state !== 'open') {
      this.#sockets.delete(socket);
      return;
    }
    if (this.mode === 'stall') return;
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      return socket.receiveJson(errorResponse(null, RpcErrorCode.PARSE_ERROR, 'Parse error'));
    }
    const answers = (Array.isArray(payload) ? payload : [payload]).map((r) => this.#answerOnSocket(socket, r as JsonRpcRequest));
    socket.receiveJson(Array.isArray(payload) ? answers : answers[0]);
  }

  #answerOnSocket(socket: FakeSocket, request: JsonRpcRequest): JsonRpcResponse {
    const subscriptions = this.#sockets.get(socket)!;
    const id = request.id ?? null;
    const params = Array.isArray(request.params) ? request.params : [];
    if (this.mode === 'ok' && request.method === 'eth_subscribe') {
      this.calls.set(request.method, (this.calls.get(request.method) ?? 0) + 1);
      const kind = params[0];
      if (typeof kind !== 'string' || !['newHeads', 'logs', 'newPendingTransactions', 'syncing'].includes(kind)) {
        return errorResponse(id, RpcErrorCode.INVALID_PARAMS, `unknown subscription ${JSON.stringify(kind)}`);
      }
      const n = this.#nextSubscription.get(socket)!;
      this.#nextSubscription.set(socket, n + 1);
      const subscription = hex(n);
      subscriptions.set(subscription, { kind, params });
      return { jsonrpc: '2.0', id, result: subscription };
    }
    if (this.mode === 'ok' && request.method === 'eth_unsubscribe') {
      this.calls.set(request.method, (this.calls.get(request.method) ?? 0) + 1);
      return { jsonrpc: '2.0', id, result: subscriptions.delete(String(params[0])) };
    }
    return this.answer(request);
  }

  /** Replaces the chain from `fromBlock` on (new hashes from there). */
  reorg(): this {
    this.fork += 1;
    return this;
  }

  setMode(mode: FakeNodeMode): this {
    this.mode = mode;
    return this;
  }

  /** Answers one JSON-RPC call from the node's current state. */
  answer(request: JsonRpcRequest): JsonRpcResponse {
    const id = request.id ?? null;
    this.calls.set(request.method, (this.calls.get(request.method) ?? 0) + 1);
    if (this.mode === 'rpc-error') return errorResponse(id, RpcErrorCode.INTERNAL_ERROR, `${this.name}: internal error`);
    const params = Array.isArray(request.params) ? request.params : [];
    switch (request.method) {
      case 'eth_blockNumber':
        return { jsonrpc: '2.0', id, result: hex(this.head) };
      case 'eth_chainId':
        return { jsonrpc: '2.0', id, result: hex(this.chainId) };
      case 'net_version':
        return { jsonrpc: '2.0', id, result: String(this.chainId) };
      case 'web3_clientVersion':
        return { jsonrpc: '2.0', id, result: `FakeNode/${this.name}` };
      case 'eth_getBalance':
        return { jsonrpc: '2.0', id, result: hex(this.balance) };
      case 'eth_getLogs': {
        const filter = (params[0] ?? {}) as { fromBlock?: string; toBlock?: string; address?: string };
        const from = filter.fromBlock === undefined ? 0 : Number(filter.fromBlock);
        const to = filter.toBlock === undefined || filter.toBlock === 'latest' ? this.head : Number(filter.toBlock);
        const result = this.logs.filter((l) => {
          const n = Number(l.blockNumber);
          return n >= from && n <= to && (filter.address === undefined || filter.address === l.address);
        });
        return { jsonrpc: '2.0', id, result };
      }
      case 'eth_getBlockByNumber': {
        const tag = params[0];
        const number = tag === 'latest' || tag === undefined ? this.head : Number(tag);
        if (!Number.isInteger(number) || number > this.head) return { jsonrpc: '2.0', id, result: null };
        return { jsonrpc: '2.0', id, result: this.block(number) };
      }
      default:
        return errorResponse(id, RpcErrorCode.METHOD_NOT_FOUND, `the method ${request.method} does not exist/is not available`);
    }
  }

  /** The header the fake chain has at `number`, as `eth_getBlockByNumber` and `newHeads` give it. */
  block(number: number): { number: string; hash: string; parentHash: string; timestamp: string } {
    return {
      number: hex(number),
      hash: fakeBlockHash(number, this.fork),
      parentHash: fakeBlockHash(Math.max(0, number - 1), this.fork),
      timestamp: hex(number * 12),
    };
  }

  /** The node as an HTTP handler for `FakeHttpTransport.route`. */
  readonly http = async (body: string, signal: AbortSignal, endpoint: HttpEndpoint): Promise<HttpResponse> => {
    if (this.mode === 'down') {
      throw SteadyRpcError.forUrl('ERR_TRANSPORT', `HTTP request failed: connection refused`, endpoint.url);
    }
    await this.#wait(signal);
    if (this.mode === 'http-error') return { status: 503, body: 'Service Unavailable' };
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      return { status: 200, body: JSON.stringify(errorResponse(null, RpcErrorCode.PARSE_ERROR, 'Parse error')) };
    }
    const answer = Array.isArray(payload)
      ? payload.map((r) => this.answer(r as JsonRpcRequest))
      : this.answer(payload as JsonRpcRequest);
    return { status: 200, body: JSON.stringify(answer) };
  };

  /** Resolves after the configured latency; never, while stalled; rejects when `signal` aborts. */
  #wait(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.mode !== 'stall' && this.latencyMs <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let timer: unknown;
      const onAbort = () => {
        if (timer !== undefined) this.#clock!.clearTimeout(timer);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (this.mode === 'stall') return;
      timer = this.#clock!.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, this.latencyMs);
    });
  }
}
