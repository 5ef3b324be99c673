import type { ChainView } from '../consistency/ChainView.js';
import type { ConsistencySettings } from '../consistency/settings.js';
import { CONSISTENCY_DEFAULTS } from '../consistency/settings.js';
import { SteadyRpcError, describeError } from '../errors.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../jsonrpc.js';
import type { RepeatablePredicate } from '../session/repeatable.js';
import { isRepeatable as defaultIsRepeatable } from '../session/repeatable.js';
import { isNotDelivered } from '../transport/HttpTransport.js';
import { failedAfterSend, firstUnrepeatable, notResentAnswer, onlyNotifications } from './httpAnswers.js';
import { HedgedSend } from './HedgedSend.js';
import type { HedgeSettings } from './HedgePolicy.js';
import { isHedgeable } from './HedgePolicy.js';
import type { Answer } from './NodeAttempts.js';
import { NodeAttempts, poolClosedError } from './NodeAttempts.js';
import { NodeQueue, type NextOptions } from './NodeQueue.js';
import type { NodeErrorClassifier } from './nodeErrors.js';
import { classifyNodeError } from './nodeErrors.js';
import type { NodePool } from './NodePool.js';
import type { PassiveHealth } from './PassiveHealth.js';
import { PoolViewGate } from './PoolViewGate.js';

export interface HttpDispatcherOptions {
  /**
   * Deadline for one attempt on one node, in ms.
   * @default 10_000
   */
  attemptTimeoutMs?: number;
  /**
   * How many nodes to try for one request before giving up.
   * @default 3
   */
  maxAttempts?: number;
  /**
   * When every node worth asking has failed a request (refused, broke the connection, timed out,
   * answered 5xx or 408; not a rate limit, another 4xx or a body that is no JSON-RPC answer) and
   * attempts are left, how long to wait before asking again, best node first, in
   * ms: a node that restarts, or a rolling deploy that briefly takes every node down, is then
   * ridden out instead of answered with an error. 0: fail at once.
   * @default 250
   */
  retryDelayMs?: number;
}

export interface HttpRequestOptions {
  /** Aborts the request, whichever attempt is running. */
  signal?: AbortSignal;
  /**
   * Nodes not to ask: a session asks the other nodes for a read its own node said it cannot serve
   * ("header not found", "missing trie node" …).
   */
  avoid?: readonly string[];
}

/** The pool's rules the dispatcher follows. */
export interface DispatchPolicy {
  readonly consistency?: ConsistencySettings;
  readonly isRepeatable?: RepeatablePredicate;
  readonly classify?: NodeErrorClassifier;
  /** Hedged reads (see `NodePoolOptions.hedge`); `undefined`: off. */
  readonly hedge?: HedgeSettings;
}

/** A request (not a hedge's copy) may go to any node worth a try: see {@link NodeQueue}. */
const EVERY_NODE: NextOptions = Object.freeze({ anyHeld: true, widen: true });

const DEFAULTS = Object.freeze({ attemptTimeoutMs: 10_000, maxAttempts: 3, retryDelayMs: 250 });

/**
 * Carries out `NodePool.request()`: POSTs to the best node and, on a transport failure, a bad
 * status or a timeout, tries the next candidate. A JSON-RPC error from a node is an answer, unless
 * the pool's classifier says it means "not this node" (a missing block, state or method) or a rate
 * limit: then a request safe to repeat is asked of the next node, and the error is the answer only
 * when no node does better. A non-2xx reply is a failure, but when its body is the node's own
 * JSON-RPC error and no other node does better, that error is the answer. Nodes cooling down after
 * a rate limit or with their circuit open are passed over ({@link PassiveHealth}), and every
 * attempt's outcome is reported to it.
 *
 * A request that is not safe to send twice (see {@link RepeatablePredicate}; a batch holding one)
 * goes to another node only when the failure proves the first never got it (refused, name not
 * found, endpoint function failed: see `isNotDelivered`). After a timeout, a bad status or a broken
 * connection it is answered with `NOT_RESENT` (-32053) instead, naming the node and what happened.
 *
 * Answers are held to the chain the pool has served ({@link ChainView}) by a {@link PoolViewGate}:
 * a read answered by a node behind it is asked again, and answered with `BEHIND` (-32055) when no
 * node catches up within `waitMs`.
 */
