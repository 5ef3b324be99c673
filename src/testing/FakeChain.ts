import { SteadyRpcError } from '../errors.js';
import type { FakeNode } from './FakeNode.js';

/** A block header as `newHeads` gives it (`eth_getBlockByNumber` adds a base fee and the transactions). */
export interface FakeBlockHeader {
  readonly number: string;
  readonly hash: string;
  readonly parentHash: string;
  readonly timestamp: string;
}

/**
 * A log as `eth_getLogs` and `logs` subscriptions give it. Each log is the only one of a
 * transaction of its own (`transactionIndex` is its `logIndex`), which
 * `eth_getTransactionReceipt` and `eth_getTransactionByHash` answer for.
 */
export interface FakeLog {
  readonly address: string;
  readonly topics: readonly string[];
  readonly data: string;
  readonly blockNumber: string;
  readonly blockHash: string;
  readonly transactionHash: string;
  readonly transactionIndex: string;
  readonly logIndex: string;
  readonly removed: boolean;
}

const hex = (n: number | bigint) => `0x${n.toString(16)}`;

/** A deterministic block hash for a block number on a given fake chain "fork". */
export const fakeBlockHash = (number: number, fork = 0) =>
  `0x${fork.toString(16).padStart(8, '0')}${number.toString(16).padStart(56, '0')}`;

const ZERO_HASH = `0x${'0'.repeat(64)}`;

/**
 * A deterministic transaction hash: the `index`th transaction (of the first 255) of the block with
 * `blockHash` (a {@link fakeBlockHash}), unique on every branch, and apart from every block hash
 * and every other transaction hash already in its first 8 and last 5 hex digits (what steadyrpc
 * compares hashes by: `hashDigest`).
 */
export const fakeTransactionHash = (blockHash: string, index: number) => `0x${((index % 255) + 1).toString(16).padStart(2, '0')}${blockHash.slice(4, 10)}${blockHash.slice(10)}`;

/** The `index`th log of a block (frozen), in a transaction of its own. */
export function fakeLog(block: { readonly number: string; readonly hash: string }, index: number, address: string, data: string): FakeLog {
  return Object.freeze({
    address,
    topics: Object.freeze([]),
    data,
    blockNumber: block.number,
    blockHash: block.hash,
    transactionHash: fakeTransactionHash(block.hash, index),
    transactionIndex: hex(index),
    logIndex: hex(index),
    removed: false,
  });
}

export interface ChainBlock {
  readonly number: number;
  readonly header: FakeBlockHeader;
  /** Logs emitted in it, in order. */
  readonly logs: FakeLog[];
}

/** One branch of a chain tree: its own blocks above `base`, and its parent's at and below it. */
export class Branch {
  readonly own: ChainBlock[] = [];

  constructor(
    /** The fork field of its blocks' hashes (see {@link fakeBlockHash}). */
    readonly fork: number,
    readonly parent: Branch | undefined,
    readonly base: number,
  ) {}

  get tip(): number {
    return this.base + this.own.length;
  }

  /** The block at `number` on the path from the first block up to this branch's tip. */
  at(number: number): ChainBlock | undefined {
    let branch: Branch | undefined = this;
    while (branch !== undefined && number <= branch.base) branch = branch.parent;
    return branch?.own[number - branch.base - 1];
  }
}

/** What FakeNode reads of a chain; kept off its public API. */
export const TREE = Symbol('FakeChain tree');

export interface Tree {
  readonly root: Branch;
  readonly nodes: Set<FakeNode>;
  /** A new branch leaving `parent`'s path above `base`. */
  branch(parent: Branch, base: number): Branch;
  /** Mines a block on top of `branch`'s tip. */
  extend(branch: Branch): ChainBlock;
}

export interface FakeChainOptions {
  /** Number of the first block every branch shares. @default 0 */
  genesis?: number;
  /** Kept in the top bits of each hash's fork field, so the blocks of two chains never share a hash (0–65535). @default 0 */
  id?: number;
}

/**
 * The block tree of one fake network. FakeNodes given the same chain share its history (the same
 * block has the same hash on every node) and each sits at some height on one branch: a node mining
 * at its branch's tip adds a block, a node behind it follows the blocks already there, a node that
 * forks starts a branch of its own (`FakeNode.forkAt`), and can come back (`FakeNode.follow`).
 * Logs belong to the block they were emitted in.
 */
export class FakeChain {
  readonly id: number;
  /** Number of the first block. */
  readonly genesis: number;
  readonly #byHash = new Map<string, ChainBlock>();
  #branches = 0;
  #height = -1;
  /** @internal */
  readonly [TREE]: Tree;

  constructor(options: FakeChainOptions = {}) {
    const { genesis = 0, id = 0 } = options;
    if (!Number.isSafeInteger(genesis) || genesis < 0) throw new SteadyRpcError('ERR_CONFIG', `FakeChain: expected genesis to be an integer >= 0, got ${genesis}`);
    if (!Number.isInteger(id) || id < 0 || id > 0xffff) throw new SteadyRpcError('ERR_CONFIG', `FakeChain: expected id to be an integer in 0..65535, got ${id}`);
    this.id = id;
    this.genesis = genesis;
    const tree: Tree = {
      root: this.#newBranch(undefined, genesis - 1),
      nodes: new Set(),
      branch: (parent, base) => this.#newBranch(parent, base),
      extend: (branch) => this.#extend(branch),
    };
    this[TREE] = tree;
    this.#extend(tree.root);
  }

  /** How many branches the tree has: 1 until a node forks. */
  get branches(): number {
    return this.#branches;
  }

  /** The highest block number on any branch. */
  get height(): number {
    return this.#height;
  }

  /** The header of the block with `hash`, on any branch. */
  block(hash: string): FakeBlockHeader | undefined {
    return this.#byHash.get(hash)?.header;
  }

  /** The logs emitted in the block with `hash` (none for a block the chain does not have). */
  logsOf(hash: string): readonly FakeLog[] {
    return this.#byHash.get(hash)?.logs ?? [];
  }

  #newBranch(parent: Branch | undefined, base: number): Branch {
    return new Branch(this.id * 0x10000 + this.#branches++, parent, base);
  }

  #extend(branch: Branch): ChainBlock {
    const number = branch.tip + 1;
    const hash = fakeBlockHash(number, branch.fork);
    const parentHash = number === this.genesis ? (number === 0 ? ZERO_HASH : fakeBlockHash(number - 1, branch.fork)) : branch.at(number - 1)!.header.hash;
    const block: ChainBlock = { number, header: Object.freeze({ number: hex(number), hash, parentHash, timestamp: hex(number * 12) }), logs: [] };
    branch.own.push(block);
    this.#byHash.set(hash, block);
    this.#height = Math.max(this.#height, number);
    return block;
  }
}
