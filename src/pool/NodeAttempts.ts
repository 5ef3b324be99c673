import { SteadyRpcError, isSteadyRpcError } from '../errors.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../jsonrpc.js';
import { resolveEndpoint } from '../transport/endpoint.js';
import type { HttpEndpoint, HttpResponse } from '../transport/HttpTransport.js';
import { isNotDelivered, markNotDelivered } from '../transport/HttpTransport.js';
import { judgeReply } from './httpAnswers.js';
import type { NodeErrorClassifier } from './nodeErrors.js';
import type { NodePool } from './NodePool.js';
import type { PassiveHealth } from './PassiveHealth.js';

/** What a request still owed gets when the pool closes (and what `request()` gets after). */
export const poolClosedError = () => new SteadyRpcError('ERR_CLOSED', 'NodePool is closed');

/**
 * Whether a failed attempt's connection broke after the request went out, with no answer and
 * nothing else known (not a timeout, an HTTP status, a bad answer, a refusal or the pool closing):
 * a reused keep-alive socket the node had closed, a proxy in front of it restarting. The node
 * itself may be fine: a read is worth asking it once more, on a new connection, when no other node
 * is left to ask.
 */
export function brokeMidway(attempt: Attempt): boolean {
  if (attempt.kind !== 'failed' || attempt.status !== undefined) return false;
  const { error } = attempt;
  return !isNotDelivered(error) && !isSteadyRpcError(error, 'ERR_TIMEOUT') && !isSteadyRpcError(error, 'ERR_CLOSED') && !isSteadyRpcError(error, 'ERR_BAD_RESPONSE');
}

/**
 * An answer from one node. `final`: one no other node can improve on (a `NOT_RESENT`, or a node's
 * own errors sent with a non-2xx status after every try), which is not held to the chain view.
 */
export interface Answer {
  readonly node: string;
  readonly response: JsonRpcResponse | JsonRpcResponse[];
  readonly final?: boolean;
}

/**
 * How one attempt went: an `answer` to return; `not-here`, an answer made of "not this node" (or
 * rate-limit) errors that another node may better; `failed`, with the node's `own` JSON-RPC error
 * when the body of its error status held one.
 */
export type Attempt =
  | { readonly kind: 'answer'; readonly answer: Answer }
  | { readonly kind: 'not-here'; readonly answer: Answer }
  | { readonly kind: 'failed'; readonly error: unknown; readonly status: number | undefined; readonly own?: Answer };

/**
 * Single attempts on single nodes for the {@link HttpDispatcher}: one POST bounded by the attempt
 * timeout and the caller's signal, its reply judged, and what it tells of the node reported to the
 * {@link PassiveHealth}: an answer (or a JSON-RPC error with a 4xx status) shows the node alive; no
 * answer, a 5xx or garbage counts against it; a rate limit cools it down.
 */
export class NodeAttempts {
  readonly #pool: NodePool;
  readonly #passive: PassiveHealth;
  readonly #classify: NodeErrorClassifier;
  readonly timeoutMs: number;
  /** How to end each POST in flight (and each {@link pause}): close() ends them all. */
  readonly #inFlight = new Set<(reason: unknown) => void>();
  #closed = false;

  constructor(pool: NodePool, passive: PassiveHealth, classify: NodeErrorClassifier, timeoutMs: number) {
    this.#pool = pool;
    this.#passive = passive;
    this.#classify = classify;
    this.timeoutMs = timeoutMs;
  }

