import { ChainView } from '../consistency/ChainView.js';
import type { ConsistencySettings } from '../consistency/settings.js';
import { CONSISTENCY_DEFAULTS } from '../consistency/settings.js';
import { SteadyRpcError, describeError } from '../errors.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../jsonrpc.js';
import { RpcErrorCode, errorResponse } from '../jsonrpc.js';
import { parseQuantity } from '../health/probes.js';
import { isRepeatable } from '../session/repeatable.js';
import { resolveEndpoint } from '../transport/endpoint.js';
import type { NodePool } from './NodePool.js';

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
}

const DEFAULTS = Object.freeze({ attemptTimeoutMs: 10_000, maxAttempts: 3 });

/** For a batch answer, the requests by id (answers may come in any order); `undefined` for a single one. */
function sentById(items: readonly Sent[], response: JsonRpcResponse | JsonRpcResponse[]): Map<unknown, Sent> | undefined {
  if (!Array.isArray(response)) return undefined;
  const byId = new Map<unknown, Sent>();
  for (const item of items) if (item.request.id !== undefined && !byId.has(item.request.id)) byId.set(item.request.id, item);
  return byId;
}

/** One request (or batch item) as sent, with the pool's view of the chain when it came in. */
interface Sent {
  readonly request: JsonRpcRequest;
  readonly viewAt: number | undefined;
}

/**
 * Carries out `NodePool.request()`: POSTs to the best node and, on a transport failure, a bad
 * status or a timeout, tries the next candidate. A JSON-RPC error from a node is an answer, not a
 * failure: it is returned as is.
 *
 * Answers are held to the chain the pool has served ({@link ChainView}): a read answered by a node
 * behind it (a lower block number, `null` for a block already served, state or logs short of it)
 * is asked of the next node, and when none has caught up, again every `pollMs` until `waitMs`;
 * then it is answered with `BEHIND` (-32055).
 */
export class HttpDispatcher {
  readonly #pool: NodePool;
  readonly #attemptTimeoutMs: number;
  readonly #maxAttempts: number;
  readonly #consistency: ConsistencySettings;
  readonly view = new ChainView();
  /** The highest head each node answered `eth_blockNumber` with, when the dispatcher had to ask. */
  readonly #heads = new Map<string, number>();

  constructor(pool: NodePool, options: HttpDispatcherOptions = {}, consistency: ConsistencySettings = CONSISTENCY_DEFAULTS) {
    const { attemptTimeoutMs, maxAttempts } = { ...DEFAULTS, ...options };
    if (!Number.isFinite(attemptTimeoutMs) || attemptTimeoutMs <= 0) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected http.attemptTimeoutMs to be a finite number > 0, got ${attemptTimeoutMs}`);
    }
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new SteadyRpcError('ERR_CONFIG', `Expected http.maxAttempts to be an integer >= 1, got ${maxAttempts}`);
    }
    this.#pool = pool;
    this.#attemptTimeoutMs = attemptTimeoutMs;
    this.#maxAttempts = maxAttempts;
    this.#consistency = consistency;
  }

  async request(
    payload: JsonRpcRequest | JsonRpcRequest[],
    options: HttpRequestOptions = {},
  ): Promise<JsonRpcResponse | JsonRpcResponse[]> {
    if (!this.#consistency.monotonic) return (await this.#send(payload, options)).response;
    const items = (Array.isArray(payload) ? payload : [payload]).map((request): Sent => ({ request, viewAt: this.view.highest }));
    const { clock } = this.#pool;
    const deadline = clock.now() + this.#consistency.waitMs;
    // Writes are never sent twice: a batch holding one is judged once, and what is behind in it fails.
    const repeatable = items.every(({ request }) => typeof request.method === 'string' && isRepeatable(request.method));
    const tried = new Set<string>();
    /** The last answer that was behind, and which of its items were. */
    let last: { answer: { node: string; response: JsonRpcResponse | JsonRpcResponse[] }; behind: number[] } | undefined;
    for (;;) {
      let answer;
      try {
        answer = await this.#send(payload, options, tried);
      } catch (error) {
        // No node answered this pass. Before any answer that is a failure; after one from a node
        // behind, the others may just be down: wait for that one to catch up.
        if (last === undefined || options.signal?.aborted) throw error;
        if (clock.now() >= deadline) return this.#observe(items, this.#failBehind(last.answer, last.behind));
        tried.clear();
        await this.#sleep(Math.min(this.#consistency.pollMs, deadline - clock.now()), options.signal);
        continue;
      }
      const behind = await this.#behind(items, answer, tried, options.signal);
      if (behind.length === 0) return this.#observe(items, answer);
      last = { answer, behind };
      const waited = clock.now() >= deadline || !repeatable;
      if (waited) return this.#observe(items, this.#failBehind(answer, behind));
      // Another node may have it now; once every node was asked, wait for one to catch up.
      if (this.#pool.candidates().every((name) => tried.has(name) || this.#pool.node(name).http === undefined)) {
        tried.clear();
        await this.#sleep(Math.min(this.#consistency.pollMs, deadline - clock.now()), options.signal);
      }
    }
  }

  /** Indexes of the answers (in `answer`'s order) that come from a node behind the view. */
  async #behind(items: readonly Sent[], answer: { node: string; response: JsonRpcResponse | JsonRpcResponse[] }, tried: Set<string>, signal: AbortSignal | undefined): Promise<number[]> {
    const { node, response } = answer;
    const responses = Array.isArray(response) ? response : [response];
    // What was known of the node's head before this answer came (a head read after it cannot vouch for it).
    let head: number | undefined = Math.max(this.#pool.health(node).head ?? -1, this.#heads.get(node) ?? -1);
    if (head < 0) head = undefined;
    let askAgain = false;
    const behind: number[] = [];
    const byId = sentById(items, response);
    for (let i = 0; i < responses.length; i++) {
      const r = responses[i]!;
      const sent = byId ? byId.get(r?.id) : items[0];
      if (!sent || typeof r !== 'object' || r === null) continue;
      const demand = this.view.demand(sent.request.method, sent.request.params, sent.viewAt);
      if (!demand) continue;
      let verdict = this.view.judge(sent.request.method, demand, r, demand.kind === 'head' && (head ?? -1) < demand.need ? undefined : head);
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

  /** The node's head now, asked over HTTP (for an answer that is only right if the node has got far enough). */
  async #headOf(node: string, signal: AbortSignal | undefined): Promise<number> {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] });
    const answer = (await this.#attempt(node, body, signal)) as JsonRpcResponse;
    return parseQuantity((answer as { result?: unknown }).result, 'eth_blockNumber');
  }

  #failBehind(answer: { response: JsonRpcResponse | JsonRpcResponse[] }, behind: readonly number[]): { response: JsonRpcResponse | JsonRpcResponse[] } {
    const fail = (r: JsonRpcResponse) =>
      errorResponse(r.id, RpcErrorCode.BEHIND, `No node caught up with the blocks already served within ${this.#consistency.waitMs} ms`);
    const { response } = answer;
    if (!Array.isArray(response)) return { response: fail(response) };
    return { response: response.map((r, i) => (behind.includes(i) ? fail(r) : r)) };
  }

  #observe(items: readonly Sent[], answer: { response: JsonRpcResponse | JsonRpcResponse[] }): JsonRpcResponse | JsonRpcResponse[] {
    const { response } = answer;
    const byId = sentById(items, response);
    for (const r of Array.isArray(response) ? response : [response]) {
      const sent = byId ? byId.get(r?.id) : items[0];
      if (sent && typeof r === 'object' && r !== null) this.view.observe(sent.request.method, sent.request.params, r);
    }
    return response;
  }

