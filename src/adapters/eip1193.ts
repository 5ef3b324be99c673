import { EventEmitter } from 'eventemitter3';
import type { TimerHandle } from '../Clock.js';
import type { NodePool } from '../pool/NodePool.js';
import type { UpstreamSession } from '../session/UpstreamSession.js';
import { callListener } from './callListener.js';
import type { ResilientOptions, Upstream } from './options.js';
import { openUpstream } from './options.js';
import { ProviderErrorCode, ProviderRpcError } from './ProviderRpcError.js';
import { ADAPTER_RETRY, retryDelay } from './retryDelay.js';
import type { SubscriptionNotification } from './SessionClient.js';
import { SessionClient } from './SessionClient.js';

export interface Eip1193RequestArguments {
  readonly method: string;
  readonly params?: readonly unknown[] | object;
}

/** An EIP-758 subscription notification, as the `message` event carries it. */
export interface Eip1193SubscriptionMessage {
  type: 'eth_subscription';
  data: SubscriptionNotification;
}

export interface Eip1193Events {
  /**
   * The provider can serve requests: once the first upstream answered `eth_chainId` (asked again,
   * 500 ms doubling to 30 s, until one does), and again after a `disconnect`.
   */
  connect: [info: { chainId: string }];
  /**
   * Code 4900: every node failed in one reconnect round (the session keeps retrying and `connect`
   * follows when one is back), or the provider was closed. A failover or failback is no disconnect.
   */
  disconnect: [error: ProviderRpcError];
  /** The chain id read after a switch of upstream differs from the one before (hex). */
  chainChanged: [chainId: string];
  message: [message: Eip1193SubscriptionMessage];
}

export type Eip1193EventName = keyof Eip1193Events;
export type Eip1193Listener<E extends Eip1193EventName> = (...args: Eip1193Events[E]) => void;

/** An EIP-1193 provider over one resilient session; see {@link createEip1193Provider}. */
export interface Eip1193Provider {
  /** Resolves with the result; rejects with a {@link ProviderRpcError} carrying the JSON-RPC `code`. */
  request<T = unknown>(args: Eip1193RequestArguments): Promise<T>;
  on<E extends Eip1193EventName>(event: E, listener: Eip1193Listener<E>): this;
  once<E extends Eip1193EventName>(event: E, listener: Eip1193Listener<E>): this;
  removeListener<E extends Eip1193EventName>(event: E, listener: Eip1193Listener<E>): this;
  off<E extends Eip1193EventName>(event: E, listener: Eip1193Listener<E>): this;
  readonly pool: NodePool;
  readonly session: UpstreamSession;
  readonly closed: boolean;
  /** Rejects pending requests (4900), emits `disconnect` if connected, releases what it created. Idempotent. */
  close(): void;
  /** The same as {@link close}. */
  destroy(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

class ResilientEip1193Provider implements Eip1193Provider {
  readonly #upstream: Upstream;
  readonly #client: SessionClient;
  /** Typed by the public methods. */
  readonly #events = new EventEmitter();
  #connected = false;
  #chainId: string | undefined;
  /** Bumped per chain check, so a late answer to an older check is ignored. */
  #check = 0;
  /** The next attempt of a chain check that got no chain id. */
  #retry: TimerHandle | undefined;

  constructor(options: ResilientOptions) {
    this.#upstream = openUpstream(options);
    this.#client = new SessionClient(this.#upstream.session, {
      onNotification: (data) => this.#emit('message', { type: 'eth_subscription', data }),
      limits: this.#upstream.limits,
    });
    this.#upstream.session.on('switch', () => void this.#readChain());
    this.#upstream.session.on('reconnecting', () => this.#disconnected('No node is reachable'));
  }

  get pool(): NodePool {
    return this.#upstream.pool;
  }

  get session(): UpstreamSession {
    return this.#upstream.session;
  }

  get closed(): boolean {
    return this.#client.closed;
  }

  request<T = unknown>(args: Eip1193RequestArguments): Promise<T> {
    if (typeof args !== 'object' || args === null || typeof args.method !== 'string' || args.method === '') {
      return Promise.reject(new ProviderRpcError(-32600, 'Expected request arguments { method: string, params? }'));
    }
    return this.#client.request(args.method, args.params) as Promise<T>;
  }

  on<E extends Eip1193EventName>(event: E, listener: Eip1193Listener<E>): this {
    this.#events.on(event, listener);
    return this;
  }

  once<E extends Eip1193EventName>(event: E, listener: Eip1193Listener<E>): this {
    this.#events.once(event, listener);
    return this;
  }

  removeListener<E extends Eip1193EventName>(event: E, listener: Eip1193Listener<E>): this {
    this.#events.removeListener(event, listener);
    return this;
  }

  off<E extends Eip1193EventName>(event: E, listener: Eip1193Listener<E>): this {
    return this.removeListener(event, listener);
  }

  close(): void {
    if (this.#client.closed) return;
    this.#cancelRetry();
    this.#client.close();
    this.#upstream.close();
    this.#disconnected('Provider closed');
    this.#events.removeAllListeners();
  }

  destroy(): void {
    this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  /**
   * After every switch of upstream: `connect` if not connected, `chainChanged` if the chain moved.
   * A check that gets no chain id (an error, the session's timeout) is made again, 500 ms doubling
   * to 30 s later on the session's clock, until one comes or a newer check takes over.
   */
  async #readChain(backoff = ADAPTER_RETRY): Promise<void> {
    this.#cancelRetry();
    const check = ++this.#check;
    let chainId: unknown;
    try {
      chainId = await this.#client.request('eth_chainId');
    } catch {
      chainId = undefined;
    }
    if (check !== this.#check || this.#client.closed) return;
    if (typeof chainId !== 'string') {
      this.#retry = this.#upstream.clock.setTimeout(() => {
        this.#retry = undefined;
        void this.#readChain(backoff.next());
      }, retryDelay(backoff));
      return;
    }
    const previous = this.#chainId;
    this.#chainId = chainId;
    if (!this.#connected) {
      this.#connected = true;
      this.#emit('connect', { chainId });
    }
    if (previous !== undefined && previous !== chainId) this.#emit('chainChanged', chainId);
  }

  #cancelRetry(): void {
    if (this.#retry === undefined) return;
    this.#upstream.clock.clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  #disconnected(reason: string): void {
    if (!this.#connected) return;
    this.#connected = false;
    this.#check += 1;
    this.#emit('disconnect', new ProviderRpcError(ProviderErrorCode.DISCONNECTED, reason));
  }

  #emit<E extends Eip1193EventName>(event: E, ...args: Eip1193Events[E]): void {
    // As with any emitter, a throwing listener ends this emit; it must not unwind into the session.
    callListener(() => this.#events.emit(event, ...args));
  }
}

/**
 * An EIP-1193 provider (`request`, plus `connect`/`disconnect`/`chainChanged`/`message` events)
 * over one {@link UpstreamSession}: requests and subscriptions survive failover and failback, and
 * subscription ids never change. It owns the session and, when built from `nodes`, the pool and
 * its health checker; `close()` releases them.
 */
export function createEip1193Provider(options: ResilientOptions): Eip1193Provider {
  return new ResilientEip1193Provider(options);
}