  /**
   * Ends every POST in flight with {@link poolClosedError} (an attempt then fails with it: see
   * {@link attempt}), and every later one at once, before anything is sent.
   */
  close(): void {
    this.#closed = true;
    for (const abort of [...this.#inFlight]) abort(poolClosedError());
  }

  /**
   * Waits `ms` on the pool's clock before a request asks the nodes again. Rejects when `signal`
   * aborts (with its reason) and when the pool closes (with {@link poolClosedError}): close()
   * leaves no pause behind.
   */
  pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#closed) return Promise.reject(poolClosedError());
    const { clock } = this.#pool;
    const inFlight = this.#inFlight;
    return new Promise<void>((resolve, reject) => {
      const end = () => {
        clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        inFlight.delete(stop);
      };
      const stop = (reason: unknown) => {
        end();
        reject(reason);
      };
      const onAbort = () => stop(signal!.reason);
      const timer = clock.setTimeout(() => {
        end();
        resolve();
      }, ms);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      inFlight.add(stop);
    });
  }

  /**
   * One attempt of `payload` (serialised as `body`) on `name`, which the passive health admitted.
   * Throws only when `signal` aborts (the caller gave up); ended by close(), it fails with
   * `ERR_CLOSED` (which, if the POST had gone out, does not prove the node never got it).
   */
  async attempt(name: string, payload: JsonRpcRequest | JsonRpcRequest[], body: string, signal: AbortSignal | undefined): Promise<Attempt> {
    const passive = this.#passive;
    const sentAt = this.#pool.clock.now();
    let reply: HttpResponse;
    try {
      reply = await this.post(name, body, signal);
    } catch (error) {
      if (signal?.aborted) {
        passive.abandoned(name, sentAt);
        throw error;
      }
      // Ended by close(): says nothing of the node.
      if (this.#closed) passive.abandoned(name, sentAt);
      else passive.failed(name, sentAt);
      return { kind: 'failed', error, status: undefined };
    }
    let verdict;
    try {
      verdict = judgeReply(name, payload, reply, this.#classify, this.#pool.clock.now());
    } catch (error) {
      passive.failed(name, sentAt);
      return { kind: 'failed', error, status: reply.status };
    }
    const { rateLimited } = verdict;
    if (rateLimited) passive.rateLimited(name, rateLimited.ms, verdict.kind === 'failed' ? 'http-status' : 'rpc-error', sentAt);
    else if (verdict.kind !== 'failed' || (reply.status < 500 && verdict.own)) passive.answered(name, sentAt);
    else passive.failed(name, sentAt);
    if (verdict.kind === 'answer') return { kind: 'answer', answer: { node: name, response: verdict.response } };
    if (verdict.kind === 'not-here') return { kind: 'not-here', answer: { node: name, response: verdict.response } };
    // Only errors are final: results in a batch answered with an error status are held to the view.
    const own: Answer | undefined = verdict.own ? { node: name, response: verdict.own, ...(onlyErrors(verdict.own) ? { final: true } : {}) } : undefined;
    return { kind: 'failed', error: verdict.error, status: reply.status, ...(own ? { own } : {}) };
  }

  /**
   * One POST to one node, bounded by the attempt timeout and the caller's signal. An endpoint
   * function that fails, or is still running at the deadline, is marked not delivered: nothing was
   * handed to the transport. A transport that ignores the signal must still not hold the request
   * past its deadline: the deadline rejects it all the same.
   */
  post(name: string, body: string, outer: AbortSignal | undefined): Promise<HttpResponse> {
    const { clock, httpTransport } = this.#pool;
    const source = this.#pool.node(name).http!;
    const timeoutMs = this.timeoutMs;
    if (this.#closed) return Promise.reject(markNotDelivered(poolClosedError()));
    const inFlight = this.#inFlight;
    // One promise, one controller, one timer: this runs for every request (see bench/cases/http.ts).
    return new Promise<HttpResponse>((resolve, reject) => {
      const controller = new AbortController();
      let posted = false;
      let settled = false;
      const finish = () => {
        settled = true;
        clock.clearTimeout(timer);
        outer?.removeEventListener('abort', onOuterAbort);
        inFlight.delete(abort);
      };
      const fail = (error: unknown) => {
        if (settled) return;
        finish();
        reject(error);
      };
      // The attempt ends with the abort itself (no listener on our own signal: one less per request).
      const abort = (reason: unknown) => {
        // The deadline passed, or the pool closed, while the endpoint function still ran: nothing went out.
        fail(!posted && (isSteadyRpcError(reason, 'ERR_TIMEOUT') || isSteadyRpcError(reason, 'ERR_CLOSED')) ? markNotDelivered(reason) : reason);
        controller.abort(reason);
      };
      const onOuterAbort = () => abort(outer!.reason);
      const timer = clock.setTimeout(() => abort(new SteadyRpcError('ERR_TIMEOUT', `Node "${name}" did not answer within ${timeoutMs} ms`)), timeoutMs);
      if (outer) {
        if (outer.aborted) return void abort(outer.reason);
        outer.addEventListener('abort', onOuterAbort, { once: true });
      }
      inFlight.add(abort);
      const { signal } = controller;
      const send = (endpoint: HttpEndpoint) => {
        // Too late: the attempt is over, and a request never handed over was never sent.
        if (settled) return;
        posted = true;
        let posting: Promise<HttpResponse>;
        try {
          posting = httpTransport.post(endpoint, body, signal);
        } catch (error) {
          return fail(error);
        }
        posting.then((reply) => {
          if (settled) return;
          finish();
          resolve(reply);
        }, fail);
      };
      // A URL or a fixed endpoint goes out at once; a function is called (and awaited) first.
      if (typeof source === 'string') send({ url: source });
      else if (typeof source !== 'function') send(source);
      else {
        resolveEndpoint(source).then(send, (error: unknown) =>
          fail(markNotDelivered(new SteadyRpcError('ERR_TRANSPORT', `Node "${name}": its endpoint function failed`, { cause: error }))),
        );
      }
    });
  }
}

function onlyErrors(response: JsonRpcResponse | JsonRpcResponse[]): boolean {
  return Array.isArray(response) ? response.every((item) => 'error' in item) : 'error' in response;
}
