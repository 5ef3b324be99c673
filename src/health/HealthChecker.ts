import { EventEmitter } from 'eventemitter3';
import pLimit from 'p-limit';
import type { Clock, TimerHandle } from '../Clock.js';
import { LATE_TIMER_MS } from '../Clock.js';
import { SteadyRpcError } from '../errors.js';
import type { NodeInfo } from '../pool/NodeConfig.js';
import type { NodePool } from '../pool/NodePool.js';
import type { SocketTransport } from '../transport/SocketTransport.js';
import { defaultSocketTransport } from '../transport/defaultSocketTransport.js';
import { ChainBook } from './ChainBook.js';
import { nodeCaller } from './nodeCall.js';
import type { Probe, ProbeResult } from './probes.js';
import { ethBlockNumberProbe, validResult } from './probes.js';
import { ProbeJudge } from './ProbeJudge.js';

export interface HealthCheckerOptions {
  /** How often every node is probed, in ms. @default 1_000 */
  intervalMs?: number;
  /** Deadline for one probe of one node, in ms. @default 5_000 */
  timeoutMs?: number;
  /** A node more than this many blocks behind the best head is unhealthy. @default 5 */
  maxLagBlocks?: number;
  /**
   * How long a node's last head still counts towards the best head once its probes fail, in ms,
   * from when a probe read it (a node whose latest probe read its head always counts). Without
   * it, the death of the node ahead would make a lagging node "lag 0" and
   * healthy at the moment it matters; with it, the lagging node stays known to lag until it has
   * caught up or the grace is over.
   * @default 60_000
   */
  headGraceMs?: number;
  /** Consecutive failed probes that mark a node down. @default 3 */
  failuresToDown?: number;
  /** Consecutive good probes that bring a node (back) up. @default 2 */
  successesToUp?: number;
  /** Most probes in flight at once. @default 16 */
  concurrency?: number;
  /**
   * The chain every node must be on; a node on another chain is unhealthy, and never a candidate.
   * @default the chain most nodes report (each node's last reported chain, down or not; ties: preference order)
   */
  chainId?: number;
  /** How a node is checked. @default ethBlockNumberProbe (eth_blockNumber, eth_chainId once) */
  probe?: Probe;
  /** For probing nodes that have only a `ws` endpoint. @default defaultSocketTransport(): ws on Node, the platform's WebSocket elsewhere */
  socketTransport?: SocketTransport;
  /** @default the pool's clock */
  clock?: Clock;
}

export interface ProbeEvent {
  name: string;
  ok: boolean;
  head: number | undefined;
  latencyMs: number;
  /** Why the probe counted as a failure (timeout, error, lag, wrong chain), or was rate-limited. */
  error: SteadyRpcError | undefined;
  /**
   * The node answered the probe with a rate limit (HTTP 429, a 503 with `Retry-After`, or an error
   * the pool's `classifyError` calls `rate-limited`): it cools down in the pool, and the probe
   * counts neither for nor against its health (`ok` is false).
   */
  rateLimited?: true;
}

export interface HealthCheckerEvents {
  /** One probe finished; the pool has been updated. */
  probe: [event: ProbeEvent];
}

const DEFAULTS = Object.freeze({
  intervalMs: 1_000,
  timeoutMs: 5_000,
  maxLagBlocks: 5,
  headGraceMs: 60_000,
  failuresToDown: 3,
  successesToUp: 2,
  concurrency: 16,
});

/** One probe of one node, from launch to result. */
interface ProbeRun {
  readonly controller: AbortController;
  timer: TimerHandle | undefined;
  /** Launch order, across all nodes: a result older than the newest recorded one is dropped. */
  readonly sequence: number;
}

function positiveInteger(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) {
    throw new SteadyRpcError('ERR_CONFIG', `Expected ${name} to be an integer >= ${min}, got ${value}`);
  }
  return value;
}

/**
 * Probes every node on an interval, all at once (bounded by p-limit), each probe with its own
 * timeout, and has a {@link ProbeJudge} write each current result into the pool (rate limits,
 * chain, lag, hysteresis). A probe that hangs delays nobody: rounds start on the clock, and a node
 * whose previous probe is still running is probed again all the same, so a node that comes back
 * from a blackhole is seen at the next round, not when the probe stuck in the blackhole times out.
 * The newest result wins: a probe that ends after a newer one was recorded is dropped. A node has
 * at most `ceil(timeoutMs / intervalMs)` probes in flight (each holds one of the `concurrency`
 * slots while it runs).
 */
