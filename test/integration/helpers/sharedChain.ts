/**
 * Real anvil nodes of ONE network: they share byte-identical history (same block hashes) and can be
 * made to lag or fork near the tip on demand, each behind its own FaultProxy, so failover tests see
 * what real failover sees. Every node mines only when told to (manual mining, same genesis
 * timestamp); a canonical block is a list of signed raw transactions plus an explicit timestamp, and
 * mining the same list with the same timestamp gives the same hash on every node. The harness keeps
 * the canonical record, so catch-up and rejoin replay blocks exactly (and check the hashes).
 *
 * Chain driving goes straight to each anvil's HTTP URL, never through the proxies.
 *
 * What anvil 1.7.1 does (checked here, see sharedChain.test.ts):
 * - `anvil_rollback(depth)` drops the last `depth` blocks; their transactions do NOT return to the
 *   pool (the pool is empty after it) and the nonces roll back. It sends nothing to subscribers.
 *   But it keeps the base fee computed from the dropped head, so a replayed block differs (base fee,
 *   state root, hash) unless the base fee is set: mineBlock() (manualAnvil.ts) always sets it.
 *   `fork()` and `rejoin()` use rollback, then mine with `evm_mine({ timestamp })`.
 * - `anvil_reorg(depth, txs)` also works, but picks the new blocks' timestamps itself, so it cannot
 *   replay a recorded branch; not used. `evm_revert` of a snapshot also drops blocks silently.
 * - After a rollback (or anvil_reorg), `newHeads` subscribers get the new branch's heads from the
 *   fork point up, each linked to its parent, and `logs` subscribers get the new branch's logs.
 *   anvil sends NO `removed: true` logs for the dropped blocks (geth does), neither on fork() nor
 *   on rejoin(): don't use anvil as the oracle for `removed`.
 * - Mining is fast: mine() takes about 3 ms for an empty block on two nodes, about 11 ms with 5 logs.
 *
 * With `start({ ticks: true })` every block, canonical or of a fork, also sends 1 wei to {@link TICKS}
 * (its last transaction), so that address's balance at a block is the block's number on any branch:
 * a state read at `latest` tells which height's state answered it. `headChanges` records when each
 * node's head moved, up or down, for judging such answers afterwards.
 */
import { getContractAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { DEV_ACCOUNT } from './anvil.js';
import type { AnvilNode } from './anvil.js';
import { FaultProxy } from './FaultProxy.js';
import { mineBlock, rpc, startManualAnvil } from './manualAnvil.js';
import { MisbehavingNode } from './misbehavingNode.js';

export { rpc };

type Hex = `0x${string}`;

export interface SharedChainNode {
  name: string;
  anvil: AnvilNode;
  proxy: FaultProxy;
  /**
   * With `SharedChain.start({ readLag: true })`: an endpoint between the proxy and anvil whose block
   * reads can lag its heads (`reads.nullBlocksAbove(n)`), as a load-balanced provider's can.
   */
  reads?: MisbehavingNode;
}

export interface BlockRef {
  number: number;
  hash: string;
}

/** anvil's first dev key (mnemonic "test test ... junk"): the sender of every transaction. */
const DEV_KEY: Hex = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const SIGNER = privateKeyToAccount(DEV_KEY);
/** Runtime code: CALLDATASIZE PUSH0 PUSH0 CALLDATACOPY PUSH1 0x2a CALLDATASIZE PUSH0 LOG1 STOP — one log (topic 0x2a, data = calldata) per call. */
const LOGGER_RUNTIME = '365f5f37602a365fa100';
/** Init code: CODECOPY the 10-byte runtime that follows it and RETURN it. */
const LOGGER_INIT: Hex = `0x600a600a5f39600a5ff3${LOGGER_RUNTIME}`;
/** Canonical block n has timestamp genesis + 12 n; fork blocks land strictly between those. */
const BLOCK_SECONDS = 12;
/** Fork blocks' log data has this bit set, so a log tells which kind of block it came from. */
const FORK_TAG = 1n << 255n;

export const LOG_TOPIC: Hex = `0x${'2a'.padStart(64, '0')}`;
/** With `ticks`, the address every block sends 1 wei to: its balance at a block is the block's number. */
export const TICKS: Hex = '0x000000000000000000000000000000000000c10c';

/** A node's head became `head` at some moment between `from` and `to` (`Date.now()` before and after the call that did it). */
export interface HeadChange {
  node: string;
  head: number;
  from: number;
  to: number;
}

interface CanonicalBlock extends BlockRef {
  timestamp: number;
  /** Signed raw transactions, in block order. */
  txs: Hex[];
}

interface NodeState {
  /** Number of this node's head block. */
  head: number;
  /** Highest block this node shares with the canonical chain (its head unless forked). */
  ancestor: number;
  lagging: boolean;
  forked: boolean;
}

const word = (value: bigint): Hex => `0x${value.toString(16).padStart(64, '0')}`;

export class SharedChain {
  readonly nodes: Record<string, SharedChainNode>;
  /** The LOG1 contract, deployed in canonical block 1 (so at the same address on every node). */
  readonly logger: Hex = getContractAddress({ from: DEV_ACCOUNT, nonce: 0n });
  readonly genesisTimestamp: number;
  readonly chainId: number;
  /** Every move of every node's head, in the order each node made them (see {@link HeadChange}). */
  readonly headChanges: HeadChange[] = [];
  readonly #ticks: boolean;
  readonly #canon: CanonicalBlock[];
  readonly #state = new Map<string, NodeState>();
  /** Next nonce of the canonical chain (every canonical tx comes from DEV_ACCOUNT). */
  #nonce = 0;
  #logSerial = 0n;
  #forkSerial = 0;
  /** Serializes every chain-driving operation, so concurrent calls cannot interleave blocks. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(nodes: SharedChainNode[], genesis: CanonicalBlock, chainId: number, ticks: boolean) {
    this.nodes = Object.fromEntries(nodes.map((node) => [node.name, node]));
    for (const node of nodes) this.#state.set(node.name, { head: 0, ancestor: 0, lagging: false, forked: false });
    for (const node of nodes) this.headChanges.push({ node: node.name, head: 0, from: 0, to: 0 });
    this.#ticks = ticks;
    this.#canon = [genesis];
    this.genesisTimestamp = genesis.timestamp;
    this.chainId = chainId;
  }

  /**
   * Starts one anvil + FaultProxy per name (default `a`, `b`) with the same genesis, then mines
   * canonical block 1 (the logger deployment) on all of them. The genesis timestamp is an hour ago,
   * so canonical heads (12 s apart) stay behind the wall clock for the first 300 blocks.
   */
  static async start(options: { names?: string[]; chainId?: number; readLag?: boolean; ticks?: boolean } = {}): Promise<SharedChain> {
    const names = options.names ?? ['a', 'b'];
    const chainId = options.chainId ?? 31337;
    if (names.length === 0 || new Set(names).size !== names.length) throw new Error(`SharedChain: bad node names ${names.join(',')}`);
    const genesisTimestamp = Math.floor(Date.now() / 1000) - 3600;
    const started: Array<{ stop(): Promise<unknown> } | FaultProxy> = [];
    const stopAll = () => Promise.allSettled(started.map((s) => (s instanceof FaultProxy ? s.close() : s.stop())));
    // allSettled, so a failure of one node never leaves another running unstopped.
    const results = await Promise.allSettled(
      names.map(async (name): Promise<SharedChainNode> => {
        const anvil = await startManualAnvil({ chainId, genesisTimestamp });
        started.push(anvil);
        const reads = options.readLag ? await MisbehavingNode.start(anvil.httpUrl) : undefined;
        if (reads) started.push({ stop: () => reads.close() });
        const proxy = await FaultProxy.start({ host: '127.0.0.1', port: reads ? Number(new URL(reads.url).port) : anvil.port });
        started.push(proxy);
        return { name, anvil, proxy, ...(reads ? { reads } : {}) };
      }),
    );
    try {
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      const nodes = results.map((r) => (r as PromiseFulfilledResult<SharedChainNode>).value);
      const genesis = await Promise.all(nodes.map((n) => rpc<{ hash: string }>(n.anvil.httpUrl, 'eth_getBlockByNumber', ['0x0', false])));
      if (new Set(genesis.map((g) => g.hash)).size !== 1) throw new Error('SharedChain: the nodes have different genesis blocks');
      const ticks = options.ticks ?? false;
      const chain = new SharedChain(nodes, { number: 0, hash: genesis[0]!.hash, timestamp: genesisTimestamp, txs: [] }, chainId, ticks);
      const deploy = await chain.#sign(undefined, LOGGER_INIT, 200_000n, chain.#nonce++);
      await chain.#mineCanonical(ticks ? [deploy, await chain.#tick(chain.#nonce++)] : [deploy]);
      const code = await rpc<string>(nodes[0]!.anvil.httpUrl, 'eth_getCode', [chain.logger, 'latest']);
      if (code !== `0x${LOGGER_RUNTIME}`) throw new Error(`SharedChain: logger deployment failed (code at ${chain.logger}: ${code})`);
      const ticked = ticks ? Number(await rpc<string>(nodes[0]!.anvil.httpUrl, 'eth_getBalance', [TICKS, 'latest'])) : 1;
      if (ticked !== 1) throw new Error(`SharedChain: ${TICKS} holds ${ticked} wei at block 1, not 1`);
      return chain;
    } catch (error) {
      await stopAll();
      throw error;
    }
  }

  /**
   * Mines one canonical block, identical on every node that is in sync (not lagging, not forked),
   * with `logs` calls to the logger (each one log with distinct data). Throws if no node is in sync.
   */
  mine(options: { logs?: number } = {}): Promise<BlockRef> {
    return this.#serialized(async () => {
      const txs = await this.#blockTxs(options.logs ?? 0, this.#nonce, 0n);
      this.#nonce += txs.length;
      return this.#mineCanonical(txs);
    });
  }

  /** From the next mine() on, `name` gets no canonical blocks until catchUp/rejoin. */
  lag(name: string): void {
    this.#node(name).lagging = true;
  }

  /**
   * Replays the canonical blocks a lagging `name` missed (same txs and timestamps, so the same hashes),
   * up to block number `upTo` (default: the canonical head). Back in sync once at the canonical head.
   */
  catchUp(name: string, upTo?: number): Promise<void> {
    return this.#serialized(async () => {
      if (this.#node(name).forked) throw new Error(`SharedChain: ${name} is forked; use rejoin()`);
      await this.#replay(name, Math.min(upTo ?? Infinity, this.#canon.length - 1));
    });
  }

  /**
   * Makes `name` diverge: rolls back its last `depth` blocks (never block 1, the logger's) and mines
   * `blocks` (default depth, at least 1) blocks of its own with `logs` logs each. Fork blocks have
   * timestamps between canonical ones and tagged log data, so they never equal a canonical block or
   * an earlier fork's. `name` then stays on its branch (mine() skips it) until rejoin().
   */
  fork(name: string, depth: number, options: { blocks?: number; logs?: number } = {}): Promise<void> {
    return this.#serialized(async () => {
      const state = this.#node(name);
      const blocks = options.blocks ?? Math.max(depth, 1);
      if (!Number.isInteger(depth) || depth < 0 || !Number.isInteger(blocks) || blocks < 1) throw new RangeError(`SharedChain.fork: bad depth ${depth} / blocks ${blocks}`);
      if (state.head - depth < 1) throw new RangeError(`SharedChain.fork: ${name} cannot roll back ${depth} blocks from ${state.head}`);
      const url = this.nodes[name]!.anvil.httpUrl;
      if (depth > 0) await this.#rollback(name, state.head - depth);
      state.ancestor = Math.min(state.ancestor, state.head);
      state.forked = true;
      const serial = ++this.#forkSerial;
      let nonce = Number(await rpc<string>(url, 'eth_getTransactionCount', [DEV_ACCOUNT, 'latest']));
      for (let i = 0; i < blocks; i++) {
        const txs = await this.#blockTxs(options.logs ?? 0, nonce, FORK_TAG);
        nonce += txs.length;
        const number = state.head + 1;
        await this.#mineOn(name, txs, this.genesisTimestamp + number * BLOCK_SECONDS + 1 + (serial % (BLOCK_SECONDS - 1)));
      }
    });
  }

  /** Puts `name` back in sync whatever its state: rolls a fork back to the common ancestor, then replays. */
  rejoin(name: string): Promise<void> {
    return this.#serialized(async () => {
      const state = this.#node(name);
      if (state.forked && state.head > state.ancestor) await this.#rollback(name, state.ancestor);
      state.head = state.ancestor;
      state.forked = false;
      await this.#replay(name, this.#canon.length - 1);
    });
  }

  /** The node's head, as the node reports it. */
  async head(name: string): Promise<BlockRef> {
    this.#node(name); // throws on an unknown name
    const block = await rpc<{ number: string; hash: string }>(this.nodes[name]!.anvil.httpUrl, 'eth_getBlockByNumber', ['latest', false]);
    return { number: Number(block.number), hash: block.hash };
  }

  /** The canonical block `number` (default: the canonical head). */
  canonical(number?: number): BlockRef {
    const block = this.#canon[number ?? this.#canon.length - 1];
    if (!block) throw new RangeError(`SharedChain: no canonical block ${number}`);
    return { number: block.number, hash: block.hash };
  }

  /** Closes every proxy and stops every node. */
  async stop(): Promise<void> {
    await Promise.allSettled(Object.values(this.nodes).flatMap((n) => [n.proxy.close(), n.reads?.close(), n.anvil.stop()]));
  }

  #serialized<T>(op: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(op);
    this.#queue = result.catch(() => {});
    return result;
  }

  #node(name: string): NodeState {
    const state = this.#state.get(name);
    if (!state) throw new Error(`SharedChain: no node ${name}`);
    return state;
  }

  #sign(to: Hex | undefined, data: Hex, gas: bigint, nonce: number): Promise<Hex> {
    // Generous fixed fees: the base fee never gets near 100 gwei on these nearly empty blocks.
    return SIGNER.signTransaction({ chainId: this.chainId, type: 'eip1559', nonce, to, data, gas, maxFeePerGas: 100n * 10n ** 9n, maxPriorityFeePerGas: 1n, value: 0n });
  }

  /** A block's transactions: `count` logger calls, then (with ticks) the 1 wei to {@link TICKS}. */
  async #blockTxs(count: number, firstNonce: number, tag: bigint): Promise<Hex[]> {
    const txs: Hex[] = [];
    for (let i = 0; i < count; i++) txs.push(await this.#sign(this.logger, word(tag | ++this.#logSerial), 60_000n, firstNonce + i));
    if (this.#ticks) txs.push(await this.#tick(firstNonce + count));
    return txs;
  }

  #tick(nonce: number): Promise<Hex> {
    return SIGNER.signTransaction({ chainId: this.chainId, type: 'eip1559', nonce, to: TICKS, value: 1n, gas: 21_000n, maxFeePerGas: 100n * 10n ** 9n, maxPriorityFeePerGas: 1n });
  }

  /** Rolls `name` back to block `to` (its head goes down: recorded like a block mined). */
  async #rollback(name: string, to: number): Promise<void> {
    const state = this.#node(name);
    const from = Date.now();
    await rpc(this.nodes[name]!.anvil.httpUrl, 'anvil_rollback', [state.head - to]);
    state.head = to;
    this.headChanges.push({ node: name, head: to, from, to: Date.now() });
  }

  async #mineCanonical(txs: Hex[]): Promise<BlockRef> {
    const inSync = [...this.#state].filter(([, s]) => !s.lagging && !s.forked).map(([name]) => name);
    if (inSync.length === 0) throw new Error('SharedChain.mine: no node is in sync');
    const number = this.#canon.length;
    const timestamp = this.genesisTimestamp + number * BLOCK_SECONDS;
    const hashes = await Promise.all(inSync.map((name) => this.#mineOn(name, txs, timestamp)));
    if (new Set(hashes).size !== 1) throw new Error(`SharedChain.mine: block ${number} differs between ${inSync.join(', ')}`);
    this.#canon.push({ number, hash: hashes[0]!, timestamp, txs });
    for (const name of inSync) this.#node(name).ancestor = number;
    return { number, hash: hashes[0]! };
  }

  /** Replays canonical blocks on `name` from its head up to `to`, checking every hash. */
  async #replay(name: string, to: number): Promise<void> {
    const state = this.#node(name);
    for (let n = state.head + 1; n <= to; n++) {
      const block = this.#canon[n]!;
      const hash = await this.#mineOn(name, block.txs, block.timestamp);
      if (hash !== block.hash) throw new Error(`SharedChain: replayed block ${n} on ${name} has hash ${hash}, canonical ${block.hash}`);
      state.ancestor = n;
    }
    if (state.head === this.#canon.length - 1) state.lagging = false;
  }

  /** Mines one block on `name` with exactly these txs and this timestamp; returns its hash. */
  async #mineOn(name: string, txs: Hex[], timestamp: number): Promise<string> {
    const state = this.#node(name);
    const from = Date.now();
    const hash = await mineBlock(this.nodes[name]!.anvil.httpUrl, state.head, txs, timestamp);
    state.head += 1;
    this.headChanges.push({ node: name, head: state.head, from, to: Date.now() });
    return hash;
  }
}
