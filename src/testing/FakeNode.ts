import type { Clock } from '../Clock.js';
import { SteadyRpcError } from '../errors.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../jsonrpc.js';
import type { HttpEndpoint, HttpResponse } from '../transport/HttpTransport.js';
import type { FakeSocket } from './FakeSocketTransport.js';
import type { ChainBlock, FakeBlockHeader, FakeLog, Branch } from './FakeChain.js';
import { FakeChain, TREE, fakeBlockHash, fakeLog } from './FakeChain.js';
import type { FakeNodeState } from './fakeNodeAnswers.js';
import { answerCall, blockHeader, hex } from './fakeNodeAnswers.js';
import { answerHttp } from './fakeNodeHttp.js';
import { FakeNodeSockets } from './FakeNodeSockets.js';
import type { FakeForkOptions, FakeImportOptions, FakeNodeMode, FakeNodeOptions, FakeSubscriptionIds } from './FakeNodeOptions.js';

const DEFAULT_LOG_ADDRESS = '0x0000000000000000000000000000000000000001';

/**
 * A scriptable Ethereum node for unit tests: head progression, stalls, errors, a wrong chain,
 * latency, and (on a shared {@link FakeChain}) lagging, forking and rejoining. Serve it over HTTP
 * with `fakeHttp.route(url, node.http)`.
 *
 * How it announces a block it adds (`advance`, `forkAt`, `follow`): its head to `newHeads`
 * subscribers, then its logs to `logs` subscribers; with `logsBeforeHead`, the logs first, as geth
 * sends them. With `{ batch: true }` the blocks of one move are one import, as geth imports a batch
 * it syncs: every block's logs go out, but only the last head (a gap in the `newHeads` stream).
 */
export class FakeNode {
  readonly name: string;
  chainId: number;
  balance: bigint;
  mode: FakeNodeMode = 'ok';
  latencyMs: number;
  /** See {@link FakeNodeOptions.announceRemovedLogs}. */
  announceRemovedLogs: boolean;
  /** See {@link FakeNodeOptions.logsBeforeHead}. */
  logsBeforeHead: boolean;
  /** How many calls each method received. */
  readonly calls = new Map<string, number>();
  /** When set, new sockets are refused with this HTTP status (401/403: an auth failure). */
  refuseStatus: number | undefined;
  /** Methods whose answers the client's socket cannot take: a call of one fails it (`FakeSocket.tooBig`). */
  readonly oversized = new Set<string>();
  /**
   * Blocks at the top of the chain that block lookups (`eth_getBlockByNumber`, `eth_getBlockByHash`)
   * do not see yet: they answer `null` for them while heads and `eth_blockNumber` already show
   * them, as a load-balanced endpoint does when the backend that serves a read lags the one that
   * sent the head. 0 (the default): every block up to the head is there. The chain's genesis
   * block is always there, however large the lag.
   */
  readLagBlocks = 0;
  /**
   * When set, the node's chain reads (`eth_blockNumber`, `eth_getBlockByNumber`,
   * `eth_getBlockByHash`, `eth_getLogs`) answer an internal error, as an overloaded node's do,
   * while its other calls and its subscriptions go on: a check of its chain after a switch fails.
   */
  failReads = false;
  readonly #clock: Clock | undefined;
  /** The shared chain, and where on it this node is: its branch and its head's height there. */
  readonly #chain: FakeChain | undefined;
  #branch: Branch | undefined;
  #head: number;
  /** Without a chain: bumped by `reorg()`, so block hashes differ from before. */
  #fork = 0;
  /** Without a chain: logs emitted with `emitLog`. */
  readonly #ownLogs: FakeLog[] = [];
  /** Open sockets and their subscriptions. */
  readonly #sockets: FakeNodeSockets;

