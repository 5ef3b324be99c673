import type { Clock } from '../Clock.js';
import { SteadyRpcError } from '../errors.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../jsonrpc.js';
import { RpcErrorCode, errorResponse } from '../jsonrpc.js';
import type { HttpEndpoint, HttpResponse } from '../transport/HttpTransport.js';
import { markNotDelivered } from '../transport/HttpTransport.js';
import type { FakeSocket } from './FakeSocketTransport.js';
import type { ChainBlock, FakeBlockHeader, FakeLog, Branch } from './FakeChain.js';
import { FakeChain, TREE, fakeBlockHash } from './FakeChain.js';

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
  /** Block number of the head at start. @default 0 (on a chain: its genesis) */
  head?: number;
  /** Wei returned by `eth_getBalance` for any address, so tests can tell nodes apart. @default 0n */
  balance?: bigint;
  /** Needed only when `latencyMs` > 0: answers are delayed on this clock. */
  clock?: Clock;
  /** Delay before each answer, in ms (on `clock`). @default 0 */
  latencyMs?: number;
  /**
   * The network's block tree this node shares with others (see {@link FakeChain}): it starts at
   * `head` on the chain's first branch. Without one, the node has a chain of its own whose hashes
   * are `fakeBlockHash(number, node.fork)` at every height.
   */
  chain?: FakeChain;
  /**
   * On a reorg of its chain (`forkAt`, `follow`), tell `logs` subscribers of the logs of the
   * blocks it left with `removed: true`, as geth does; anvil does not. @default true
   */
  announceRemovedLogs?: boolean;
}

const hex = (n: number | bigint) => `0x${n.toString(16)}`;

interface LogFilter {
  fromBlock?: string;
  toBlock?: string;
  address?: string;
  blockHash?: string;
}

/**
 * A scriptable Ethereum node for unit tests: head progression, stalls, errors, a wrong chain,
 * latency, and (on a shared {@link FakeChain}) lagging, forking and rejoining. Serve it over HTTP
 * with `fakeHttp.route(url, node.http)`.
 */
export class FakeNode {
  readonly name: string;
  chainId: number;
  balance: bigint;
  mode: FakeNodeMode = 'ok';
  latencyMs: number;
  /** See {@link FakeNodeOptions.announceRemovedLogs}. */
  announceRemovedLogs: boolean;
  /** How many calls each method received. */
  readonly calls = new Map<string, number>();
  /** When set, new sockets are refused with this HTTP status (401/403: an auth failure). */
  refuseStatus: number | undefined;
  readonly #clock: Clock | undefined;
  /** The shared chain, and where on it this node is: its branch and its head's height there. */
  readonly #chain: FakeChain | undefined;
  #branch: Branch | undefined;
  #head: number;
  /** Without a chain: bumped by `reorg()`, so block hashes differ from before. */
  #fork = 0;
  /** Without a chain: logs emitted with `emitLog`. */
  readonly #ownLogs: FakeLog[] = [];
  /** Open sockets and their subscriptions; ids count from 0x1 on every socket, as many nodes do. */
  readonly #sockets = new Map<FakeSocket, Map<string, FakeSubscription>>();
  readonly #nextSubscription = new Map<FakeSocket, number>();

  constructor(options: FakeNodeOptions = {}) {
    const { name = 'fake', chainId = 1, chain, head = chain?.genesis ?? 0, balance = 0n, clock, latencyMs = 0, announceRemovedLogs = true } = options;
    if (latencyMs > 0 && !clock) throw new SteadyRpcError('ERR_CONFIG', 'FakeNode: latencyMs needs a clock');
    if (chain && (!Number.isSafeInteger(head) || head < chain.genesis)) {
      throw new SteadyRpcError('ERR_CONFIG', `FakeNode: expected head to be an integer >= the chain's genesis ${chain.genesis}, got ${head}`);
    }
    this.name = name;
    this.chainId = chainId;
    this.balance = balance;
    this.#clock = clock;
    this.latencyMs = latencyMs;
    this.announceRemovedLogs = announceRemovedLogs;
    this.#chain = chain;
    this.#head = head;
    if (chain) {
      const tree = chain[TREE];
      this.#branch = tree.root;
      while (tree.root.tip < head) tree.extend(tree.root);
      tree.nodes.add(this);
    }
  }

