import type { JsonRpcRequest, JsonRpcResponse } from '../jsonrpc.js';
import { RpcErrorCode, errorResponse } from '../jsonrpc.js';
import type { Branch, FakeBlockHeader, FakeChain, FakeLog } from './FakeChain.js';
import { fakeBlockHash } from './FakeChain.js';
import { logMatches } from './fakeLogFilter.js';
import type { FakeNode } from './FakeNode.js';

export const hex = (n: number | bigint) => `0x${n.toString(16)}`;

/** Where a node is, as its answers read it (the node's private state, passed in). */
export interface FakeNodeState {
  /** The shared chain, and where on it the node is: its branch and its head's height there. */
  readonly chain: FakeChain | undefined;
  readonly branch: Branch | undefined;
  readonly head: number;
  /** Without a chain: bumped by `reorg()`, so block hashes differ from before. */
  readonly fork: number;
  /** Without a chain: logs emitted with `emitLog`. */
  readonly ownLogs: readonly FakeLog[];
}

interface LogFilter {
  fromBlock?: string;
  toBlock?: string;
  address?: string | string[];
  topics?: Array<string | string[] | null>;
  blockHash?: string;
}

/** A base fee for every block (1 gwei): the fake has no fee market. */
const BASE_FEE = '0x3b9aca00';
const ZERO_ADDRESS = `0x${'0'.repeat(40)}`;
/** Blocks below the head of the `safe` and the `finalized` block, as anvil counts them (32-slot epochs). */
const SAFE_DEPTH = 32;
const FINALIZED_DEPTH = 64;
const HASH = /^0x[0-9a-fA-F]{64}$/;
const QUANTITY = /^0[xX][0-9a-fA-F]{1,16}$/;
const BLOCK_TAGS: ReadonlySet<unknown> = new Set(['latest', 'pending', 'earliest', 'safe', 'finalized']);

/** A block number or tag as geth reads one: a tag, a hex quantity (or, like anvil, a JSON number). */
const isBlockTag = (tag: unknown): boolean => BLOCK_TAGS.has(tag) || (typeof tag === 'string' && QUANTITY.test(tag)) || (typeof tag === 'number' && Number.isSafeInteger(tag) && tag >= 0);

/** geth's words for a param it cannot read: `invalid argument <index>: …`. */
const invalidParams = (id: JsonRpcResponse['id'], index: number, message: string) => errorResponse(id, RpcErrorCode.INVALID_PARAMS, `invalid argument ${index}: ${message}`);

/** The reads {@link FakeNode.failReads} fails. */
const CHAIN_READS = new Set(['eth_blockNumber', 'eth_getBlockByNumber', 'eth_getBlockByHash', 'eth_getLogs']);

