// FakeNode answers for the reads FakeNode does not serve, modelled on one geth node at the
// FakeNode's head (one transaction per block, hash `txHash(n)`): for the view's edge-case tests.
import type { JsonRpcRequest, JsonRpcResponse } from '../../src/jsonrpc.js';
import { fakeBlockHash } from '../../src/testing/index.js';
import type { FakeNode } from '../../src/testing/index.js';

export const hex = (n: number) => `0x${n.toString(16)}`;
export const txHash = (n: number) => `0x${'e'.repeat(8)}${n.toString(16).padStart(56, '0')}`;
const txNumber = (hash: unknown) => (typeof hash === 'string' && hash.length === 66 && hash.startsWith('0xeeeeeeee') ? Number.parseInt(hash.slice(10), 16) : undefined);

/** geth's BlockNumber parsing: tags, or a 0x/0X hex quantity without leading zeros. */
function blockNumberArg(node: FakeNode, value: unknown): number | 'bad' | undefined {
  if (value === undefined || value === 'latest' || value === 'pending') return node.head - node.readLagBlocks;
  if (value === 'earliest') return 0;
  if (typeof value === 'object' && value !== null) {
    const o = value as { blockHash?: string; blockNumber?: unknown };
    if (typeof o.blockHash === 'string') {
      const n = Number.parseInt(o.blockHash.slice(10), 16);
      return o.blockHash === fakeBlockHash(n, node.fork) && n <= node.head ? n : undefined;
    }
    return blockNumberArg(node, o.blockNumber);
  }
  if (typeof value !== 'string' || !/^0[xX]([1-9a-fA-F][0-9a-fA-F]*|0)$/.test(value)) return 'bad';
  return Number.parseInt(value.slice(2), 16);
}

const receipt = (node: FakeNode, n: number) => ({
  transactionHash: txHash(n),
  transactionIndex: '0x0',
  blockNumber: hex(n),
  blockHash: fakeBlockHash(n, node.fork),
  status: '0x1',
  logs: [],
});
const tx = (node: FakeNode, n: number) => ({ hash: txHash(n), blockNumber: hex(n), blockHash: fakeBlockHash(n, node.fork), transactionIndex: '0x0' });

const knownTxs = new WeakMap<FakeNode, Set<string>>();

/** Answers the extra reads; `undefined` for what FakeNode itself answers. */
export function extraAnswer(node: FakeNode, request: JsonRpcRequest): JsonRpcResponse | undefined {
  const id = request.id ?? null;
  const params = (Array.isArray(request.params) ? request.params : []) as unknown[];
  const readable = node.head - node.readLagBlocks;
  const ok = (result: unknown): JsonRpcResponse => ({ jsonrpc: '2.0', id, result }) as JsonRpcResponse;
  const fail = (code: number, message: string): JsonRpcResponse => ({ jsonrpc: '2.0', id, error: { code, message } }) as JsonRpcResponse;
  const count = () => node.calls.set(request.method, (node.calls.get(request.method) ?? 0) + 1);
  switch (request.method) {
    case 'eth_getBlockByNumber': {
      const n = blockNumberArg(node, params[0]);
      if (n === 'bad') return (count(), fail(-32602, 'invalid argument 0: hex number with leading zero digits'));
      if (params[0] === 'pending') return (count(), ok({ ...node.block(readable), number: hex(readable + 1), hash: null }));
      return undefined;
    }
    case 'eth_getBalance': {
      // The balance is the number of the block whose state answered: old state shows.
      count();
      const n = blockNumberArg(node, params[1]);
      if (n === 'bad') return fail(-32602, 'invalid argument 1');
      if (n === undefined || n > node.head) return fail(-32000, 'header not found');
      return ok(hex(n));
    }
    case 'eth_getBlockReceipts': {
      count();
      const arg = params[0];
      let n: number | 'bad' | undefined;
      if (typeof arg === 'string' && arg.length === 66) {
        const m = Number.parseInt(arg.slice(10), 16);
        n = arg === fakeBlockHash(m, node.fork) ? m : undefined;
      } else n = blockNumberArg(node, arg);
      if (n === 'bad') return fail(-32602, 'invalid argument 0');
      return ok(n === undefined || n > readable ? null : [receipt(node, n)]);
    }
    case 'eth_getTransactionReceipt':
    case 'eth_getTransactionByHash':
    case 'eth_getRawTransactionByHash': {
      count();
      const n = txNumber(params[0]);
      if (n === undefined || n > readable) return ok(null);
      return ok(request.method === 'eth_getTransactionReceipt' ? receipt(node, n) : request.method === 'eth_getRawTransactionByHash' ? '0x02f86c' : tx(node, n));
    }
    case 'eth_getTransactionByBlockNumberAndIndex': {
      count();
      const n = blockNumberArg(node, params[0]);
      if (n === 'bad') return fail(-32602, 'invalid argument 0');
      return ok(n === undefined || n > readable || params[1] !== '0x0' ? null : tx(node, n));
    }
    case 'eth_getTransactionByBlockHashAndIndex': {
      count();
      const h = params[0] as string;
      const n = Number.parseInt(h.slice(10), 16);
      return ok(h === fakeBlockHash(n, node.fork) && n <= readable && params[1] === '0x0' ? tx(node, n) : null);
    }
    case 'eth_feeHistory': {
      count();
      const blocks = Number(params[0]);
      const newest = blockNumberArg(node, params[1]);
      if (newest === 'bad' || newest === undefined) return fail(-32602, 'invalid argument 1');
      if (newest > node.head) return fail(-32000, 'request beyond head block');
      const oldest = newest - blocks + 1;
      return ok({ oldestBlock: hex(oldest), baseFeePerGas: Array.from({ length: blocks + 1 }, () => '0x1'), gasUsedRatio: Array.from({ length: blocks }, () => 0.5) });
    }
    case 'eth_sendRawTransaction': {
      // As geth: a transaction the node already has is refused as known.
      count();
      const raw = String(params[0]);
      const pool = (knownTxs.get(node) ?? knownTxs.set(node, new Set()).get(node))!;
      if (pool.has(raw)) return fail(-32000, 'already known');
      pool.add(raw);
      return ok(txHash(999_999));
    }
    default:
      return undefined;
  }
}

/** Makes `node` answer the extra reads too (on its sockets and over HTTP). */
export function gethish<T extends FakeNode>(node: T): T {
  const own = node.answer.bind(node);
  node.answer = (request: JsonRpcRequest) => extraAnswer(node, request) ?? own(request);
  return node;
}
