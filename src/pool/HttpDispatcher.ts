import { ChainView } from '../consistency/ChainView.js';
import type { ConsistencySettings } from '../consistency/settings.js';
import { CONSISTENCY_DEFAULTS } from '../consistency/settings.js';
import { SteadyRpcError, describeError } from '../errors.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../jsonrpc.js';
import { RpcErrorCode, errorResponse } from '../jsonrpc.js';
import { parseQuantity } from '../health/probes.js';
import type { RepeatablePredicate } from '../session/repeatable.js';
import { isRepeatable as defaultIsRepeatable } from '../session/repeatable.js';
import { isNotDelivered } from '../transport/HttpTransport.js';
import { failedAfterSend, firstUnrepeatable, notResentAnswer, onlyNotifications } from './httpAnswers.js';
import { HedgedSend } from './HedgedSend.js';
import type { HedgeSettings } from './HedgePolicy.js';
import { isHedgeable } from './HedgePolicy.js';
import type { Answer } from './NodeAttempts.js';
import { NodeAttempts } from './NodeAttempts.js';
import type { NodeErrorClassifier } from './nodeErrors.js';
import { classifyNodeError } from './nodeErrors.js';
import type { NodePool } from './NodePool.js';
import type { PassiveHealth } from './PassiveHealth.js';

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

const DEFAULTS = Object.freeze({ attemptTimeoutMs: 10_000, maxAttempts: 3 });

/**
 * The request each answer of `response` answers: for a batch, by id (answers may come in any
 * order), a repeated id taking its requests in order (as nodes answer them); `undefined` for an
 * answer to no request. A single answer answers `items[0]`.
 */
function matchAnswers(items: readonly Sent[], response: JsonRpcResponse | JsonRpcResponse[]): (Sent | undefined)[] {
  if (!Array.isArray(response)) return [items[0]];
  const byId = new Map<unknown, Sent[]>();
  for (const item of items) {
    if (item.request.id === undefined) continue;
    const same = byId.get(item.request.id);
    if (same) same.push(item);
    else byId.set(item.request.id, [item]);
  }
  return response.map((r) => (typeof r === 'object' && r !== null ? byId.get(r.id)?.shift() : undefined));
}

/** One request (or batch item) as sent, with the pool's view of the chain when it came in. */
interface Sent {
  readonly request: JsonRpcRequest;
  readonly viewAt: number | undefined;
}

/** The view gate's head read, as sent. */
const HEAD_REQUEST = '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}';

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
 * Answers are held to the chain the pool has served ({@link ChainView}): a read answered by a node
 * behind it (a lower block number, `null` for a block already served, state or logs short of it)
 * is asked of the next node, and when none has caught up, again every `pollMs` until `waitMs`;
 * then it is answered with `BEHIND` (-32055).
 */
export class HttpDispatcher {
  readonly #pool: NodePool;
  readonly #maxAttempts: number;
  readonly #consistency: ConsistencySettings;
  readonly #isRepeatable: RepeatablePredicate;
  readonly #passive: PassiveHealth;
  readonly #attempts: NodeAttempts;
  readonly #hedged: HedgedSend | undefined;
  readonly #hedgeMethods: ReadonlySet<string> | undefined;
  readonly view = new ChainView();
  /** The highest head each node answered `eth_blockNumber` with, when the dispatcher had to ask. */
  readonly #heads = new Map<string, number>();

