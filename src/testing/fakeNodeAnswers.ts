import type { JsonRpcRequest, JsonRpcResponse } from '../jsonrpc.js';
import { RpcErrorCode, errorResponse } from '../jsonrpc.js';
import type { Branch, FakeBlockHeader, FakeChain, FakeLog } from './FakeChain.js';
import { fakeBlockHash } from './FakeChain.js';
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
  address?: string;
  blockHash?: string;
}

/** Answers one JSON-RPC call from the node's current state (see {@link FakeNode.answer}). */
export function answerCall(node: FakeNode, state: FakeNodeState, request: JsonRpcRequest): JsonRpcResponse {
  const id = request.id ?? null;
  node.calls.set(request.method, (node.calls.get(request.method) ?? 0) + 1);
  if (node.mode === 'rpc-error') return errorResponse(id, RpcErrorCode.INTERNAL_ERROR, `${node.name}: internal error`);
  const params = Array.isArray(request.params) ? request.params : [];
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
      return getLogs(node, state, id, (params[0] ?? {}) as LogFilter);
    case 'eth_getBlockByNumber': {
      const tag = params[0];
      const readable = state.head - node.readLagBlocks;
      const number = tag === 'latest' || tag === 'pending' || tag === undefined ? readable : tag === 'earliest' ? (state.chain?.genesis ?? 0) : Number(tag);
      if (!Number.isInteger(number) || number > readable || number < (state.chain?.genesis ?? 0)) return { jsonrpc: '2.0', id, result: null };
      return { jsonrpc: '2.0', id, result: node.block(number) };
    }
    case 'eth_feeHistory': {
      // As geth answers it: `pending` is the block after the head (with a base fee a block more).
      const count = Number(params[0]);
      const tag = params[1];
      const newest = tag === 'pending' ? state.head + 1 : tag === 'latest' || tag === undefined ? state.head : Number(tag);
      if (!Number.isInteger(count) || count < 1 || !Number.isInteger(newest) || newest > state.head + 1) {
        return errorResponse(id, RpcErrorCode.INVALID_PARAMS, `${node.name}: bad eth_feeHistory range`);
      }
      const oldest = Math.max(state.chain?.genesis ?? 0, newest - count + 1);
      const blocks = newest - oldest + 1;
      return {
        jsonrpc: '2.0',
        id,
        result: { oldestBlock: hex(oldest), baseFeePerGas: Array.from({ length: blocks + 1 }, () => '0x3b9aca00'), gasUsedRatio: Array.from({ length: blocks }, () => 0.5) },
      };
    }
    case 'eth_getBlockByHash': {
      const number = numberOf(state, params[0]);
      return { jsonrpc: '2.0', id, result: number === undefined || number > state.head - node.readLagBlocks ? null : node.block(number) };
    }
    default:
      return errorResponse(id, RpcErrorCode.METHOD_NOT_FOUND, `the method ${request.method} does not exist/is not available`);
  }
}

/**
 * The header the node's chain has at `number`, as `eth_getBlockByNumber` and `newHeads` give it
 * (on a chain: its branch's block, which must exist).
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

/** `eth_getLogs` over the node's chain up to its head: a range (clamped to it) or one block by hash. */
function getLogs(node: FakeNode, state: FakeNodeState, id: JsonRpcResponse['id'], filter: LogFilter): JsonRpcResponse {
  const matches = (log: FakeLog) => filter.address === undefined || filter.address === log.address;
  if (filter.blockHash !== undefined) {
    const number = numberOf(state, filter.blockHash);
    if (number === undefined) return errorResponse(id, -32000, 'unknown block');
    return { jsonrpc: '2.0', id, result: node.logs.filter((log) => Number(log.blockNumber) === number && matches(log)) };
  }
  const genesis = state.chain?.genesis ?? 0;
  const at = (tag: string | undefined, fallback: number) => (tag === undefined ? fallback : tag === 'latest' || tag === 'pending' ? state.head : tag === 'earliest' ? genesis : Number(tag));
  const from = at(filter.fromBlock, genesis);
  const to = at(filter.toBlock, state.head);
  if (state.branch) {
    const result: FakeLog[] = [];
    for (let n = Math.max(from, genesis); n <= Math.min(to, state.head); n++) {
      for (const log of state.branch.at(n)?.logs ?? []) if (matches(log)) result.push({ ...log });
    }
    return { jsonrpc: '2.0', id, result };
  }
  const result = state.ownLogs.filter((l) => {
    const n = Number(l.blockNumber);
    return n >= from && n <= to && matches(l);
  });
  return { jsonrpc: '2.0', id, result };
}