  #sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const { clock } = this.#pool;
      const onAbort = () => {
        clock.clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Sends to the best candidate not in `skip`, failing over on transport errors. */
  async #send(payload: JsonRpcRequest | JsonRpcRequest[], options: HttpRequestOptions, skip?: ReadonlySet<string>): Promise<{ node: string; response: JsonRpcResponse | JsonRpcResponse[] }> {
    const body = JSON.stringify(payload);
    const nodes = this.#pool.candidates().filter((name) => this.#pool.node(name).http !== undefined && !skip?.has(name));
    const failures: string[] = [];
    let lastError: unknown;
    for (const name of nodes.slice(0, this.#maxAttempts)) {
      options.signal?.throwIfAborted();
      try {
        const answer = await this.#attempt(name, body, options.signal);
        if (Array.isArray(payload) !== Array.isArray(answer)) {
          throw new SteadyRpcError('ERR_BAD_RESPONSE', `Node "${name}" answered a ${Array.isArray(payload) ? 'batch' : 'request'} with the wrong shape`);
        }
        return { node: name, response: answer };
      } catch (error) {
        if (options.signal?.aborted) throw error;
        lastError = error;
        failures.push(`${name}: ${describeError(error)}`);
      }
    }
    throw new SteadyRpcError(
      'ERR_UPSTREAM_UNAVAILABLE',
      nodes.length === 0 ? 'No node with an HTTP endpoint can take the request' : `All ${failures.length} attempts failed`,
      { cause: lastError, details: failures.join('; ') || undefined },
    );
  }

  /** One POST to one node, bounded by the attempt timeout and the caller's signal. */
  async #attempt(name: string, body: string, outer: AbortSignal | undefined): Promise<JsonRpcResponse | JsonRpcResponse[]> {
    const { clock, httpTransport } = this.#pool;
    const node = this.#pool.node(name);
    const controller = new AbortController();
    const onOuterAbort = () => controller.abort(outer?.reason);
    outer?.addEventListener('abort', onOuterAbort, { once: true });
    const timer = clock.setTimeout(
      () => controller.abort(new SteadyRpcError('ERR_TIMEOUT', `Node "${name}" did not answer within ${this.#attemptTimeoutMs} ms`)),
      this.#attemptTimeoutMs,
    );
    try {
      const aborted = new Promise<never>((_, reject) => {
        controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
      });
      // A transport that ignores the signal must still not hold the request past its deadline.
      const response = await Promise.race([
        resolveEndpoint(node.http!).then((endpoint) => httpTransport.post(endpoint, body, controller.signal)),
        aborted,
      ]);
      if (response.status < 200 || response.status >= 300) {
        throw new SteadyRpcError('ERR_TRANSPORT', `Node "${name}" answered HTTP ${response.status}`);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(response.body);
      } catch (error) {
        throw new SteadyRpcError('ERR_BAD_RESPONSE', `Node "${name}" answered with invalid JSON`, { cause: error });
      }
      if (typeof parsed !== 'object' || parsed === null) {
        throw new SteadyRpcError('ERR_BAD_RESPONSE', `Node "${name}" answered with a non-object`);
      }
      return parsed as JsonRpcResponse | JsonRpcResponse[];
    } finally {
      clock.clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
    }
  }
}