export class HttpDispatcher {
  readonly #pool: NodePool;
  readonly #maxAttempts: number;
  readonly #retryDelayMs: number;
  readonly #consistency: ConsistencySettings;
  readonly #isRepeatable: RepeatablePredicate;
  readonly #passive: PassiveHealth;
  readonly #attempts: NodeAttempts;
  readonly #hedged: HedgedSend | undefined;
  readonly #hedgeMethods: ReadonlySet<string> | undefined;
  readonly #gate: PoolViewGate;
  readonly view: ChainView;

  constructor(pool: NodePool, passive: PassiveHealth, options: HttpDispatcherOptions = {}, policy: DispatchPolicy = {}) {
    const { consistency = CONSISTENCY_DEFAULTS, isRepeatable = defaultIsRepeatable, classify = classifyNodeError, hedge } = policy;
    const { attemptTimeoutMs, maxAttempts, retryDelayMs } = { ...DEFAULTS, ...options };
    if (!Number.isFinite(attemptTimeoutMs) || attemptTimeoutMs <= 0) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected http.attemptTimeoutMs to be a finite number > 0, got ${attemptTimeoutMs}`);
    }
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected http.maxAttempts to be an integer >= 1, got ${maxAttempts}`);
    }
    if (!Number.isFinite(retryDelayMs) || retryDelayMs < 0) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected http.retryDelayMs to be a finite number >= 0, got ${retryDelayMs}`);
    }
    this.#pool = pool;
    this.#maxAttempts = maxAttempts;
    this.#retryDelayMs = retryDelayMs;
    this.#consistency = consistency;
    this.#isRepeatable = isRepeatable;
    this.#passive = passive;
    this.#attempts = new NodeAttempts(pool, passive, classify, attemptTimeoutMs);
    this.#hedged = hedge && new HedgedSend(pool, this.#attempts, hedge, maxAttempts);
    this.#hedgeMethods = hedge?.methods;
    this.#gate = new PoolViewGate(pool, passive, this.#attempts, consistency, isRepeatable, (payload, opts, unrepeatable, skip, again) =>
      this.#send(payload, opts, unrepeatable, skip, again),
    );
    this.view = this.#gate.view;
  }

  async request(
    payload: JsonRpcRequest | JsonRpcRequest[],
    options: HttpRequestOptions = {},
  ): Promise<JsonRpcResponse | JsonRpcResponse[]> {
    // Judged once per request: writes are never sent twice.
    const unrepeatable = firstUnrepeatable(payload, this.#isRepeatable);
    // Notifications only get no answer to hold to the view (a node answers them with nothing).
    if (!this.#consistency.monotonic || onlyNotifications(payload)) return (await this.#send(payload, options, unrepeatable)).response;
    return this.#gate.request(payload, options, unrepeatable);
  }

  /**
   * Settles every request at once (the pool is closing): the POSTs in flight end, nothing more is
   * sent. A request not safe to repeat whose POST had gone out is answered `NOT_RESENT` (reason
   * `closed`: the node may have carried it out); a batch part of which was answered keeps those
   * answers (see {@link PoolViewGate}); anything else rejects with `ERR_CLOSED`.
   */
  close(): void {
    this.#attempts.close();
  }

  /**
   * Sends to the best candidate not in `skip` that takes requests now (not cooling down after a
   * rate limit, circuit not open), failing over: on any failure, and on an answer made only of
   * errors that say "not this node", for a request safe to repeat; only on a failure that proves the
   * node never got it, for one that is not (`unrepeatable`: its first method not safe to repeat).
   */
  async #send(payload: JsonRpcRequest | JsonRpcRequest[], options: HttpRequestOptions, unrepeatable: string | undefined, skip?: ReadonlySet<string>, again = false): Promise<Answer> {
    const body = JSON.stringify(payload);
    const { avoid } = options;
    const takes = (name: string) => this.#pool.node(name).http !== undefined && !skip?.has(name) && !avoid?.includes(name);
    const nodes = this.#pool.candidates().filter(takes);
    /**
     * The order to ask the nodes in: the candidates, then, once every one failed, the other nodes
     * worth a try (see {@link #beyond}), asked once; after a pause, again from the pool as it is then.
     */
    const source = { candidates: () => this.#pool.candidates().filter(takes), more: (asked: readonly string[]) => this.#beyond(asked, takes) };
    const queue = new NodeQueue(this.#passive, nodes, source, again ? 0 : this.#retryDelayMs);
    const unavailable = (attempts: number, held: readonly string[], failures: readonly string[], lastError: unknown): never => {
      throw new SteadyRpcError('ERR_UPSTREAM_UNAVAILABLE', this.#unavailable(nodes.length, attempts, held), {
        cause: lastError,
        details: [...failures, ...held.map((name) => `${name}: ${this.#passive.why(name)}`)].join('; ') || undefined,
      });
    };
    // Plain reads may go to a second node while the first is slow; nothing else ever.
    if (this.#hedged && unrepeatable === undefined && isHedgeable(payload, this.#hedgeMethods)) {
      return this.#hedged.send(payload, body, queue, options.signal, unavailable);
    }
    const failures: string[] = [];
    let lastError: unknown;
    /** The last node's own answer that another node may better: its error with a non-2xx status, or "not this node". */
    let fallback: Answer | undefined;
    let attempts = 0;
    while (attempts < this.#maxAttempts) {
      options.signal?.throwIfAborted();
      if (this.#pool.closed) throw poolClosedError();
      // Every node worth asking failed it (none answered): one may be back in a moment.
      const mayPause = queue.mayPause(fallback !== undefined);
      let name = queue.next(EVERY_NODE, mayPause && attempts + 1 >= this.#maxAttempts);
      if (name === undefined && mayPause) {
        await this.#attempts.pause(queue.retryDelayMs, options.signal);
        queue.restart();
        name = queue.next(EVERY_NODE);
      }
      if (name === undefined) break;
      attempts += 1;
      const outcome = await this.#attempts.attempt(name, payload, body, options.signal);
      if (outcome.kind === 'answer') return outcome.answer;
      if (outcome.kind === 'not-here') {
        // A write gets its answer: it is never sent twice.
        if (unrepeatable !== undefined) return outcome.answer;
        fallback = outcome.answer;
        failures.push(`${name}: answered that it cannot serve the request now`);
        continue;
      }
      if (outcome.own) fallback = outcome.own;
      if (unrepeatable !== undefined && !isNotDelivered(outcome.error)) {
        const failure = failedAfterSend(outcome.error, outcome.status, this.#attempts.timeoutMs);
        return outcome.own ?? { node: name, response: notResentAnswer(payload, name, failure, unrepeatable), final: true };
      }
      lastError = outcome.error;
      failures.push(`${name}: ${describeError(outcome.error)}`);
      queue.failed(name, outcome, unrepeatable === undefined);
    }
    if (fallback) return fallback;
    return unavailable(attempts, queue.held, failures, lastError);
  }

  /**
   * The nodes not among the candidates `nodes` (healthy ones, when any: see `NodePool.candidates()`)
   * that may still answer: marked down or lagging by their probes, but neither quarantined nor on
   * another chain. Asked, in preference order, once every candidate failed: a node the probes have
   * not yet seen come back (or a healthy one the probes have not yet seen die, which was the only
   * candidate) must not fail a read that another node could answer. A lagging node's answers are
   * held to the view like any other's.
   */
  #beyond(nodes: readonly string[], takes: (name: string) => boolean): string[] {
    const pool = this.#pool;
    const now = pool.clock.now();
    const others: string[] = [];
    for (const { name } of pool.nodes) {
      if (nodes.includes(name) || !takes(name)) continue;
      const { wrongChain, quarantinedUntil } = pool.health(name);
      if (!wrongChain && !((quarantinedUntil ?? -Infinity) > now)) others.push(name);
    }
    return others;
  }

  #unavailable(candidates: number, attempts: number, held: readonly string[]): string {
    if (candidates === 0) return 'No node with an HTTP endpoint can take the request';
    if (attempts > 0) return `All ${attempts} attempts failed`;
    const back = Math.min(...held.map((name) => this.#passive.backAt(name) ?? Infinity)) - this.#pool.clock.now();
    const when = Number.isFinite(back) ? ` (the first is back in ${Math.max(0, Math.ceil(back))} ms)` : '';
    return `Every node that could take the request is cooling down after a rate limit${when}`;
  }
}