/** Answers one JSON-RPC call from the node's current state (see {@link FakeNode.answer}). */
export function answerCall(node: FakeNode, state: FakeNodeState, request: JsonRpcRequest): JsonRpcResponse {
  const id = request.id ?? null;
  node.calls.set(request.method, (node.calls.get(request.method) ?? 0) + 1);
  if (node.mode === 'rpc-error' || (node.failReads && CHAIN_READS.has(request.method))) return errorResponse(id, RpcErrorCode.INTERNAL_ERROR, `${node.name}: internal error`);
  const params = Array.isArray(request.params) ? request.params : [];
  const genesis = state.chain?.genesis ?? 0;
  /** What block lookups see: the head, less `readLagBlocks` (a backend that lags has genesis all the same). */
  const readable = Math.max(genesis, state.head - node.readLagBlocks);
  switch (request.method) {
    case 'eth_blockNumber':
      return { jsonrpc: '2.0', id, result: hex(node.head) };
    case 'eth_chainId':
      return { jsonrpc: '2.0', id, result: hex(node.chainId) };
    case 'net_version':
      return { jsonrpc: '2.0', id, result: String(node.chainId) };
    case 'web3_clientVersion':
      return { jsonrpc: '2.0', id, result: `FakeNode/${node.name}` };
    case 'eth_getBalance':
      return { jsonrpc: '2.0', id, result: hex(node.balance) };
    case 'eth_getLogs':
      if (typeof params[0] !== 'object' || params[0] === null || Array.isArray(params[0])) return invalidParams(id, 0, 'expected a filter object');
      return getLogs(node, state, id, params[0] as LogFilter);
    case 'eth_getBlockByNumber': {
      const [tag, full] = params;
      if (!isBlockTag(tag)) return invalidParams(id, 0, `expected a block number or tag, got ${JSON.stringify(tag)}`);
      if (typeof full !== 'boolean') return invalidParams(id, 1, 'expected the full-transactions flag, a boolean');
      // As geth: the block after the head, which has no hash yet.
      if (tag === 'pending') return { jsonrpc: '2.0', id, result: readable < genesis ? null : pendingBlock(node, state, readable) };
      const number =
        tag === 'latest' ? readable : tag === 'earliest' ? genesis : tag === 'safe' ? Math.max(genesis, readable - SAFE_DEPTH) : tag === 'finalized' ? Math.max(genesis, readable - FINALIZED_DEPTH) : Number(tag);
      if (number > readable || number < genesis) return { jsonrpc: '2.0', id, result: null };
      return { jsonrpc: '2.0', id, result: blockAnswer(node, state, number, full) };
    }
    case 'eth_getBlockByHash': {
      if (typeof params[0] !== 'string' || !HASH.test(params[0])) return invalidParams(id, 0, 'expected a 32-byte hash');
      if (typeof params[1] !== 'boolean') return invalidParams(id, 1, 'expected the full-transactions flag, a boolean');
      const number = numberOf(state, params[0]);
      return { jsonrpc: '2.0', id, result: number === undefined || number > readable ? null : blockAnswer(node, state, number, params[1]) };
    }
    case 'eth_getTransactionReceipt':
    case 'eth_getTransactionByHash': {
      if (typeof params[0] !== 'string' || !HASH.test(params[0])) return invalidParams(id, 0, 'expected a 32-byte hash');
      const log = transactionLog(node, state, params[0], readable);
      if (log === undefined) return { jsonrpc: '2.0', id, result: null };
      return { jsonrpc: '2.0', id, result: request.method === 'eth_getTransactionReceipt' ? receipt(log) : transaction(log) };
    }
    case 'eth_feeHistory': {
      // As geth answers it: `pending` is the block after the head (with a base fee a block more).
      const count = Number(params[0]);
      const tag = params[1];
      const newest = tag === 'pending' ? state.head + 1 : tag === 'latest' || tag === undefined ? state.head : Number(tag);
      if (!Number.isInteger(count) || count < 0 || !Number.isInteger(newest)) return invalidParams(id, 0, 'bad eth_feeHistory range');
      // geth's words, which steadyrpc reads as "ask a node that has it" (only `pending` reaches past the head).
      if (newest > (tag === 'pending' ? state.head + 1 : state.head)) return errorResponse(id, -32000, `request beyond head block: requested ${newest}, head ${state.head}`);
      if (count === 0) return { jsonrpc: '2.0', id, result: { oldestBlock: '0x0', gasUsedRatio: null } };
      const oldest = Math.max(genesis, newest - count + 1);
      const blocks = newest - oldest + 1;
      return {
        jsonrpc: '2.0',
        id,
        result: { oldestBlock: hex(oldest), baseFeePerGas: Array.from({ length: blocks + 1 }, () => BASE_FEE), gasUsedRatio: Array.from({ length: blocks }, () => 0.5) },
      };
    }
    default:
      return errorResponse(id, RpcErrorCode.METHOD_NOT_FOUND, `the method ${request.method} does not exist/is not available`);
  }
}

/**
 * A block as `eth_getBlockByNumber` and `eth_getBlockByHash` give it: its header (what `newHeads`
 * gives, as geth sends it), a base fee, and its transactions (hashes, or objects when `full`).
 */
function blockAnswer(node: FakeNode, state: FakeNodeState, number: number, full: boolean): object {
  const header = blockHeader(node.name, state, number);
  const logs = logsOfBlock(node, state, number);
  return { ...header, baseFeePerGas: BASE_FEE, transactions: logs.map((log) => (full ? transaction(log) : log.transactionHash)) };
}

/** The block after `readable`, as geth gives `pending`: no hash yet, no transactions here. */
function pendingBlock(node: FakeNode, state: FakeNodeState, readable: number): object {
  const parent = blockHeader(node.name, state, readable);
  return { number: hex(readable + 1), hash: null, parentHash: parent.hash, timestamp: hex((readable + 1) * 12), baseFeePerGas: BASE_FEE, transactions: [] };
}

function logsOfBlock(node: FakeNode, state: FakeNodeState, number: number): readonly FakeLog[] {
  if (state.branch) return state.branch.at(number)?.logs ?? [];
  return state.ownLogs.filter((log) => Number(log.blockNumber) === number && onChain(state, log));
}

/** Without a chain: whether a log emitted with `emitLog` is of the node's chain now (`reorg()` replaces every block). */
const onChain = (state: FakeNodeState, log: FakeLog) => state.branch !== undefined || log.blockHash === fakeBlockHash(Number(log.blockNumber), state.fork);

/** The log of the transaction `hash` in a block the node has, at or below `readable`. */
function transactionLog(node: FakeNode, state: FakeNodeState, hash: string, readable: number): FakeLog | undefined {
  const wanted = hash.toLowerCase();
  return node.logs.find((log) => log.transactionHash === wanted && Number(log.blockNumber) <= readable && onChain(state, log));
}

