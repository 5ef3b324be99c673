import type { JsonRpcErrorObject } from '../jsonrpc.js';
import { MAX_NAMED_WAIT_MS, namedWaitMs } from './RateLimitCooldown.js';

/**
 * What a node's JSON-RPC error means for the request it answers:
 * - `answer`: the request's own answer (a revert, invalid params, nonce too low …), returned as is;
 * - `retry`: this node cannot serve the request (it lacks the block, the state or the method), so a
 *   read safe to repeat is asked of the next node;
 * - `rate-limited`: this node refuses traffic for now: it is cooled down, and a read safe to repeat
 *   is asked of the next node.
 *
 * A request that is not safe to repeat never goes to another node, whatever the verdict.
 */
export type NodeErrorVerdict = 'answer' | 'retry' | 'rate-limited';

/**
 * Judges a JSON-RPC error a node answered `method` with. Extend the default rather than replace it:
 * `(error, method) => (mine(error) ? 'retry' : classifyNodeError(error, method))`. A classifier that
 * throws or returns anything else counts as `answer`.
 */
export type NodeErrorClassifier = (error: JsonRpcErrorObject, method: string) => NodeErrorVerdict;

/**
 * A revert is the call's own answer whatever its reason says: the reason is the contract's text,
 * and a contract reverting with "header not found" must not be asked of every node. Code 3 (geth,
 * reth, anvil: "execution reverted: …"), Besu's -32000 "Execution reverted", Hardhat's "VM
 * Exception while processing transaction: revert".
 */
const REVERT = /revert/i;

/**
 * Rate limits, as providers word them:
 * - Infura, -32005 with HTTP 429: "daily request count exceeded, request rate limited", "project ID
 *   request rate exceeded" (docs.infura.io/api/networks/ethereum/how-to/avoid-rate-limiting);
 * - Alchemy over WebSocket, code 429: "Your app has exceeded its compute units per second capacity…"
 *   (alchemy.com/docs/reference/throughput);
 * - QuickNode, code 429: "The requests per second (RPS) of your requests are higher than your plan
 *   allows." (quicknode.com/docs/ethereum/error-references), and "credits limited to X/sec"
 *   (support.quicknode.com/hc/en-us/articles/20633265909521);
 * - TheRPC -32029 and MegaETH -32005: "Rate limit exceeded" (therpc.io/docs/ethereum/rate-limits);
 * - the phrases eRPC's normaliser reads as capacity exceeded ("requests limited to", "Too many
 *   requests", "under too much load", "Exceeded the quota", "reached the quota": erpc/erpc
 *   architecture/evm/error_normalizer.go), and 1RPC's "You've reached the usage limit for your
 *   current plan" (docs.1rpc.io/using-the-web3-api/errors).
 * Ankr and Chainstack say it with HTTP 429 (status, not a JSON-RPC error): see RateLimitCooldown.
 * -32005 alone is not one: Besu sends it for "Transaction gas limit exceeds block gas limit" and
 * "Requested range exceeds maximum RPC range limit", both answers.
 */
const RATE_LIMIT =
  /rate[ -]?limit|too many requests|request (rate|count) exceeded|(credits|requests) limited to|higher than your plan allows|under too much load|(exceeded|reached) (its|the|your)? ?(compute units per second capacity|capacity|quota|usage limit)/i;
const RATE_LIMIT_CODES: ReadonlySet<number> = new Set([429, -32029]);