export class HealthChecker extends EventEmitter<HealthCheckerEvents> {
  readonly #pool: NodePool;
  readonly #clock: Clock;
  readonly #options: Required<Omit<HealthCheckerOptions, 'chainId' | 'probe' | 'socketTransport' | 'clock'>>;
  readonly #probe: Probe;
  readonly #sockets: SocketTransport;
  readonly #limit: ReturnType<typeof pLimit>;
  readonly #inFlight = new Map<string, Set<ProbeRun>>();
  /** Per node, the sequence number of the newest probe whose result was recorded. */
  readonly #recorded = new Map<string, number>();
  #sequence = 0;
  readonly #chains: ChainBook;
  readonly #judge: ProbeJudge;
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(pool: NodePool, options: HealthCheckerOptions = {}) {
    super();
    const merged = { ...DEFAULTS, ...options };
    this.#options = {
      intervalMs: positiveInteger('intervalMs', merged.intervalMs, 1),
      timeoutMs: positiveInteger('timeoutMs', merged.timeoutMs, 1),
      maxLagBlocks: positiveInteger('maxLagBlocks', merged.maxLagBlocks, 0),
      headGraceMs: positiveInteger('headGraceMs', merged.headGraceMs, 0),
      failuresToDown: positiveInteger('failuresToDown', merged.failuresToDown, 1),
      successesToUp: positiveInteger('successesToUp', merged.successesToUp, 1),
      concurrency: positiveInteger('concurrency', merged.concurrency, 1),
    };
    if (options.chainId !== undefined) positiveInteger('chainId', options.chainId, 0);
    this.#pool = pool;
    this.#clock = options.clock ?? pool.clock;
    this.#chains = new ChainBook(options.chainId);
    this.#judge = new ProbeJudge(pool, this.#clock, this.#chains, this.#options);
    this.#probe = options.probe ?? ethBlockNumberProbe;
    this.#sockets = options.socketTransport ?? defaultSocketTransport();
    this.#limit = pLimit(this.#options.concurrency);
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Starts probing: a first round at once, then one every `intervalMs`. Idempotent. */
  start(): void {
    this.#assertOpen();
    if (this.#timer !== undefined) return;
    this.#timer = this.#clock.setTimeout(() => this.#round(), 0);
  }

  /** Stops starting rounds; probes in flight are aborted. `start()` may be called again. */
  stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const probes of this.#inFlight.values()) {
      for (const probe of probes) {
        if (probe.timer !== undefined) this.#clock.clearTimeout(probe.timer);
        probe.controller.abort(new SteadyRpcError('ERR_ABORTED', 'Health checker stopped'));
      }
    }
    this.#inFlight.clear();
  }

  /** Runs one round now and resolves when every probe of it has finished. */
  async checkNow(): Promise<void> {
    this.#assertOpen();
    await Promise.all(this.#launchRound());
  }

  /** Stops for good; no timer or probe is left behind. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.stop();
    this.#closed = true;
    this.removeAllListeners();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  #round(): void {
    // A pool closed under it (its host closed the pool, not the checker) is not probed any more.
    if (this.#pool.closed) return this.close();
    // Schedule the next round first: however long this one's probes take, the next starts on time.
    this.#timer = this.#clock.setTimeout(() => this.#round(), this.#options.intervalMs);
    void this.#launchRound();
  }

  #launchRound(): Promise<void>[] {
    const { timeoutMs, intervalMs } = this.#options;
    const maxInFlight = Math.max(1, Math.ceil(timeoutMs / intervalMs));
    const launched: Promise<void>[] = [];
    for (const node of this.#pool.nodes) {
      let probes = this.#inFlight.get(node.name);
      if (probes === undefined) this.#inFlight.set(node.name, (probes = new Set()));
      if (probes.size >= maxInFlight) continue;
      const probe: ProbeRun = { controller: new AbortController(), timer: undefined, sequence: ++this.#sequence };
      probes.add(probe);
      launched.push(this.#limit(() => this.#check(node, probe)));
    }
    return launched;
  }

  async #check(node: NodeInfo, probe: ProbeRun): Promise<void> {
    const { controller } = probe;
    if (controller.signal.aborted) return; // stopped while waiting for a concurrency slot
    const { timeoutMs } = this.#options;
    const started = this.#clock.now();
    let due = started + timeoutMs;
    const expire = () => {
      const now = this.#clock.now();
      // Held back (a hidden tab, a machine that slept): the answer may be queued behind this timer,
      // so the probe gets one more timeout rather than marking a live node down.
      if (now - due > LATE_TIMER_MS && due === started + timeoutMs) {
        due = now + timeoutMs;
        probe.timer = this.#clock.setTimeout(expire, timeoutMs);
        return;
      }
      controller.abort(new SteadyRpcError('ERR_TIMEOUT', `Probe of "${node.name}" timed out after ${timeoutMs} ms`));
    };
    probe.timer = this.#clock.setTimeout(expire, timeoutMs);
    let result: ProbeResult | undefined;
    let failure: unknown;
    try {
      controller.signal.throwIfAborted();
      const aborted = new Promise<never>((_, reject) =>
        controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true }),
      );
      const context = {
        node,
        signal: controller.signal,
        wantChainId: this.#chains.wants(node.name),
        call: nodeCaller(this.#pool.httpTransport, this.#sockets, node, controller.signal, {
          classify: this.#pool.classifyError,
          now: () => this.#clock.now(),
        }),
      };
      // A probe that ignores its signal must still not outlive its timeout.
      result = validResult(node.name, await Promise.race([this.#probe(context), aborted]));
    } catch (error) {
      failure = error;
    } finally {
      this.#clock.clearTimeout(probe.timer);
      probe.timer = undefined;
      // What the probe left running (the default probe's other call, when one failed first) ends
      // with it: it is nobody's now, and would hold a socket or a request with no deadline.
      if (!controller.signal.aborted) controller.abort(new SteadyRpcError('ERR_CLOSED', `Probe of "${node.name}" is over`));
    }
    // Stopped (or closed) meanwhile: the result is nobody's.
    if (!this.#inFlight.get(node.name)?.delete(probe) || this.#closed || this.#pool.closed) return;
    // A newer probe's result is already in: this one is out of date.
    if (probe.sequence < (this.#recorded.get(node.name) ?? 0)) return;
    this.#recorded.set(node.name, probe.sequence);
    this.emit('probe', this.#judge.record(node.name, result, failure, this.#clock.now() - started));
  }

  #assertOpen(): void {
    if (this.#closed) throw new SteadyRpcError('ERR_CLOSED', 'HealthChecker is closed');
  }
}
