import { SharedReads } from '../SharedReads.js';
import { ChainView } from '../consistency/ChainView.js';
import type { KnownBlock } from '../consistency/KnownHashes.js';
import type { ConsistencySettings } from '../consistency/settings.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../jsonrpc.js';
import { RpcErrorCode, errorResponse } from '../jsonrpc.js';
import type { RepeatablePredicate } from '../session/repeatable.js';
import type { HttpRequestOptions } from './HttpDispatcher.js';
import { firstUnrepeatable } from './httpAnswers.js';
import type { Answer, NodeAttempts } from './NodeAttempts.js';
import { poolClosedError } from './NodeAttempts.js';
import { NodeHeadWords } from './NodeHeadWords.js';
import { readBlockAt, readHead } from './nodeReads.js';
import type { NodePool } from './NodePool.js';
import type { PassiveHealth } from './PassiveHealth.js';

/**
 * How the dispatcher sends one pass: to the best candidate not in `skip`, failing over as its rules
 * allow (`unrepeatable`: the first method not safe to repeat). `again`: a pass asking again what a
 * node behind the view answered, which the gate's own polling paces (no pause before asking the
 * nodes once more: see `http.retryDelayMs`).
 */
export type FailoverSend = (
  payload: JsonRpcRequest | JsonRpcRequest[],
  options: HttpRequestOptions,
  unrepeatable: string | undefined,
  skip?: ReadonlySet<string>,
  again?: boolean,
) => Promise<Answer>;

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
  /** A read by hash of something already served: where it is (see ChainView.given). */
  readonly given: KnownBlock | undefined;
}

/**
 * The answer so far: the first a node gave, each answer in it with the request it answers. What
 * was behind in it is asked again, alone: the rest (a write above all) is never sent twice.
 */
interface Answered {
  responses: (JsonRpcResponse | undefined)[];
  sent: (Sent | undefined)[];
  single: boolean;
}


/**
 * Holds `pool.request()`'s answers to the chain the pool has served ({@link ChainView}): a read
 * answered by a node behind it (a lower block number, `null` for a block already served, state or
 * logs short of it) is asked of the next node, and when none has caught up, again every `pollMs`
 * until `waitMs`; then it is answered with `BEHIND` (-32055). Each pass goes through the
 * dispatcher's {@link FailoverSend}; only what was behind is asked again, and only if it is safe
 * to send twice.
 */
export class PoolViewGate {
  readonly view = new ChainView();
  readonly #pool: NodePool;
  readonly #passive: PassiveHealth;
  readonly #attempts: NodeAttempts;
  readonly #consistency: ConsistencySettings;
  readonly #isRepeatable: RepeatablePredicate;
  readonly #send: FailoverSend;
  /** What the gate knows of each node's head: see {@link NodeHeadWords}. */
  readonly #heads: NodeHeadWords;
  /**
   * The block reads under way (see {@link readBlockAt}), by node and height, and their answers for
   * half a poll: the requests held on one block, each with its own poll, ask about the same time.
   */
  readonly #blockReads: SharedReads<number | null>;

  constructor(
    pool: NodePool,
    passive: PassiveHealth,
    attempts: NodeAttempts,
    consistency: ConsistencySettings,
    isRepeatable: RepeatablePredicate,
    send: FailoverSend,
  ) {
    this.#pool = pool;
    this.#heads = new NodeHeadWords(pool);
    this.#passive = passive;
    this.#attempts = attempts;
    this.#consistency = consistency;
    this.#isRepeatable = isRepeatable;
    this.#send = send;
    this.#blockReads = new SharedReads(() => pool.clock.now(), consistency.pollMs / 2);
  }

