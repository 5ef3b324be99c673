import { makeError, SocketProvider } from 'ethers';
import type { JsonRpcApiProviderOptions, JsonRpcError, JsonRpcPayload, JsonRpcResult, Networkish } from 'ethers';
import type { NodePool } from '../pool/NodePool.js';
import type { UpstreamSession } from '../session/UpstreamSession.js';
import type { ResilientOptions, Upstream } from './options.js';
import { openUpstream } from './options.js';

/**
 * An ethers v6 provider over one resilient session. It is a `SocketProvider`: `on('block')`,
 * `on('pending')` and event filters use `eth_subscribe`, whose ids the session keeps stable across
 * failover and failback, so ethers' routing of notifications by id keeps working.
 *
 * The session is the connection, so the provider is started at once: calls made while no node is
 * reachable wait in the session's bounded queue and are answered (with an error past
 * `session.queue.maxWaitMs`) — none hangs. `destroy()` rejects every call still pending.
 *
 * `network` is static when given; otherwise it is read once with `eth_chainId`.
 */
export class ResilientProvider extends SocketProvider {
  readonly #upstream: Upstream;
  #nextId = 1;

  constructor(options: ResilientOptions, network?: Networkish, providerOptions?: JsonRpcApiProviderOptions) {
    super(network, providerOptions);
    this.#upstream = openUpstream(options);
    this.#upstream.session.on('message', (text) => {
      this._processMessage(text).catch((error: unknown) => void this.emit('error', error));
    });
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
   */
  override send(method: string, params: unknown[] | Record<string, unknown>): Promise<any> {
    if (this.destroyed) return Promise.reject(destroyedError(method));
    const payload: JsonRpcPayload = { method, params, id: this.#nextId++, jsonrpc: '2.0' };
    return this.#call(payload);
  }

  async #call(payload: JsonRpcPayload): Promise<unknown> {
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
    if ('error' in response) throw this.getRpcError(payload, response);
    return response.result;
  }

  /** Hands a frame to the session; throws once it is closed (ethers then rejects the call). */
  override async _write(message: string): Promise<void> {
    this.#upstream.session.send(message);
  }

  /**
   * Stops ethers (queued calls are rejected), then closes the session, whose answers to the calls
   * still in flight make ethers reject those too; then the checker and pool if they were created
   * here. Idempotent.
   */
  override destroy(): void {
    if (this.destroyed) return;
    super.destroy();
    this.#upstream.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.destroy();
  }
}

function destroyedError(method: string): Error {
  return makeError('provider destroyed; cancelled request', 'UNSUPPORTED_OPERATION', { operation: method });
}
