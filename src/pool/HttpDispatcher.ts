import { SteadyRpcError, describeError } from '../errors.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../jsonrpc.js';
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

/**
 * Carries out `NodePool.request()`: POSTs to the best node and, on a transport failure, a bad
 * status or a timeout, tries the next candidate. A JSON-RPC error from a node is an answer, not a
 * failure: it is returned as is.
 */
export class HttpDispatcher {
  readonly #pool: NodePool;
  readonly #attemptTimeoutMs: number;
  readonly #maxAttempts: number;

  constructor(pool: NodePool, options: HttpDispatcherOptions = {}) {
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
  }

  async request(
    payload: JsonRpcRequest | JsonRpcRequest[],
    options: HttpRequestOptions = {},
  ): Promise<JsonRpcResponse | JsonRpcResponse[]> {
    const body = JSON.stringify(payload);
    const nodes = this.#pool.candidates().filter((name) => this.#pool.node(name).http !== undefined);
    const failures: string[] = [];
    let lastError: unknown;
    for (const name of nodes.slice(0, this.#maxAttempts)) {
      options.signal?.throwIfAborted();
      try {
        const answer = await this.#attempt(name, body, options.signal);
        if (Array.isArray(payload) !== Array.isArray(answer)) {
          throw new SteadyRpcError('ERR_BAD_RESPONSE', `Node "${name}" answered a ${Array.isArray(payload) ? 'batch' : 'request'} with the wrong shape`);
        }
        return answer;
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