  constructor(options: FakeNodeOptions = {}) {
    const { name = 'fake', chainId = 1, chain, head = chain?.genesis ?? 0, balance = 0n, clock, latencyMs = 0, announceRemovedLogs = true, logsBeforeHead = false, subscriptionIds = 'random' } = options;
    if (subscriptionIds !== 'random' && subscriptionIds !== 'per-socket') {
      throw new SteadyRpcError('ERR_CONFIG', `FakeNode: expected subscriptionIds to be 'random' or 'per-socket', got ${JSON.stringify(subscriptionIds)}`);
    }
    if (latencyMs > 0 && !clock) throw new SteadyRpcError('ERR_CONFIG', 'FakeNode: latencyMs needs a clock');
    if (chain && (!Number.isSafeInteger(head) || head < chain.genesis)) {
      throw new SteadyRpcError('ERR_CONFIG', `FakeNode: expected head to be an integer >= the chain's genesis ${chain.genesis}, got ${head}`);
    }
    this.name = name;
    this.#sockets = new FakeNodeSockets(this, subscriptionIds);
    this.chainId = chainId;
    this.balance = balance;
    this.#clock = clock;
    this.latencyMs = latencyMs;
    this.announceRemovedLogs = announceRemovedLogs;
    this.logsBeforeHead = logsBeforeHead;
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
   * Mines `blocks` blocks, notifying `newHeads` subscribers of each (of the last only with
   * `batch`). On a chain, a node behind its branch's tip first follows the blocks already there
   * (same hashes, and their logs go to `logs` subscribers), then adds new ones.
   */
  advance(blocks = 1, options: FakeImportOptions = {}): this {
    for (let i = 0; i < blocks; i++) {
      const head = !options.batch || i === blocks - 1;
      if (!this.#branch) {
        this.#head += 1;
        if (head) this.notify('newHeads', this.block(this.#head));
        continue;
      }
      const block = this.#branch.at(this.#head + 1) ?? this.#chain![TREE].extend(this.#branch);
      this.#head = block.number;
      this.#announce(block, head);
    }
    return this;
  }

  /**
   * A reorg of this node, on a chain: it leaves its branch `depth` blocks below its head and mines
   * `blocks` new blocks on a branch of its own (new hashes above the common ancestor, the same at
   * and below it). Like geth, it tells `logs` subscribers of the left blocks' logs with
   * `removed: true` (unless `announceRemovedLogs` is off) and `newHeads` subscribers of each new
   * head from the fork point up, each linked to its parent (only of the last with `batch`). With
   * `logs`, each new block carries that many logs when it is announced.
   */
  forkAt(depth: number, blocks = depth, options: FakeForkOptions = {}): this {
    const branch = this.#chainBranch('forkAt');
    const chain = this.#chain!;
    if (!Number.isSafeInteger(depth) || depth < 0 || this.#head - depth < chain.genesis) {
      throw new SteadyRpcError('ERR_CONFIG', `FakeNode ${this.name}: expected a fork depth in 0..${this.#head - chain.genesis}, got ${depth}`);
    }
    if (!Number.isSafeInteger(blocks) || blocks < 0) throw new SteadyRpcError('ERR_CONFIG', `FakeNode ${this.name}: expected blocks to be an integer >= 0, got ${blocks}`);
    const { logs = 0 } = options;
    if (!Number.isSafeInteger(logs) || logs < 0) throw new SteadyRpcError('ERR_CONFIG', `FakeNode ${this.name}: expected logs to be an integer >= 0, got ${logs}`);
    const ancestor = this.#head - depth;
    const left = this.#blocks(ancestor + 1, this.#head);
    this.#branch = chain[TREE].branch(branch, ancestor);
    this.#head = ancestor;
    this.#retract(left);
    for (let i = 0; i < blocks; i++) {
      const block = chain[TREE].extend(this.#branch);
      for (let j = 0; j < logs; j++) block.logs.push(fakeLog(block.header, j, DEFAULT_LOG_ADDRESS, '0x'));
      this.#head = block.number;
      this.#announce(block, !options.batch || i === blocks - 1);
    }
    return this;
  }

  /**
   * Moves this node onto `other`'s branch, up to `head` (`other`'s head unless given): a forked
   * node rejoining, or a lagging one catching up with another. It tells its subscribers as on a
   * reorg: the left blocks' logs with `removed: true` (unless `announceRemovedLogs` is off), then
   * each head from the common ancestor up (the last only with `batch`), with its logs. Moving to
   * a lower height of its own path drops blocks without a new head, as `anvil_rollback` does.
   */
  follow(other: FakeNode, head = other.head, options: FakeImportOptions = {}): this {
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
      this.#announce(block, !options.batch || block.number === head);
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

  /**
   * A new head on the node: to `newHeads` subscribers (unless `head` is false: a block of a batch
   * below its last), and its logs to `logs` subscribers, after the head or (`logsBeforeHead`) before.
   */
  #announce(block: ChainBlock, head = true): void {
    if (head && !this.logsBeforeHead) this.notify('newHeads', { ...block.header });
    for (const log of block.logs) this.notify('logs', { ...log });
    if (head && this.logsBeforeHead) this.notify('newHeads', { ...block.header });
  }

  /** The node left `blocks`: their logs go out again with `removed: true`, in chain order. */
  #retract(blocks: readonly ChainBlock[]): void {
    if (!this.announceRemovedLogs) return;
    for (const block of blocks) for (const log of block.logs) this.notify('logs', { ...log, removed: true });
  }

  /** Sends `result` to every subscription of `kind` (`newHeads`, `logs`, `newPendingTransactions`, …). */
  notify(kind: string, result: unknown): this {
    if (this.mode === 'stall') return this;
    this.#sockets.notify(kind, result);
    return this;
  }

  /**
   * Emits a log in the current head block (logIndex counts within the block) to `logs`
   * subscribers, and keeps it for `eth_getLogs`. Without a chain, two nodes that emit the same logs
   * at the same heads hold the same chain, as two real nodes would. On a chain, the log belongs to
   * the head block, so every node whose chain has that block has it: each of them tells its `logs`
   * subscribers now, and a node that reaches the block later tells them then.
   */
  emitLog(address = DEFAULT_LOG_ADDRESS, data = '0x'): this {
    if (this.#branch) {
      const block = this.#branch.at(this.#head)!;
      const log = fakeLog(block.header, block.logs.length, address, data);
      block.logs.push(log);
      for (const node of this.#chain![TREE].nodes) if (node.#has(block)) node.notify('logs', { ...log });
      return this;
    }
    const inBlock = this.#ownLogs.filter((l) => l.blockNumber === hex(this.#head)).length;
    const log = fakeLog({ number: hex(this.#head), hash: fakeBlockHash(this.#head, this.#fork) }, inBlock, address, data);
    this.#ownLogs.push(log);
    return this.notify('logs', log);
  }

  /** Open sockets to this node. */
  get openSockets(): number {
    return this.#sockets.count;
  }

  /** Subscriptions open on this node, over all sockets. */
  get subscriptionCount(): number {
    return this.#sockets.subscriptionCount;
  }

  /** Drops every open socket (close code `code`) and refuses new ones until `restore()`. */
  cut(code = 1006): this {
    this.mode = 'down';
    this.#sockets.closeAll(code);
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
  readonly socket = (socket: FakeSocket): void => this.#sockets.accept(socket);

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
    return answerCall(this, this.#state(), request);
  }

  /**
   * The header the node's chain has at `number`, as `newHeads` gives it (`eth_getBlockByNumber`
   * adds a base fee and the block's transactions); on a chain: its branch's block, which must exist.
   */
  block(number: number): FakeBlockHeader {
    return blockHeader(this.name, this.#state(), number);
  }

  #state(): FakeNodeState {
    return { chain: this.#chain, branch: this.#branch, head: this.#head, fork: this.#fork, ownLogs: this.#ownLogs };
  }

  /** The node as an HTTP handler for `FakeHttpTransport.route`. */
  readonly http = (body: string, signal: AbortSignal, endpoint: HttpEndpoint): Promise<HttpResponse> => answerHttp(this, this.#clock, body, signal, endpoint);
}

export { fakeBlockHash };
export type { FakeForkOptions, FakeImportOptions, FakeNodeMode, FakeNodeOptions, FakeSubscriptionIds };
export type { FakeBlockHeader, FakeLog };
