import { describe, expect, it } from 'vitest';
import type { JsonRpcErrorObject } from '../../src/jsonrpc.js';
import { classifyNodeError, type NodeErrorVerdict } from '../../src/pool/nodeErrors.js';

type Case = readonly [code: number, message: string, method?: string, data?: unknown];

function expectAll(cases: readonly Case[], verdict: NodeErrorVerdict): void {
  for (const [code, message, method = 'eth_call', data] of cases) {
    const error: JsonRpcErrorObject = data === undefined ? { code, message } : { code, message, data };
    expect({ code, message, verdict: classifyNodeError(error, method) }).toEqual({ code, message, verdict });
  }
}

// The texts are the clients' own, as their sources word them (see src/pool/nodeErrors.ts).
describe('classifyNodeError: "not this node" is retried, per client family', () => {
  it('geth', () => {
    expectAll(
      [
        [-32000, 'header not found', 'eth_getBalance'],
        [-32000, 'missing trie node 4f53…a1 (path ) layer stale', 'eth_call'],
        [-32000, 'historical state 0x1d0f…e4 is not available', 'eth_getStorageAt'],
        [4444, 'pruned history unavailable', 'eth_getBlockByNumber'],
        [-32000, 'transaction indexing is in progress', 'eth_getTransactionReceipt'],
        [-32601, 'the method eth_simulateV1 does not exist/is not available', 'eth_simulateV1'],
        [-32000, 'unknown block', 'eth_getLogs'],
        // A node behind the range asked (execution-apis' eth_getLogs test, which geth's answers make).
        [-32602, 'block range extends beyond current head block', 'eth_getLogs'],
      ],
      'retry',
    );
  });

  it('reth', () => {
    expectAll(
      [
        [-32001, 'block not found: 0x12d687', 'eth_getBlockReceipts'],
        [-32001, 'block not found: hash 0x3b…9f', 'eth_getBlockByHash'],
        [4444, 'pruned history unavailable', 'eth_getLogs'],
        [-32603, 'state at block #1234 is pruned', 'eth_getBalance'],
        [-32001, 'unknown block or tx index', 'eth_getTransactionByBlockNumberAndIndex'],
        [-32000, 'block range extends beyond current head block: requested 0x2000, head 0x1000', 'eth_getLogs'],
      ],
      'retry',
    );
  });

  it('erigon', () => {
    expectAll(
      [
        [-32000, 'old data not available due to pruning', 'eth_getBalance'],
        [-32601, 'the method trace_block does not exist/is not available', 'trace_block'],
        [-32000, 'requested block range [4096, 8192] is beyond latest executed block 4000 (node is still syncing)', 'eth_getLogs'],
      ],
      'retry',
    );
  });

  it('Nethermind', () => {
    expectAll(
      [
        [-32002, 'No state available for block 0x3f9e0202…7e', 'eth_call'],
        [-32001, '0x5e1f… could not be found', 'eth_getBlockByHash'],
        [-32601, "The method 'debug_traceCall' is not supported.", 'debug_traceCall'],
        [-32600, "The method 'trace_block' is found but the namespace 'trace' is disabled for http://n:8545/. Consider adding the namespace", 'trace_block'],
        [4444, 'Pruned history unavailable', 'eth_getBlockReceipts'],
      ],
      'retry',
    );
  });

  it('Besu', () => {
    expectAll(
      [
        [-32000, 'World state unavailable', 'eth_getBalance'],
        [-32000, 'Block not found', 'debug_traceBlockByNumber'],
        [-39001, 'Unknown block', 'eth_getBlockByNumber'],
        [-32604, 'Method not enabled', 'debug_traceCall'],
        [-32601, 'Method not found', 'eth_simulateV1'],
        [-32008, 'Initial sync is still in progress', 'eth_call'],
      ],
      'retry',
    );
  });

  it('anvil', () => {
    expectAll(
      [
        [-32602, 'BlockOutOfRangeError: block height is 120 but requested was 121', 'eth_getBalance'],
        [-32001, 'Resource not found', 'eth_getBlockReceipts'],
        [-32603, 'Required data unavailable', 'eth_call'],
        [-32603, 'Not implemented', 'eth_getProof'],
        [-32601, 'Method not found', 'eth_foo'],
      ],
      'retry',
    );
  });
});