  /** `payload` answered and held to the view; `unrepeatable` as judged once for the whole request. */
  async request(
    payload: JsonRpcRequest | JsonRpcRequest[],
    options: HttpRequestOptions,
    unrepeatable: string | undefined,
  ): Promise<JsonRpcResponse | JsonRpcResponse[]> {
    const batch = Array.isArray(payload);
    const items = (batch ? payload : [payload]).map((request): Sent => ({ request, viewAt: this.view.highest, given: this.view.given(request.method, request.params) }));
    const { clock } = this.#pool;
    /**
     * When a read behind gives up (BEHIND): `waitMs` after the first answer came, not after the call
     * (reaching a node may itself take longer than `waitMs`: a node that never answers holds an
     * attempt for `http.attemptTimeoutMs`), so the nodes not asked yet still are.
     */
    let deadline = Infinity;
    const tried = new Set<string>();
    let answered: Answered | undefined;
    /** Where in `answered` the answers from a node behind the view are. */
    let behind: number[] = [];
    try {
      for (;;) {
        if (this.#pool.closed) throw poolClosedError();
        const asking = answered === undefined ? payload : batch ? behind.map((i) => answered!.sent[i]!.request) : payload;
        const askingItems = answered === undefined ? items : behind.map((i) => answered!.sent[i]!);
        const heads = this.#heads.known();
        let answer;
        try {
          answer = await this.#send(asking, options, answered === undefined ? unrepeatable : firstUnrepeatable(asking, this.#isRepeatable), tried, answered !== undefined);
        } catch (error) {
          // No node answered this pass. Before any answer that is a failure; after one from a node
          // behind, the others may just be down: wait for that one to catch up.
          if (answered === undefined || options.signal?.aborted) throw error;
          if (clock.now() >= deadline) return this.#finish(answered, behind);
          tried.clear();
          await this.#sleep(Math.min(this.#consistency.pollMs, deadline - clock.now()), options.signal);
          continue;
        }
        if (answered === undefined) deadline = clock.now() + this.#consistency.waitMs;
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
        // A final answer is the last word: what it left unanswered is still behind (BEHIND), never
        // answered by what the node behind the view said.
        if (behind.length === 0 || answer.final) return this.#finish(answered, behind);
        // What is behind is asked again only if it is safe to send twice (a read, as a rule).
        const repeatable = firstUnrepeatable(behind.map((i) => answered!.sent[i]!.request), this.#isRepeatable) === undefined;
        if (clock.now() >= deadline || !repeatable) return this.#finish(answered, behind);
        // Another node may have it now; once every node was asked, wait for one to catch up.
        if (this.#pool.candidates().every((name) => tried.has(name) || this.#pool.node(name).http === undefined)) {
          await this.#sleep(Math.min(this.#consistency.pollMs, deadline - clock.now()), options.signal);
          await this.#awaitCaughtUp(behind.map((i) => answered!.sent[i]!), tried, deadline, options.signal);
        }
      }
    } catch (error) {
      // The pool closed with part of a batch answered (a write's, say): the caller gets those
      // answers, and what was still behind is answered as unavailable.
      if (answered === undefined || !this.#pool.closed || options.signal?.aborted || behind.length === answered.responses.length) throw error;
      return this.#finish(answered, behind, true);
    }
  }


  /**
   * Waits, asking the candidates' heads every `pollMs` (cheap), until one has reached the block
   * `items` need, or the deadline: the read itself (an `eth_getLogs` over a wide range, say) then
   * goes again only to a node that has got there, as a session does. `tried` becomes the nodes that
   * have not (or whose head could not be read).
   */
  async #awaitCaughtUp(items: readonly Sent[], tried: Set<string>, deadline: number, signal: AbortSignal | undefined): Promise<void> {
    let need = -1;
    for (const { request, viewAt } of items) need = Math.max(need, this.view.demand(request.method, request.params, viewAt)?.need ?? -1);
    tried.clear();
    if (need < 0) return;
    const { clock } = this.#pool;
    for (;;) {
      const names = this.#pool.candidates().filter((name) => this.#pool.node(name).http !== undefined);
      // No candidate (every node held down by the probes): the read goes again as the dispatcher
      // sends it, beyond the candidates.
      if (names.length === 0) return;
      const heads = await Promise.all(names.map((name) => readHead(this.#passive, this.#attempts, name, signal).catch(() => undefined)));
      tried.clear();
      names.forEach((name, i) => {
        const head = heads[i];
        if (head !== undefined) this.#heads.asked(name, head);
        if (head === undefined || head < need) tried.add(name);
      });
      if (tried.size < names.length || clock.now() >= deadline) return;
      await this.#sleep(Math.min(this.#consistency.pollMs, deadline - clock.now()), signal);
    }
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
    /** When the answers being judged came (block reads from before cannot judge them). */
    const arrived = this.#pool.clock.now();
    let askAgain = false;
    /** The node's head read now, once for the whole answer (a batch's items would each ask it). */
    let headNow: Promise<number | undefined> | undefined;
    const behind: number[] = [];
    /** `null`s for what was already served, and where it is (see {@link readBlockAt}). */
    let lapses: Array<[index: number, known: KnownBlock]> | undefined;
    for (let i = 0; i < responses.length; i++) {
      const r = responses[i]!;
      const item = sent[i];
      if (!item || typeof r !== 'object' || r === null) continue;
      const demand = this.view.demand(item.request.method, item.request.params, item.viewAt);
      if (!demand) continue;
      let verdict = this.view.judge(item.request.method, demand, r, (demand.kind === 'head' || demand.pending) && (head ?? -1) < demand.need ? undefined : head);
      if (verdict === 'head?') {
        // Read the head now: if the node has got there, its answer may still be from before, so it
        // is asked again at once (and then judged by this head); if not, it is behind.
        const now = await (headNow ??= readHead(this.#passive, this.#attempts, node, signal).then(
          (n) => {
            this.#heads.asked(node, n);
            return n;
          },
          () => undefined,
        ));
        askAgain ||= now !== undefined && now >= demand.need;
        verdict = 'behind';
      }
      // `null` for a block or transaction already served, from a node past its block: behind if
      // the node still has that block (its read backend lags), the answer if a reorg took it.
      const lapsed = verdict === 'ok' ? this.view.lapsed(r, item.viewAt, item.given) : undefined;
      if (lapsed !== undefined) (lapses ??= []).push([i, lapsed]);
      else if (verdict !== 'ok') behind.push(i);
    }
    if (lapses !== undefined) {
      // The node's block at each height, read once a height and all at once. The same block, or
      // none, says its read backend lags; so does a read that fails (nothing known): behind.
      const heights = [...new Set(lapses.map(([, known]) => known.number))];
      // Shared with the other requests reading it meanwhile: not cut short by this one's signal,
      // but this one stops waiting on it when its signal aborts. Another block there lets the
      // `null` through (a reorg took the block): only on a read sent after the `null` came, as an
      // earlier one (kept, or under way) may predate the node's return to the caller's block. The
      // same block or none (it lags) holds it: any read will do for that.
      const blocks = await Promise.all(
        heights.map((n) => {
          const leftBy = (block: number | null) => typeof block === 'number' && lapses!.some(([, known]) => known.number === n && known.block !== block);
          return this.#blockReads.readSince(`${node}:${n}`, () => readBlockAt(this.#passive, this.#attempts, node, n, undefined), arrived, leftBy, signal).catch(() => undefined);
        }),
      );
      const blockAt = new Map(heights.map((n, k) => [n, blocks[k]]));
      for (const [i, known] of lapses) {
        const block = blockAt.get(known.number);
        if (block === undefined || block === null || block === known.block) behind.push(i);
      }
      behind.sort((x, y) => x - y);
    }
    if (behind.length > 0 && !askAgain) tried.add(node);
    return behind;
  }

  /**
   * The answer to return: what is still `behind` fails with `BEHIND`, and the view learns from the
   * rest. A batch answer keeps the node's order; what the node left out stays out (serveHttp answers
   * it), and so does an answer under an id that no request it still owed has (a second answer to
   * one request, or one to no request): the caller gets at most one answer per request. An answer
   * under `id: null` (a node's error for an item it could not read) is passed on.
   */
  #finish(answered: Answered, behind: readonly number[], closed = false): JsonRpcResponse | JsonRpcResponse[] {
    const owed = (id: JsonRpcResponse['id']) =>
      closed
        ? errorResponse(id, RpcErrorCode.UPSTREAM_UNAVAILABLE, 'NodePool closed before a node caught up with the blocks already served')
        : errorResponse(id, RpcErrorCode.BEHIND, `No node caught up with the blocks already served within ${this.#consistency.waitMs} ms`);
    const responses = answered.responses.map((r, i) => (behind.includes(i) ? owed(r!.id) : r!));
    responses.forEach((r, i) => {
      const item = answered.sent[i];
      if (item && typeof r === 'object' && r !== null) this.view.observe(item.request.method, item.request.params, r);
    });
    if (answered.single) return responses[0]!;
    return responses.filter((r, i) => answered.sent[i] !== undefined || typeof r !== 'object' || r === null || r.id === null);
  }

  /** Waits `ms` before asking again; ends early, rejecting, when the caller aborts or the pool closes. */
  #sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    const pool = this.#pool;
    if (pool.closed) return Promise.reject(poolClosedError());
    return new Promise((resolve, reject) => {
      const { clock } = pool;
      const end = (error: unknown) => {
        clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        pool.off('closed', onClose);
        reject(error);
      };
      const onAbort = () => end(signal!.reason);
      const onClose = () => end(poolClosedError());
      const timer = clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        pool.off('closed', onClose);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
      pool.once('closed', onClose);
    });
  }
}
