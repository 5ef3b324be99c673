import { SteadyRpcError } from '../errors.js';
import type { NodeInfo } from '../pool/NodeConfig.js';

export interface ProbeContext {
  readonly node: NodeInfo;
  /** Aborted when the probe's timeout passes or the checker closes. */
  readonly signal: AbortSignal;
  /**
   * Whether the checker wants the chain id this time: it reads it once per healthy stretch, and at
   * every probe while the node is on another chain.
   */
  readonly wantChainId: boolean;
  /** Calls a JSON-RPC method on this node (over HTTP, or a short-lived socket for ws-only nodes). */
  call(method: string, params?: unknown[]): Promise<unknown>;
}

export interface ProbeResult {
  /**
   * Head block number (or slot, for a beacon probe): lag is measured with it. A safe integer >= 0;
   * anything else (NaN from `Number(missing)`, a string …) fails the probe.
   */
  head: number;
  /**
   * The node's chain id, when `wantChainId` was set (a safe integer >= 0). A probe that never
   * reports one still gets lag checked: see `HealthChecker`.
   */
  chainId?: number;
}

/** Checks one node. Rejects (or throws) when the node is not fit to serve. */
export type Probe = (context: ProbeContext) => Promise<ProbeResult>;

/** Parses a JSON-RPC quantity (`0x…`) into a safe integer. */
export function parseQuantity(value: unknown, what: string): number {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]+$/.test(value)) {
    throw new SteadyRpcError('ERR_BAD_RESPONSE', `Expected ${what} to be a hex quantity, got ${JSON.stringify(value)}`);
  }
  const n = Number.parseInt(value, 16);
  if (!Number.isSafeInteger(n)) throw new SteadyRpcError('ERR_BAD_RESPONSE', `${what} ${value} is out of range`);
  return n;
}

/** The default execution-layer probe: `eth_blockNumber`, plus `eth_chainId` when asked. */
export const ethBlockNumberProbe: Probe = async ({ call, wantChainId }) => {
  const [head, chainId] = await Promise.all([
    call('eth_blockNumber'),
    wantChainId ? call('eth_chainId') : Promise.resolve(undefined),
  ]);
  const result: ProbeResult = { head: parseQuantity(head, 'eth_blockNumber') };
  if (wantChainId) result.chainId = parseQuantity(chainId, 'eth_chainId');
  return result;
};

/** A probe's result, checked: a head that is a block number (or slot), a chain id that is one. */
export function validResult(name: string, result: unknown): ProbeResult {
  if (typeof result !== 'object' || result === null) {
    throw new SteadyRpcError('ERR_BAD_RESPONSE', `Probe of "${name}" returned ${String(result)} instead of { head }`);
  }
  const { head, chainId } = result as { head?: unknown; chainId?: unknown };
  if (!isBlockNumber(head)) {
    throw new SteadyRpcError('ERR_BAD_RESPONSE', `Probe of "${name}" returned head ${describeValue(head)}: expected a safe integer >= 0`);
  }
  if (chainId !== undefined && !isBlockNumber(chainId)) {
    throw new SteadyRpcError('ERR_BAD_RESPONSE', `Probe of "${name}" returned chainId ${describeValue(chainId)}: expected a safe integer >= 0`);
  }
  return chainId === undefined ? { head } : { head, chainId };
}

const isBlockNumber = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

function describeValue(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value === 'bigint' ? `${value}n` : String(value);
}
