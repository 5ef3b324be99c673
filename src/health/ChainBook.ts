import { SteadyRpcError } from '../errors.js';

/**
 * What the health checker knows of the nodes' chains: the chain id each node last reported (kept
 * while a node is down or on another chain, so the expected chain does not move when the nodes on
 * it go down, and a node on another chain never becomes the majority by outliving them), which
 * nodes have it read again at their next probe, and which the pool was told are on another chain.
 */
export class ChainBook {
  readonly #configured: number | undefined;
  readonly #chains = new Map<string, number>();
  /** Nodes whose chain id is read again at their next probe: they went down, or are on another chain. */
  readonly #reread = new Set<string>();
  /** Nodes the pool has been told are on another chain (`wrongChain`). */
  readonly #wrong = new Set<string>();

  /** `configured`: the `chainId` option, if given. */
  constructor(configured: number | undefined) {
    this.#configured = configured;
  }

  /** Whether the next probe of `name` is to read its chain id. */
  wants(name: string): boolean {
    return !this.#chains.has(name) || this.#reread.has(name);
  }

  chainOf(name: string): number | undefined {
    return this.#chains.get(name);
  }

  reported(name: string, chainId: number): void {
    this.#chains.set(name, chainId);
    this.#reread.delete(name);
  }

  /** The node's chain id is read again at its next probe (it went down, or is on another chain). */
  reread(name: string): void {
    this.#reread.add(name);
  }

  /**
   * The chain nodes must be on: configured, else the one most of `names` last reported (ties:
   * their order), counting nodes that are down too. `oneChain`: no node reported another.
   */
  view(names: Iterable<string>): { expected: number | undefined; oneChain: boolean } {
    const counts = new Map<number, number>();
    for (const name of names) {
      const chain = this.#chains.get(name);
      if (chain !== undefined) counts.set(chain, (counts.get(chain) ?? 0) + 1);
    }
    let expected = this.#configured;
    if (expected === undefined) {
      for (const [chain, count] of counts) if (expected === undefined || count > counts.get(expected)!) expected = chain;
    }
    return { expected, oneChain: counts.size === 0 || (counts.size === 1 && counts.has(expected!)) };
  }

  /** Whether `name` is known to be on another chain than `expected`. */
  onAnother(name: string, expected: number | undefined): boolean {
    const chain = this.#chains.get(name);
    return chain !== undefined && expected !== undefined && chain !== expected;
  }

  /** Notes the verdict the pool was told; returns whether it changed. A node on another chain is read again. */
  judged(name: string, wrong: boolean): boolean {
    if (wrong === this.#wrong.has(name)) return false;
    if (wrong) {
      this.#wrong.add(name);
      this.#reread.add(name);
    } else this.#wrong.delete(name);
    return true;
  }

  /** Whether the pool was told `name` is on another chain. */
  isJudgedWrong(name: string): boolean {
    return this.#wrong.has(name);
  }
}

export function mismatch(name: string, chainId: number, expected: number): SteadyRpcError {
  return new SteadyRpcError('ERR_CHAIN_MISMATCH', `Node "${name}" is on chain ${chainId}, expected ${expected}`);
}