function transaction(log: FakeLog): object {
  return {
    hash: log.transactionHash,
    blockHash: log.blockHash,
    blockNumber: log.blockNumber,
    transactionIndex: log.transactionIndex,
    from: ZERO_ADDRESS,
    to: log.address,
    input: log.data,
    value: '0x0',
    gas: '0x5208',
    type: '0x2',
  };
}

function receipt(log: FakeLog): object {
  return {
    transactionHash: log.transactionHash,
    transactionIndex: log.transactionIndex,
    blockHash: log.blockHash,
    blockNumber: log.blockNumber,
    from: ZERO_ADDRESS,
    to: log.address,
    cumulativeGasUsed: hex(21_000 * (Number(log.transactionIndex) + 1)),
    gasUsed: '0x5208',
    effectiveGasPrice: BASE_FEE,
    contractAddress: null,
    logs: [{ ...log }],
    status: '0x1',
    type: '0x2',
  };
}

/**
 * The header the node's chain has at `number`, as `newHeads` gives it (`eth_getBlockByNumber`
 * adds a base fee and the block's transactions); on a chain: its branch's block, which must exist.
 */
export function blockHeader(name: string, state: FakeNodeState, number: number): FakeBlockHeader {
  if (state.branch) {
    const block = state.branch.at(number);
    if (!block) throw new RangeError(`FakeNode ${name}: no block ${number} on its branch (tip ${state.branch.tip})`);
    return { ...block.header };
  }
  return {
    number: hex(number),
    hash: fakeBlockHash(number, state.fork),
    parentHash: fakeBlockHash(Math.max(0, number - 1), state.fork),
    timestamp: hex(number * 12),
  };
}

/** The number of the block with `hash` if the node has it (on its chain, at or below its head). */
function numberOf(state: FakeNodeState, hash: unknown): number | undefined {
  if (typeof hash !== 'string') return undefined;
  if (!state.branch) {
    const number = Number.parseInt(hash.slice(10), 16);
    return hash.length === 66 && Number.isSafeInteger(number) && number <= state.head && hash === fakeBlockHash(number, state.fork) ? number : undefined;
  }
  const header = state.chain!.block(hash);
  if (!header) return undefined;
  const number = Number(header.number);
  return number <= state.head && state.branch.at(number)?.header === header ? number : undefined;
}

/**
 * `eth_getLogs` over the node's chain up to its head, as geth and anvil answer it: a range (from
 * `latest` when `fromBlock` is left out; `toBlock` clamped to the head, as anvil does; a
 * `fromBlock` above the head is geth's error) or one block by hash.
 */
function getLogs(node: FakeNode, state: FakeNodeState, id: JsonRpcResponse['id'], filter: LogFilter): JsonRpcResponse {
  const matches = (log: FakeLog) => logMatches(filter, log);
  if (filter.blockHash !== undefined) {
    if (filter.fromBlock !== undefined || filter.toBlock !== undefined) return invalidParams(id, 0, 'cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other');
    const number = numberOf(state, filter.blockHash);
    if (number === undefined) return errorResponse(id, -32000, 'unknown block');
    return { jsonrpc: '2.0', id, result: node.logs.filter((log) => Number(log.blockNumber) === number && matches(log) && onChain(state, log)) };
  }
  for (const tag of [filter.fromBlock, filter.toBlock]) if (tag !== undefined && !isBlockTag(tag)) return invalidParams(id, 0, `expected a block number or tag, got ${JSON.stringify(tag)}`);
  const genesis = state.chain?.genesis ?? 0;
  const at = (tag: string | undefined) =>
    tag === undefined || tag === 'latest' || tag === 'pending'
      ? state.head
      : tag === 'earliest'
        ? genesis
        : tag === 'safe'
          ? Math.max(genesis, state.head - SAFE_DEPTH)
          : tag === 'finalized'
            ? Math.max(genesis, state.head - FINALIZED_DEPTH)
            : Number(tag);
  const from = at(filter.fromBlock);
  const to = at(filter.toBlock);
  if (from > state.head) return errorResponse(id, RpcErrorCode.INVALID_PARAMS, 'block range extends beyond current head block');
  if (state.branch) {
    const result: FakeLog[] = [];
    for (let n = Math.max(from, genesis); n <= Math.min(to, state.head); n++) {
      for (const log of state.branch.at(n)?.logs ?? []) if (matches(log)) result.push({ ...log });
    }
    return { jsonrpc: '2.0', id, result };
  }
  const result = state.ownLogs.filter((l) => {
    const n = Number(l.blockNumber);
    return n >= from && n <= to && matches(l) && onChain(state, l);
  });
  return { jsonrpc: '2.0', id, result };
}