/**
 * "This node cannot serve it", as the clients word it:
 * - geth: "header not found" (eth/api_backend.go), "request beyond head block" (eth_feeHistory,
 *   eth/gasprice), "missing trie node …" (trie MissingNodeError),
 *   "historical state … is not available" (path scheme), "pruned history unavailable" (code 4444,
 *   core/history PrunedHistoryError), "transaction indexing is in progress", "unknown block",
 *   "block range extends beyond current head block" (-32602, eth_getLogs past its head: the
 *   execution-apis test its answers make);
 * - reth: "block not found: …" (-32001), "pruned history unavailable" (4444), "state at block #N is
 *   pruned" (ProviderError::StateAtBlockPruned), "block range extends beyond current head block:
 *   requested …, head …";
 * - erigon: "old data not available due to pruning" (state PrunedError), "requested block range
 *   […] is beyond latest executed block N (node is still syncing)";
 * - Nethermind: "No state available for block …" (-32002), "… could not be found" (-32001), "The
 *   method 'x' is not supported." (-32601), "The method 'x' is found but the namespace 'y' is
 *   disabled …" (-32600);
 * - Besu: "World state unavailable", "Block not found", "Unknown block" (-39001), "Method not
 *   enabled" (-32604), "Initial sync is still in progress" (-32008);
 * - anvil: "BlockOutOfRangeError: block height is N but requested was M" (-32602), "Resource not
 *   found" (-32001), "Required data unavailable", "Not implemented" (-32603).
 */
const NOT_THIS_NODE =
  /header not found|request beyond head block|block range extends beyond current head block|beyond latest executed block|missing trie node|historical state .*(not available|unavailable)|pruned history unavailable|is pruned|due to pruning|no state available|world state unavailable|unknown block|block not found|transaction indexing is in progress|initial sync is still in progress|blockoutofrange|required data unavailable|does not exist\/is not available|method not (found|enabled|supported|available)|unsupported method|namespace .* is disabled|^not implemented/i;

/**
 * Codes that say the same whatever the text: method not found (-32601) or not enabled (Besu
 * -32604), resource not found (-32001) or unavailable (-32002) in EIP-1474's numbering, pruned
 * history (4444, EIP-4444 as geth, reth and Nethermind send it), Besu's unknown block (-39001).
 */
const NOT_THIS_NODE_CODES: ReadonlySet<number> = new Set([-32601, -32604, -32001, -32002, 4444, -39001]);

/**
 * Infura's suggested wait, in ms: `data.backoff_seconds` (or `data.rate.backoff_seconds`), a finite
 * number of seconds >= 0; a wait longer than {@link MAX_NAMED_WAIT_MS} (1e306 s …) is that.
 */
export function suggestedBackoffMs(error: JsonRpcErrorObject): number | undefined {
  const data = error.data as { backoff_seconds?: unknown; rate?: { backoff_seconds?: unknown } } | undefined;
  if (typeof data !== 'object' || data === null) return undefined;
  const seconds = data.backoff_seconds ?? data.rate?.backoff_seconds;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? namedWaitMs(seconds * 1_000) : undefined;
}

/**
 * The default {@link NodeErrorClassifier}: reverts are answers; rate-limit codes and phrases (and
 * an Infura `backoff_seconds`) are `rate-limited`; the phrases and codes geth, reth, erigon,
 * Nethermind, Besu and anvil use for a block, state or method they do not have are `retry`;
 * everything else (invalid params, nonce too low, internal error …) is an `answer`.
 */
export const classifyNodeError: NodeErrorClassifier = (error) => {
  const message = typeof error.message === 'string' ? error.message : '';
  if (error.code === 3 || REVERT.test(message)) return 'answer';
  if (RATE_LIMIT_CODES.has(error.code) || RATE_LIMIT.test(message) || suggestedBackoffMs(error) !== undefined) return 'rate-limited';
  if (NOT_THIS_NODE.test(message) || NOT_THIS_NODE_CODES.has(error.code)) return 'retry';
  return 'answer';
};

/** `classify`'s verdict, with anything but a known verdict (or a throw) read as `answer`. */
export function verdictOf(classify: NodeErrorClassifier, error: JsonRpcErrorObject, method: string): NodeErrorVerdict {
  try {
    const verdict = classify(error, method);
    return verdict === 'retry' || verdict === 'rate-limited' ? verdict : 'answer';
  } catch {
    return 'answer';
  }
}
