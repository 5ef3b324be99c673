import { makeError, SocketEventSubscriber, SocketProvider, SocketSubscriber } from 'ethers';
import type { JsonRpcApiProviderOptions, JsonRpcError, JsonRpcPayload, JsonRpcResult, LogParams, Network, Networkish, Subscriber, Subscription } from 'ethers';
import type { TimerHandle } from '../Clock.js';
import type { JsonRpcErrorObject } from '../jsonrpc.js';
import { RpcErrorCode } from '../jsonrpc.js';
import type { NodePool } from '../pool/NodePool.js';
import type { UpstreamSession } from '../session/UpstreamSession.js';
import { utf8ByteLength } from '../utf8Length.js';
import { frameTooLarge, isFrameRefusal } from './frameLimits.js';
import type { ResilientOptions, Upstream } from './options.js';
import { openUpstream } from './options.js';
import type { ExponentialBackoff } from '../backoff/ExponentialBackoff.js';
import { ADAPTER_RETRY, isRetryable, isSessionError, retryDelay } from './retryDelay.js';

/** A request ethers' own subscribers made (see {@link ResilientProvider.send}): asked until answered. */
interface Persistent {
  promise: Promise<unknown>;
  /** No further attempt; one in flight still resolves the promise if it succeeds. */
  cancel(): void;
}

/** An attempt of a {@link Persistent} request waiting for its delay or the next switch of upstream. */
interface Retry {
  timer: TimerHandle;
  run(): void;
}

/**
 * An ethers v6 provider over one resilient session. It is a `SocketProvider`: `on('block')`,
 * `on('pending')` and event filters use `eth_subscribe`, whose ids the session keeps stable across
 * failover and failback, so ethers' routing of notifications by id keeps working.
 *
 * The session is the connection, so the provider is started at once: calls made while no node is
 * reachable wait in the session's bounded queue and are answered (with an error past
 * `session.queue.maxWaitMs`) — none hangs. `destroy()` rejects every call still pending (but for
 * the subscription requests of ethers' own subscribers: see {@link send}). steadyrpc's own errors
 * are not mapped as a node's (see {@link getRpcError}).
 *
 * `network` is static when given; otherwise it is read once with `eth_chainId`.
 */
export class ResilientProvider extends SocketProvider {
  readonly #upstream: Upstream;
  #nextId = 1;
  /** Set while one of ethers' own subscribers starts: its `eth_subscribe` goes here. */
  #starting: { subscribe?: Persistent } | undefined;
  /** Subscription ids ethers' own subscribers hold: their `eth_unsubscribe` is persistent too. */
  readonly #owned = new Set<string>();
  readonly #retries = new Set<Retry>();
  /** Set while a frame is handed to the session: its answer if the session refuses it whole. */
  #writing: { refusal?: JsonRpcErrorObject } | undefined;

  constructor(options: ResilientOptions, network?: Networkish, providerOptions?: JsonRpcApiProviderOptions) {
    super(network, providerOptions);
    this.#upstream = openUpstream(options);
    this.#upstream.session.on('message', (text) => this.#receive(text));
    // A node is in use again: what waits to be asked again is asked now.
    this.#upstream.session.on('switch', () => this.#retryNow());
    this._start();
  }

  get pool(): NodePool {
    return this.#upstream.pool;
  }

  get session(): UpstreamSession {
    return this.#upstream.session;
  }

