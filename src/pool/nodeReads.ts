import { hashKey } from '../consistency/quantity.js';
import { SteadyRpcError } from '../errors.js';
import { parseQuantity } from '../health/probes.js';
import type { JsonRpcRequest } from '../jsonrpc.js';
import type { NodeAttempts } from './NodeAttempts.js';
import type { PassiveHealth } from './PassiveHealth.js';

// What the pool's view gate asks a node itself, over HTTP: attempts like any other, so not while
// the node cools down after a rate limit or its circuit is open, and their outcome counts for or
// against the node.

/** The head read, as sent. */
const HEAD_REQUEST = '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}';

/** The node's head now (for an answer that is only right if the node has got far enough). */
export async function readHead(passive: PassiveHealth, attempts: NodeAttempts, node: string, signal: AbortSignal | undefined): Promise<number> {
  if (!passive.admit(node)) throw new SteadyRpcError('ERR_UPSTREAM_UNAVAILABLE', `Node "${node}": ${passive.why(node)}`);
  const request: JsonRpcRequest = { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] };
  const outcome = await attempts.attempt(node, request, HEAD_REQUEST, signal);
  if (outcome.kind === 'failed') throw outcome.error;
  return parseQuantity((outcome.answer.response as { result?: unknown }).result, 'eth_blockNumber');
}

/**
 * `node`'s block at height `n`: its hash's hashKey, or `null` when the node answers it has none;
 * throws when that is not known (the node failed, or answered an error or something else).
 */
export async function readBlockAt(passive: PassiveHealth, attempts: NodeAttempts, node: string, n: number, signal: AbortSignal | undefined): Promise<number | null> {
  if (!passive.admit(node)) throw new SteadyRpcError('ERR_UPSTREAM_UNAVAILABLE', `Node "${node}": ${passive.why(node)}`);
  const request: JsonRpcRequest = { jsonrpc: '2.0', id: 1, method: 'eth_getBlockByNumber', params: [`0x${n.toString(16)}`, false] };
  const outcome = await attempts.attempt(node, request, JSON.stringify(request), signal);
  if (outcome.kind !== 'answer') throw outcome.kind === 'failed' ? outcome.error : new SteadyRpcError('ERR_BAD_RESPONSE', `Node "${node}": no block ${n}`);
  const response = outcome.answer.response as { result?: { hash?: unknown } | null };
  if (response.result === null) return null;
  const key = hashKey(response.result?.hash);
  if (key === undefined) throw new SteadyRpcError('ERR_BAD_RESPONSE', `Node "${node}": no block ${n}`);
  return key;
}