  constructor(pool: NodePool, passive: PassiveHealth, options: HttpDispatcherOptions = {}, policy: DispatchPolicy = {}) {
    const { consistency = CONSISTENCY_DEFAULTS, isRepeatable = defaultIsRepeatable, classify = classifyNodeError, hedge } = policy;
    const { attemptTimeoutMs, maxAttempts } = { ...DEFAULTS, ...options };
    if (!Number.isFinite(attemptTimeoutMs) || attemptTimeoutMs <= 0) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected http.attemptTimeoutMs to be a finite number > 0, got ${attemptTimeoutMs}`);
    }
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected http.maxAttempts to be an integer >= 1, got ${maxAttempts}`);
    }
    this.#pool = pool;
    this.#maxAttempts = maxAttempts;
    this.#consistency = consistency;
    this.#isRepeatable = isRepeatable;
    this.#passive = passive;
    this.#attempts = new NodeAttempts(pool, passive, classify, attemptTimeoutMs);
    this.#hedged = hedge && new HedgedSend(pool, passive, this.#attempts, hedge, maxAttempts);
    this.#hedgeMethods = hedge?.methods;
  }

  async request(
    payload: JsonRpcRequest | JsonRpcRequest[],
    options: HttpRequestOptions = {},
  ): Promise<JsonRpcResponse | JsonRpcResponse[]> {
    // Judged once per request: writes are never sent twice.
    const unrepeatable = firstUnrepeatable(payload, this.#isRepeatable);
    // Notifications only get no answer to hold to the view (a node answers them with nothing).
    if (!this.#consistency.monotonic || onlyNotifications(payload)) return (await this.#send(payload, options, unrepeatable)).response;
    const batch = Array.isArray(payload);
    const items = (batch ? payload : [payload]).map((request): Sent => ({ request, viewAt: this.view.highest }));
    const { clock } = this.#pool;
    const deadline = clock.now() + this.#consistency.waitMs;
    const tried = new Set<string>();
    /**
     * The answer so far: the first a node gave, each answer in it with the request it answers. What
     * was behind in it is asked again, alone: the rest (a write above all) is never sent twice.
     */
    let answered: { responses: (JsonRpcResponse | undefined)[]; sent: (Sent | undefined)[]; single: boolean } | undefined;
    /** Where in `answered` the answers from a node behind the view are. */
    let behind: number[] = [];
    for (;;) {
      if (this.#pool.closed) throw closedError();
      const asking = answered === undefined ? payload : batch ? behind.map((i) => answered!.sent[i]!.request) : payload;
      const askingItems = answered === undefined ? items : behind.map((i) => answered!.sent[i]!);
      const heads = this.#knownHeads();
      let answer;
      try {
        answer = await this.#send(asking, options, answered === undefined ? unrepeatable : firstUnrepeatable(asking, this.#isRepeatable), tried);
      } catch (error) {
        // No node answered this pass. Before any answer that is a failure; after one from a node
        // behind, the others may just be down: wait for that one to catch up.
        if (answered === undefined || options.signal?.aborted) throw error;
        if (clock.now() >= deadline) return this.#finish(answered, behind);
        tried.clear();
        await this.#sleep(Math.min(this.#consistency.pollMs, deadline - clock.now()), options.signal);
        continue;
      }
      const sent = matchAnswers(askingItems, answer.response);
      const responses = Array.isArray(answer.response) ? answer.response : [answer.response];
      const late = answer.final ? [] : await this.#behind(answer.node, responses, sent, heads, tried, options.signal);
      if (answered === undefined) {
        answered = { responses: [...responses], sent, single: !Array.isArray(answer.response) };
        behind = late;
      } else {
        // Answers again to what was behind: each one now in time takes its place.
        const lateSent = new Set(late.map((i) => sent[i]));
        const stillBehind: number[] = [];
        for (const i of behind) {
          const at = sent.indexOf(answered.sent[i]);
          if (at >= 0 && !lateSent.has(answered.sent[i])) answered.responses[i] = responses[at];
          else stillBehind.push(i);
        }
        behind = stillBehind;
      }
      if (behind.length === 0 || answer.final) return this.#finish(answered, []);
      // What is behind is asked again only if it is safe to send twice (a read, as a rule).
      const repeatable = firstUnrepeatable(behind.map((i) => answered!.sent[i]!.request), this.#isRepeatable) === undefined;
      if (clock.now() >= deadline || !repeatable) return this.#finish(answered, behind);
      // Another node may have it now; once every node was asked, wait for one to catch up.
      if (this.#pool.candidates().every((name) => tried.has(name) || this.#pool.node(name).http === undefined)) {
        tried.clear();
        await this.#sleep(Math.min(this.#consistency.pollMs, deadline - clock.now()), options.signal);
      }
    }
  }

  /**
   * What each node's head was known to be before a request is sent: its probed head, or what it
   * answered when asked. A head learned while the request is on its way (a probe landing meanwhile)
   * cannot vouch for the answer, which the node may have made from before.
   */
  #knownHeads(): Map<string, number> {
    const heads = new Map<string, number>();
    for (const { name } of this.#pool.nodes) {
      const head = Math.max(this.#pool.headOf(name) ?? -1, this.#heads.get(name) ?? -1);
      if (head >= 0) heads.set(name, head);
    }
    return heads;
  }

  /** Indexes of the answers (in `responses`' order) that come from a node behind the view. */
  async #behind(
    node: string,
    responses: readonly JsonRpcResponse[],
    sent: readonly (Sent | undefined)[],
    heads: ReadonlyMap<string, number>,
    tried: Set<string>,
    signal: AbortSignal | undefined,
  ): Promise<number[]> {
    const head = heads.get(node);
    let askAgain = false;
    const behind: number[] = [];
    for (let i = 0; i < responses.length; i++) {
      const r = responses[i]!;
      const item = sent[i];
      if (!item || typeof r !== 'object' || r === null) continue;
      const demand = this.view.demand(item.request.method, item.request.params, item.viewAt);
      if (!demand) continue;
      let verdict = this.view.judge(item.request.method, demand, r, demand.kind === 'head' && (head ?? -1) < demand.need ? undefined : head);
      if (verdict === 'head?') {
        // Read the head now: if the node has got there, its answer may still be from before, so it
        // is asked again at once (and then judged by this head); if not, it is behind.
        const now = await this.#headOf(node, signal).catch(() => undefined);
        if (now !== undefined) this.#heads.set(node, Math.max(now, this.#heads.get(node) ?? -1));
        askAgain ||= now !== undefined && now >= demand.need;
        verdict = 'behind';
      }
      if (verdict !== 'ok') behind.push(i);
    }
    if (behind.length > 0 && !askAgain) tried.add(node);
    return behind;
  }

  /**
   * The node's head now, asked over HTTP (for an answer that is only right if the node has got far
   * enough): an attempt like any other, so not while the node cools down after a rate limit or its
   * circuit is open, and its outcome counts for or against the node.
   */
  async #headOf(node: string, signal: AbortSignal | undefined): Promise<number> {
    if (!this.#passive.admit(node)) throw new SteadyRpcError('ERR_UPSTREAM_UNAVAILABLE', `Node "${node}": ${this.#passive.why(node)}`);
    const request: JsonRpcRequest = { jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] };
    const outcome = await this.#attempts.attempt(node, request, HEAD_REQUEST, signal);
    if (outcome.kind === 'failed') throw outcome.error;
    return parseQuantity((outcome.answer.response as { result?: unknown }).result, 'eth_blockNumber');
  }

  /**
   * The answer to return: what is still `behind` fails with `BEHIND`, and the view learns from the
   * rest. A batch answer keeps the node's order; what the node left out stays out (serveHttp answers it).
   */
  #finish(answered: { responses: (JsonRpcResponse | undefined)[]; sent: (Sent | undefined)[]; single: boolean }, behind: readonly number[]): JsonRpcResponse | JsonRpcResponse[] {
    const responses = answered.responses.map((r, i) =>
      behind.includes(i) ? errorResponse(r!.id, RpcErrorCode.BEHIND, `No node caught up with the blocks already served within ${this.#consistency.waitMs} ms`) : r!,
    );
    responses.forEach((r, i) => {
      const item = answered.sent[i];
      if (item && typeof r === 'object' && r !== null) this.view.observe(item.request.method, item.request.params, r);
    });
    return answered.single ? responses[0]! : responses;
  }

  /** Waits `ms` before asking again; ends early, rejecting, when the caller aborts or the pool closes. */
  #sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    const pool = this.#pool;
    if (pool.closed) return Promise.reject(closedError());
    return new Promise((resolve, reject) => {
      const { clock } = pool;
      const end = (error: unknown) => {
        clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        pool.off('closed', onClose);
        reject(error);
      };
      const onAbort = () => end(signal!.reason);
      const onClose = () => end(closedError());
      const timer = clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        pool.off('closed', onClose);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
      pool.once('closed', onClose);
    });
  }

  /**
   * Sends to the best candidate not in `skip` that takes requests now (not cooling down after a
   * rate limit, circuit not open), failing over: on any failure, and on an answer made only of
   * errors that say "not this node", for a request safe to repeat; only on a failure that proves the
   * node never got it, for one that is not (`unrepeatable`: its first method not safe to repeat).
   */
  async #send(payload: JsonRpcRequest | JsonRpcRequest[], options: HttpRequestOptions, unrepeatable: string | undefined, skip?: ReadonlySet<string>): Promise<Answer> {
    const body = JSON.stringify(payload);
    const { avoid } = options;
    const nodes = this.#pool.candidates().filter((name) => this.#pool.node(name).http !== undefined && !skip?.has(name) && !avoid?.includes(name));
    const unavailable = (attempts: number, held: readonly string[], failures: readonly string[], lastError: unknown): never => {
      throw new SteadyRpcError('ERR_UPSTREAM_UNAVAILABLE', this.#unavailable(nodes.length, attempts, held), {
        cause: lastError,
        details: [...failures, ...held.map((name) => `${name}: ${this.#passive.why(name)}`)].join('; ') || undefined,
      });
    };
    // Plain reads may go to a second node while the first is slow; nothing else ever.
    if (this.#hedged && unrepeatable === undefined && isHedgeable(payload, this.#hedgeMethods)) {
      return this.#hedged.send(payload, body, nodes, options.signal, unavailable);
    }
    const failures: string[] = [];
    const held: string[] = [];
    let lastError: unknown;
    /** The last node's own answer that another node may better: its error with a non-2xx status, or "not this node". */
    let fallback: Answer | undefined;
    let attempts = 0;
    const queue = [...nodes];
    while (attempts < this.#maxAttempts) {
      options.signal?.throwIfAborted();
      let name = queue.shift();
      if (name === undefined) {
        // A breaker moves traffic; it does not turn it away: when every node is held back, the
        // first held only by its open circuit is tried all the same. (Rate limits are kept.)
        name = attempts === 0 ? held.find((n) => this.#passive.heldByCircuitOnly(n)) : undefined;
        if (name === undefined) break;
        held.splice(held.indexOf(name), 1);
      } else if (!this.#passive.admit(name)) {
        held.push(name);
        continue;
      }
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
    }
    if (fallback) return fallback;
    return unavailable(attempts, held, failures, lastError);
  }

  #unavailable(candidates: number, attempts: number, held: readonly string[]): string {
    if (candidates === 0) return 'No node with an HTTP endpoint can take the request';
    if (attempts > 0) return `All ${attempts} attempts failed`;
    const back = Math.min(...held.map((name) => this.#passive.backAt(name) ?? Infinity)) - this.#pool.clock.now();
    const when = Number.isFinite(back) ? ` (the first is back in ${Math.max(0, Math.ceil(back))} ms)` : '';
    return `Every node that could take the request is cooling down after a rate limit${when}`;
  }
}

const closedError = () => new SteadyRpcError('ERR_CLOSED', 'NodePool is closed');
