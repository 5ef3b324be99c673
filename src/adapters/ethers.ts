import { SocketProvider } from 'ethers';
import type { JsonRpcApiProviderOptions, Networkish } from 'ethers';
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
