import type { Clock } from '../Clock.js';
import { SteadyRpcError, describeError, scrubbedError } from '../errors.js';
import { redactNodeText } from '../pool/NodeConfig.js';
import type { NodePool } from '../pool/NodePool.js';
import type { ChainBook } from './ChainBook.js';
import { mismatch } from './ChainBook.js';
import type { ProbeEvent } from './HealthChecker.js';
import type { HysteresisThresholds } from './hysteresis.js';
import { applyOutcome } from './hysteresis.js';
import { probeRateLimit } from './nodeCall.js';
import type { ProbeResult } from './probes.js';

/** The health checker's limits a probe's result is judged by (validated by the checker). */
export interface ProbeJudgeSettings extends HysteresisThresholds {
  /** A node more than this many blocks behind the best head is unhealthy. */
  maxLagBlocks: number;
  /** How long a node's last head still counts towards the best head after its probes start to fail, in ms. */
  headGraceMs: number;
}

/**
 * What one probe's result means for its node, written into the pool: a rate limit (the node cools
 * down, its status kept), the chain it is on (a node on another chain is unhealthy, and so may be
 * the others when the expected chain moves), its lag behind the best head, and its status through
 * the hysteresis. The checker decides which results are current; this decides what they say.
 */
export class ProbeJudge {
  readonly #pool: NodePool;
  readonly #clock: Clock;
  readonly #chains: ChainBook;
  readonly #settings: ProbeJudgeSettings;

  constructor(pool: NodePool, clock: Clock, chains: ChainBook, settings: ProbeJudgeSettings) {
    this.#pool = pool;
    this.#clock = clock;
    this.#chains = chains;
    this.#settings = settings;
  }

  /** Writes the probe of `name` into the pool; returns the `probe` event to emit once it is in. */
  record(name: string, result: ProbeResult | undefined, failure: unknown, latencyMs: number): ProbeEvent {
    // A custom probe or transport may quote the node's URL: its credentials stay out all the same.
    const node = this.#pool.node(name);
    let error: SteadyRpcError | undefined =
      failure === undefined
        ? undefined
        : scrubbedError(failure, (text) => redactNodeText(node, text), 'ERR_BAD_RESPONSE', `Probe of "${name}" failed`);
    const limited = probeRateLimit(failure);
    if (limited) {
      // A node that says "not now" is alive: it cools down like after a request's rate limit, and
      // keeps its status, so no session moves for a one-second limit.
      // Sent `latencyMs` ago (on the pool's clock: this checker's may be another).
      this.#pool.coolDown(name, limited.ms, limited.source, this.#pool.clock.now() - latencyMs);
      // Unless a listener of the cool-down closed the pool.
      if (!this.#pool.closed) this.#pool.update(name, { lastError: describeError(error!), checkedAt: this.#clock.now() });
      return { name, ok: false, head: undefined, latencyMs, error, rateLimited: true };
    }
    // The node answered: its rate-limit backoff starts over (once any cool-down is over). Dated
    // when the probe was sent, as its rate limit is: one sent during a cool-down proves nothing new.
    if (result) this.#pool.answered(name, this.#pool.clock.now() - latencyMs);
    let head: number | undefined;
    let lag: number | undefined;
    if (result?.chainId !== undefined) this.#chains.reported(name, result.chainId);
    const chainId = this.#chains.chainOf(name);
    const { expected, oneChain } = this.#chains.view(this.#names());
    // Known to be on another chain: refused whatever this probe found, and read again next time
    // (the node may be redeployed on the right chain).
    const wrongChain = this.#chains.onAnother(name, expected);
    if (wrongChain) this.#chains.reread(name);
    if (result) {
      head = result.head;
      if (wrongChain) {
        error = mismatch(name, chainId!, expected!);
      } else {
        lag = Math.max(0, this.#bestHead(name, head, expected, oneChain) - head);
        if (lag > this.#settings.maxLagBlocks) {
          error = new SteadyRpcError('ERR_LAGGING', `Node "${name}" is ${lag} blocks behind (max ${this.#settings.maxLagBlocks})`);
        }
      }
    }
    const ok = error === undefined;
    const current = this.#pool.health(name);
    let next = applyOutcome(current, ok, this.#settings);
    if (wrongChain) next = { ...next, status: 'unhealthy' };
    // A node that went down, or that a probe could not reach, may come back redeployed on another
    // chain: its chain is read again with the next probe that reaches it (a node that went down,
    // answered once and went down again included).
    if ((next.status === 'unhealthy' && current.status !== 'unhealthy') || !result) this.#chains.reread(name);
    this.#chains.judged(name, wrongChain);
    this.#pool.update(name, {
      ...next,
      ...(head === undefined ? {} : { head, headAt: this.#clock.now() }),
      lag,
      latencyMs: ok ? latencyMs : current.latencyMs,
      lastError: error ? describeError(error) : current.lastError,
      chainId: chainId ?? current.chainId,
      wrongChain,
      checkedAt: this.#clock.now(),
    });
    this.#judgeChains(name, expected);
    return { name, ok, head, latencyMs, error };
  }

  #names(): string[] {
    return this.#pool.nodes.map((node) => node.name);
  }

  /**
   * The verdict on the other nodes' chains, when the expected chain moved (the majority changed
   * with this probe): a node now found on another chain is unhealthy at once; one found on the
   * expected chain is no longer refused, and comes back through the hysteresis.
   */
  #judgeChains(probed: string, expected: number | undefined): void {
    for (const node of this.#pool.nodes) {
      const { name } = node;
      if (name === probed) continue;
      const wrong = this.#chains.onAnother(name, expected);
      if (wrong === this.#chains.isJudgedWrong(name) || this.#pool.closed) continue;
      this.#chains.judged(name, wrong);
      if (wrong) {
        const error = mismatch(name, this.#chains.chainOf(name)!, expected!);
        this.#pool.update(name, { status: 'unhealthy', consecutiveSuccesses: 0, wrongChain: true, lastError: describeError(error) });
      } else {
        this.#pool.update(name, { wrongChain: false });
      }
    }
  }

  /**
   * The highest head among nodes on the expected chain, including this probe's own. A node whose
   * latest probe read its head counts with it however long ago that was (a probe interval may be
   * longer than the grace); one whose probes fail since keeps counting with its last head for
   * `headGraceMs` from when it was read. A node whose chain is not
   * known (a custom probe that reports none) counts while no node has reported another chain:
   * then the heads are comparable; once one has, only nodes known to be on the expected chain count.
   */
  #bestHead(name: string, head: number, expected: number | undefined, oneChain: boolean): number {
    const oldest = this.#clock.now() - this.#settings.headGraceMs;
    let best = head;
    for (const node of this.#pool.nodes) {
      if (node.name === name) continue;
      const otherHead = this.#pool.headOf(node.name);
      if (otherHead === undefined || otherHead <= best) continue;
      const { headAt = -Infinity, checkedAt } = this.#pool.health(node.name);
      if (headAt !== checkedAt && headAt < oldest) continue;
      const chain = this.#chains.chainOf(node.name);
      if (chain === undefined ? oneChain : chain === expected) best = otherHead;
    }
    return best;
  }
}