  /**
   * Sends the call at once. ethers' own `send()` queues every call and drains the queue on a
   * `setTimeout`, a timer turn per call that only matters for batching, which socket providers
   * never do (and the session has its own bounded queue). Callers see what they would from
   * ethers: the same payload and `debug` events, the node's error mapped by `getRpcError`, and
   * "provider destroyed; cancelled request" for a call made or still unanswered at `destroy()`.
   *
   * The `eth_subscribe` and `eth_unsubscribe` of ethers' own subscribers (`on('block')`,
   * `on('pending')`, event filters) are different: ethers never handles their rejection (an
   * unhandled rejection, and a listener that silently never hears anything) and never asks again.
   * So they are never rejected: one steadyrpc refuses or times out (every node down past
   * `queue.maxWaitMs`, queue full, a limit reached) is asked again, 500 ms doubling to 30 s later
   * on the session's clock, or at once when a node is in use again; one a node refuses is reported
   * as an `error` event; at `destroy()` they are left unanswered, as ethers' own socket provider
   * leaves a request it never got an answer to.
   */
  override send(method: string, params: unknown[] | Record<string, unknown>): Promise<any> {
    if (method === 'eth_subscribe' && this.#starting !== undefined) {
      const subscribe = this.#persist(method, params);
      this.#starting.subscribe = subscribe;
      return subscribe.promise;
    }
    if (method === 'eth_unsubscribe' && Array.isArray(params) && typeof params[0] === 'string' && this.#owned.delete(params[0])) {
      return this.#persist(method, params).promise;
    }
    if (this.destroyed) return Promise.reject(destroyedError(method));
    const payload: JsonRpcPayload = { method, params, id: this.#nextId++, jsonrpc: '2.0' };
    return this.#call(payload);
  }

  /**
   * ethers' subscribers for `block`, `pending` and event filters, whose `eth_subscribe` (sent while
   * `start()` runs) and `eth_unsubscribe` are persistent (see {@link send}); `stop()` ends the
   * attempts of a subscribe still unanswered.
   */
  override _getSubscriber(sub: Subscription): Subscriber {
    const subscriber = super._getSubscriber(sub);
    if (!(subscriber instanceof SocketSubscriber)) return subscriber;
    const start = subscriber.start.bind(subscriber);
    const stop = subscriber.stop.bind(subscriber);
    let subscribing: Persistent | undefined;
    subscriber.start = () => {
      const starting: { subscribe?: Persistent } = {};
      this.#starting = starting;
      try {
        start();
      } finally {
        this.#starting = undefined;
      }
      subscribing = starting.subscribe;
    };
    subscriber.stop = () => {
      subscribing?.cancel();
      subscribing = undefined;
      stop();
    };
    if (subscriber instanceof SocketEventSubscriber) subscriber._emit = (_, log) => this.#emitLog(subscriber, log);
    return subscriber;
  }

  /**
   * ethers' `SocketEventSubscriber._emit`, except when ethers does not know the network yet (none
   * given, and its first `eth_chainId` failed: it asks again 1 s later). Its `_emit` reads
   * `provider._network`, which throws until then: an unhandled rejection in the subscriber's emit
   * chain, which stays rejected, so the filter never emits again. A subscription asked again at once
   * when a node is back can get a log within that second: the network is read for it now (should
   * that fail too, the log is lost, and said so with an `error` event).
   */
  async #emitLog(subscriber: SocketEventSubscriber, log: LogParams): Promise<void> {
    let network: Network;
    try {
      network = this._network;
    } catch {
      try {
        network = await this._detectNetwork();
      } catch (error) {
        return void this.emit('error', error);
      }
    }
    void this.emit(subscriber.logFilter, this._wrapLog(log, network));
  }

  /**
   * ethers' mapping of a JSON-RPC error, except for steadyrpc's own errors (codes -32050 to
   * -32055, and -32005 with `data: { limit, max }`): an outage, a timeout or a limit is not what the
   * node said about the call (ethers would read any eth_call error as a revert, CALL_EXCEPTION).
   * REQUEST_TIMEOUT (-32052) rejects with `TIMEOUT` (as ethers' fetch timeout), the others with
   * `SERVER_ERROR` (as an HTTP failure under ethers' JsonRpcProvider); `info.error` holds
   * steadyrpc's `{ code, message, data }` and `info.payload` the request.
   */
  override getRpcError(payload: JsonRpcPayload, response: JsonRpcError): Error {
    const { error } = response;
    if (!isSessionError(error)) return super.getRpcError(payload, response);
    const info = { error, payload };
    const message = error.message ?? `steadyrpc error ${error.code}`;
    if (error.code === RpcErrorCode.REQUEST_TIMEOUT) {
      return makeError(message, 'TIMEOUT', { operation: payload.method, reason: 'timeout', info });
    }
    return makeError(message, 'SERVER_ERROR', { request: payload.method, info });
  }