describe('classifyNodeError: real answers are answers', () => {
  it('a revert, whatever its reason says', () => {
    expectAll(
      [
        [3, 'execution reverted: ERC20: transfer amount exceeds balance', 'eth_call', '0x08c379a0'],
        [3, 'execution reverted', 'eth_estimateGas'],
        // The reason is the contract's text: it must not make the call go round every node.
        [3, 'execution reverted: header not found', 'eth_call'],
        [-32000, 'execution reverted: rate limit reached', 'eth_call'],
        [-32000, 'Execution reverted', 'eth_call'], // Besu
        [-32603, 'VM Exception while processing transaction: revert', 'eth_call'], // Hardhat
      ],
      'answer',
    );
  });

  it('invalid params, nonce and funds, internal errors, range limits', () => {
    expectAll(
      [
        [-32602, 'invalid argument 0: hex string without 0x prefix', 'eth_getBalance'],
        [-32602, 'Invalid params', 'eth_call'],
        [-32000, 'nonce too low', 'eth_sendRawTransaction'],
        [-32000, 'insufficient funds for gas * price + value', 'eth_estimateGas'],
        [-32603, 'Internal error', 'eth_call'],
        [-32000, 'filter not found', 'eth_getFilterChanges'],
        // -32005 is EIP-1474's "limit exceeded", not always a rate limit: these are Besu's answers.
        [-32005, 'Transaction gas limit exceeds block gas limit', 'eth_estimateGas'],
        [-32005, 'Requested range exceeds maximum RPC range limit', 'eth_getLogs'],
        [-32000, 'query returned more than 10000 results', 'eth_getLogs'],
      ],
      'answer',
    );
  });
});

describe('classifyNodeError: rate limits', () => {
  it('as the providers send them', () => {
    expectAll(
      [
        // Infura (HTTP 429 with a JSON-RPC body), with and without its backoff hint
        [-32005, 'daily request count exceeded, request rate limited'],
        [-32005, 'project ID request rate exceeded', 'eth_call', { see: 'https://infura.io/docs', current_rps: 13.3, allowed_rps: 10, backoff_seconds: 30 }],
        // Alchemy over WebSocket
        [429, 'Your app has exceeded its compute units per second capacity. If you have retries enabled, you can safely ignore this message.'],
        // QuickNode
        [429, 'The requests per second (RPS) of your requests are higher than your plan allows.'],
        [-32007, 'credits limited to 50/sec'],
        // TheRPC, MegaETH
        [-32029, 'Rate limit exceeded'],
        [-32005, 'Rate limit exceeded'],
        // eRPC's list, 1RPC
        [-32000, 'Too many requests'],
        [-32000, 'server is under too much load'],
        [-32001, "You've reached the usage limit for your current plan."],
        [-32000, 'Exceeded the quota usage'],
      ],
      'rate-limited',
    );
  });

  it("Infura's backoff_seconds alone says so, under any text", () => {
    expectAll([[-32000, 'slow down', 'eth_call', { rate: { backoff_seconds: 5 } }]], 'rate-limited');
  });
});

describe('classifyNodeError can be extended', () => {
  it('a custom classifier falls back to the default', () => {
    const classify = (error: JsonRpcErrorObject, method: string): NodeErrorVerdict =>
      error.message.includes('archive node required') ? 'retry' : classifyNodeError(error, method);
    expect(classify({ code: -32000, message: 'archive node required' }, 'eth_getBalance')).toBe('retry');
    expect(classify({ code: -32000, message: 'header not found' }, 'eth_getBalance')).toBe('retry');
    expect(classify({ code: 3, message: 'execution reverted' }, 'eth_call')).toBe('answer');
  });
});