  /** Block number of the node's head. */
  get head(): number {
    return this.#head;
  }

  /** Moves the head without telling subscribers (only without a chain: on one, use `advance`, `forkAt`, `follow`). */
  set head(number: number) {
    if (this.#branch) throw new SteadyRpcError('ERR_CONFIG', `FakeNode ${this.name}: on a shared chain, move the head with advance(), forkAt() or follow()`);
    this.#head = number;
  }

  /** The fork field of the head's hash: on a chain, its branch's (equal for nodes on one branch). */
  get fork(): number {
    return this.#branch ? this.#branch.fork : this.#fork;
  }

  /** Without a chain: gives the node's whole chain other hashes. */
  set fork(fork: number) {
    if (this.#branch) throw new SteadyRpcError('ERR_CONFIG', `FakeNode ${this.name}: on a shared chain, fork with forkAt()`);
    this.#fork = fork;
  }

  /** The chain this node shares, if any. */
  get chain(): FakeChain | undefined {
    return this.#chain;
  }

  /** On a chain: the height of its branch's tip (above `head` while the node lags); else `head`. */
  get tip(): number {
    return this.#branch ? this.#branch.tip : this.#head;
  }

  /**
   * Logs on the node's chain up to its head, in chain order: without a chain, every log emitted
   * with `emitLog` (this very array); on one, those of the blocks of its branch.
   */
  get logs(): FakeLog[] {
    if (!this.#branch) return this.#ownLogs;
    return this.#blocks(this.#chain!.genesis, this.#head).flatMap((block) => block.logs);
  }

  /**
   * Mines `blocks` blocks, notifying `newHeads` subscribers of each. On a chain, a node behind its
   * branch's tip first follows the blocks already there (same hashes, and their logs go to `logs`
   * subscribers), then adds new ones.
   */
  advance(blocks = 1): this {
    for (let i = 0; i < blocks; i++) {
      if (!this.#branch) {
        this.#head += 1;
        this.notify('newHeads', this.block(this.#head));
        continue;
      }
      const block = this.#branch.at(this.#head + 1) ?? this.#chain![TREE].extend(this.#branch);
      this.#head = block.number;
      this.#announce(block);
    }
    return this;
  }

  /**
   * A reorg of this node, on a chain: it leaves its branch `depth` blocks below its head and mines
   * `blocks` new blocks on a branch of its own (new hashes above the common ancestor, the same at
   * and below it). Like geth, it tells `logs` subscribers of the left blocks' logs with
   * `removed: true` (unless `announceRemovedLogs` is off) and `newHeads` subscribers of each new
   * head from the fork point up, each linked to its parent.
   */
  forkAt(depth: number, blocks = depth): this {
    const branch = this.#chainBranch('forkAt');
    const chain = this.#chain!;
    if (!Number.isSafeInteger(depth) || depth < 0 || this.#head - depth < chain.genesis) {
      throw new SteadyRpcError('ERR_CONFIG', `FakeNode ${this.name}: expected a fork depth in 0..${this.#head - chain.genesis}, got ${depth}`);
    }
    if (!Number.isSafeInteger(blocks) || blocks < 0) throw new SteadyRpcError('ERR_CONFIG', `FakeNode ${this.name}: expected blocks to be an integer >= 0, got ${blocks}`);
    const ancestor = this.#head - depth;
    const left = this.#blocks(ancestor + 1, this.#head);
    this.#branch = chain[TREE].branch(branch, ancestor);
    this.#head = ancestor;
    this.#retract(left);
    for (let i = 0; i < blocks; i++) {
      const block = chain[TREE].extend(this.#branch);
      this.#head = block.number;
      this.#announce(block);
    }
    return this;
  }

  /**
   * Moves this node onto `other`'s branch, up to `head` (`other`'s head unless given): a forked
   * node rejoining, or a lagging one catching up with another. It tells its subscribers as on a
   * reorg: the left blocks' logs with `removed: true` (unless `announceRemovedLogs` is off), then
   * each head from the common ancestor up, with its logs. Moving to a lower height of its own
   * path drops blocks without a new head, as `anvil_rollback` does.
   */
  follow(other: FakeNode, head = other.head): this {
    this.#chainBranch('follow');
    const target = other.#chainBranch('follow');
    if (other.#chain !== this.#chain) throw new SteadyRpcError('ERR_CONFIG', `FakeNode ${this.name}: ${other.name} is on another chain`);
    if (!Number.isSafeInteger(head) || head < this.#chain!.genesis || head > target.tip) {
      throw new SteadyRpcError('ERR_CONFIG', `FakeNode ${this.name}: expected a head in ${this.#chain!.genesis}..${target.tip} on ${other.name}'s branch, got ${head}`);
    }
    let ancestor = Math.min(this.#head, head);
    while (this.#branch!.at(ancestor) !== target.at(ancestor)) ancestor -= 1;
    const left = this.#blocks(ancestor + 1, this.#head);
    this.#branch = target;
    this.#head = ancestor;
    this.#retract(left);
    for (const block of this.#blocks(ancestor + 1, head)) {
      this.#head = block.number;
      this.#announce(block);
    }
    return this;
  }

  #chainBranch(method: string): Branch {
    if (!this.#branch) throw new SteadyRpcError('ERR_CONFIG', `FakeNode ${this.name}: ${method}() needs a chain (FakeNodeOptions.chain)`);
    return this.#branch;
  }

  /** The blocks `from`..`to` of this node's branch (as far as it goes). */
  #blocks(from: number, to: number): ChainBlock[] {
    const blocks: ChainBlock[] = [];
    for (let n = Math.max(from, this.#chain!.genesis); n <= to; n++) {
      const block = this.#branch!.at(n);
      if (block) blocks.push(block);
    }
    return blocks;
  }

  /** Whether `block` is on this node's chain, at or below its head. */
  #has(block: ChainBlock): boolean {
    return this.#branch !== undefined && block.number <= this.#head && this.#branch.at(block.number) === block;
  }

  /** A new head on the node: to `newHeads` subscribers, then its logs to `logs` subscribers. */
  #announce(block: ChainBlock): void {
    this.notify('newHeads', { ...block.header });
    for (const log of block.logs) this.notify('logs', { ...log });
  }

  /** The node left `blocks`: their logs go out again with `removed: true`, in chain order. */
  #retract(blocks: readonly ChainBlock[]): void {
    if (!this.announceRemovedLogs) return;
    for (const block of blocks) for (const log of block.logs) this.notify('logs', { ...log, removed: true });
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
   * subscribers, and keeps it for `eth_getLogs`. Without a chain, two nodes that emit the same logs
   * at the same heads hold the same chain, as two real nodes would. On a chain, the log belongs to
   * the head block, so every node whose chain has that block has it: each of them tells its `logs`
   * subscribers now, and a node that reaches the block later tells them then.
   */
  emitLog(address = '0x0000000000000000000000000000000000000001', data = '0x'): this {
    if (this.#branch) {
      const block = this.#branch.at(this.#head)!;
      const log: FakeLog = Object.freeze({ address, blockNumber: block.header.number, blockHash: block.header.hash, logIndex: hex(block.logs.length), data, removed: false });
      block.logs.push(log);
      for (const node of this.#chain![TREE].nodes) if (node.#has(block)) node.notify('logs', { ...log });
      return this;
    }
    const inBlock = this.#ownLogs.filter((l) => l.blockNumber === hex(this.#head)).length;
    const log = { address, blockNumber: hex(this.#head), blockHash: fakeBlockHash(this.#head, this.#fork), logIndex: hex(inBlock), data, removed: false };
    this.#ownLogs.push(log);
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

  /** Without a chain: replaces the node's whole chain (new hashes at every height), telling no one. */
  reorg(): this {
    if (this.#branch) throw new SteadyRpcError('ERR_CONFIG', `FakeNode ${this.name}: on a shared chain, reorg with forkAt()`);
    this.#fork += 1;
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
      case 'eth_getLogs':
        return this.#getLogs(id, (params[0] ?? {}) as LogFilter);
      case 'eth_getBlockByNumber': {
        const tag = params[0];
        const number = tag === 'latest' || tag === 'pending' || tag === undefined ? this.#head : tag === 'earliest' ? (this.#chain?.genesis ?? 0) : Number(tag);
        if (!Number.isInteger(number) || number > this.#head || number < (this.#chain?.genesis ?? 0)) return { jsonrpc: '2.0', id, result: null };
        return { jsonrpc: '2.0', id, result: this.block(number) };
      }
      case 'eth_getBlockByHash': {
        const number = this.#numberOf(params[0]);
        return { jsonrpc: '2.0', id, result: number === undefined ? null : this.block(number) };
      }
      default:
        return errorResponse(id, RpcErrorCode.METHOD_NOT_FOUND, `the method ${request.method} does not exist/is not available`);
    }
  }

  /**
   * The header the node's chain has at `number`, as `eth_getBlockByNumber` and `newHeads` give it
   * (on a chain: its branch's block, which must exist).
   */
  block(number: number): FakeBlockHeader {
    if (this.#branch) {
      const block = this.#branch.at(number);
      if (!block) throw new RangeError(`FakeNode ${this.name}: no block ${number} on its branch (tip ${this.#branch.tip})`);
      return { ...block.header };
    }
    return {
      number: hex(number),
      hash: fakeBlockHash(number, this.#fork),
      parentHash: fakeBlockHash(Math.max(0, number - 1), this.#fork),
      timestamp: hex(number * 12),
    };
  }

  /** The number of the block with `hash` if the node has it (on its chain, at or below its head). */
  #numberOf(hash: unknown): number | undefined {
    if (typeof hash !== 'string') return undefined;
    if (!this.#branch) {
      const number = Number.parseInt(hash.slice(10), 16);
      return hash.length === 66 && Number.isSafeInteger(number) && number <= this.#head && hash === fakeBlockHash(number, this.#fork) ? number : undefined;
    }
    const header = this.#chain!.block(hash);
    if (!header) return undefined;
    const number = Number(header.number);
    return number <= this.#head && this.#branch.at(number)?.header === header ? number : undefined;
  }

  /** `eth_getLogs` over the node's chain up to its head: a range (clamped to it) or one block by hash. */
  #getLogs(id: JsonRpcResponse['id'], filter: LogFilter): JsonRpcResponse {
    const matches = (log: FakeLog) => filter.address === undefined || filter.address === log.address;
    if (filter.blockHash !== undefined) {
      const number = this.#numberOf(filter.blockHash);
      if (number === undefined) return errorResponse(id, -32000, 'unknown block');
      return { jsonrpc: '2.0', id, result: this.logs.filter((log) => Number(log.blockNumber) === number && matches(log)) };
    }
    const genesis = this.#chain?.genesis ?? 0;
    const at = (tag: string | undefined, fallback: number) => (tag === undefined ? fallback : tag === 'latest' || tag === 'pending' ? this.#head : tag === 'earliest' ? genesis : Number(tag));
    const from = at(filter.fromBlock, genesis);
    const to = at(filter.toBlock, this.#head);
    if (this.#branch) {
      const blocks = this.#blocks(from, Math.min(to, this.#head));
      return { jsonrpc: '2.0', id, result: blocks.flatMap((block) => block.logs.filter(matches).map((log) => ({ ...log }))) };
    }
    const result = this.#ownLogs.filter((l) => {
      const n = Number(l.blockNumber);
      return n >= from && n <= to && matches(l);
    });
    return { jsonrpc: '2.0', id, result };
  }

  /** The node as an HTTP handler for `FakeHttpTransport.route`. */
  readonly http = async (body: string, signal: AbortSignal, endpoint: HttpEndpoint): Promise<HttpResponse> => {
    if (this.mode === 'down') {
      throw markNotDelivered(SteadyRpcError.forUrl('ERR_TRANSPORT', 'HTTP request failed before it was sent: connection refused', endpoint.url));
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

export { fakeBlockHash };
export type { FakeBlockHeader, FakeLog };