  async #call(payload: JsonRpcPayload): Promise<unknown> {
    const response = await this.#exchange(payload);
    if ('error' in response) throw this.getRpcError(payload, response);
    return response.result;
  }

  /** Sends one payload; resolves with the response, or throws (destroyed, or the session refused the write). */
  async #exchange(payload: JsonRpcPayload): Promise<JsonRpcResult | JsonRpcError> {
    void this.emit('debug', { action: 'sendRpcPayload', payload });
    let response: JsonRpcResult | JsonRpcError;
    try {
      // ethers' SocketProvider registers the call under its id, writes it, and resolves with the
      // response `_processMessage` routes back to it.
      [response] = (await this._send(payload)) as [JsonRpcResult | JsonRpcError];
    } catch (error) {
      void this.emit('debug', { action: 'receiveRpcError', error });
      // Written after destroy() closed the session: ethers would have rejected it from its queue.
      throw this.destroyed ? destroyedError(payload.method) : error;
    }
    void this.emit('debug', { action: 'receiveRpcResult', result: [response] });
    if (this.destroyed) throw destroyedError(payload.method);
    return response;
  }

  /** A request of ethers' own subscribers: never rejected (see {@link send}). */
  #persist(method: string, params: unknown[] | Record<string, unknown>): Persistent {
    let cancelled = false;
    let waiting: Retry | undefined;
    const promise = new Promise<unknown>((resolve) => {
      const attempt = (backoff: ExponentialBackoff): void => {
        waiting = undefined;
        if (cancelled || this.destroyed) return;
        const payload: JsonRpcPayload = { method, params, id: this.#nextId++, jsonrpc: '2.0' };
        this.#exchange(payload).then(
          (response) => {
            if (!('error' in response)) {
              // Even when cancelled: ethers' stop() unsubscribes once this resolves.
              if (method === 'eth_subscribe' && typeof response.result === 'string') this.#owned.add(response.result);
              return resolve(response.result);
            }
            if (cancelled || this.destroyed) return;
            if (!isRetryable(response.error)) return void this.emit('error', this.getRpcError(payload, response));
            const retry: Retry = {
              timer: this.#upstream.clock.setTimeout(() => {
                this.#retries.delete(retry);
                attempt(backoff.next());
              }, retryDelay(backoff)),
              run: () => attempt(backoff.next()),
            };
            waiting = retry;
            this.#retries.add(retry);
          },
          (error: unknown) => {
            if (!cancelled && !this.destroyed) void this.emit('error', error);
          },
        );
      };
      attempt(ADAPTER_RETRY);
    });
    const cancel = () => {
      cancelled = true;
      if (waiting) this.#dropRetry(waiting);
    };
    return { promise, cancel };
  }

  #retryNow(): void {
    for (const retry of [...this.#retries]) {
      this.#dropRetry(retry);
      retry.run();
    }
  }

  #dropRetry(retry: Retry): void {
    this.#upstream.clock.clearTimeout(retry.timer);
    this.#retries.delete(retry);
  }

  #receive(text: string): void {
    const writing = this.#writing;
    if (writing !== undefined && writing.refusal === undefined) {
      // Answered while a frame is handed over: the session refusing it whole, with no id?
      let frame: unknown;
      try {
        frame = JSON.parse(text);
      } catch {
        frame = undefined;
      }
      if (isFrameRefusal(frame)) {
        writing.refusal = frame.error;
        return;
      }
    }
    this._processMessage(text).catch((error: unknown) => void this.emit('error', error));
  }

  /**
   * Hands a frame (one request: ethers never batches over a socket) to the session; throws once it
   * is closed (ethers then rejects the call). A request over the session's `maxFrameBytes` is not
   * sent: it is answered FRAME_TOO_LARGE (-32054) by its id, as is one the session refuses whole.
   */
  override async _write(message: string): Promise<void> {
    const { maxFrameBytes } = this.#upstream.limits;
    if (message.length * 3 > maxFrameBytes) {
      const bytes = utf8ByteLength(message);
      if (bytes > maxFrameBytes) {
        const { method } = JSON.parse(message) as { method: string };
        return this.#answer(message, frameTooLarge(method, bytes, maxFrameBytes));
      }
    }
    const outer = this.#writing;
    const writing: { refusal?: JsonRpcErrorObject } = {};
    this.#writing = writing;
    try {
      this.#upstream.session.send(message);
    } finally {
      this.#writing = outer;
    }
    if (writing.refusal !== undefined) this.#answer(message, writing.refusal);
  }

  /** Answers the request in `message` with `error`, as if the session had, under its id. */
  #answer(message: string, error: JsonRpcErrorObject): void {
    const { id } = JSON.parse(message) as { id: unknown };
    this.#receive(JSON.stringify({ jsonrpc: '2.0', id, error }));
  }

  /**
   * Stops ethers (queued calls are rejected), then closes the session, whose answers to the calls
   * still in flight make ethers reject those too; then the checker and pool if they were created
   * here. Idempotent.
   */
  override destroy(): void {
    if (this.destroyed) return;
    super.destroy();
    for (const retry of [...this.#retries]) this.#dropRetry(retry);
    this.#upstream.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.destroy();
  }
}

function destroyedError(method: string): Error {
  return makeError('provider destroyed; cancelled request', 'UNSUPPORTED_OPERATION', { operation: method });
}

/** An error object as ethers types it. */
type ErrorObject = JsonRpcError['error'];

